/**
 * Enough namespaces (24) that the netns collector shares the counter reads with its second
 * thread (netns-counter-worker.ts): every namespace's counters are still there, under its own
 * labels, equal to what its own /proc/<pid>/net/snmp and sockstat said around the scrape.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseExposition, type Sample } from '../../helpers/exposition.js';
import { describeWithNetns, exporterBin, repoRoot } from '../../helpers/netns.js';
import { endChild } from '../../helpers/end-child.js';
import { firstLine } from '../../owners/cgroup-fixture.js';

const run = promisify(execFile);
const NAMESPACES = 24;

function outSegs(pid: number): number {
  const lines = readFileSync(`/proc/${pid}/net/snmp`, 'latin1').split('\n').filter((line) => line.startsWith('Tcp:'));
  const names = lines[0]!.split(/\s+/);
  return Number(lines[1]!.split(/\s+/)[names.indexOf('OutSegs')]);
}

describeWithNetns('the netns collector with many namespaces (counter reads shared with a second thread)', () => {
  let farm: ChildProcess | undefined;
  let pids: number[] = [];

  beforeAll(async () => {
    // netns-farm.py: one child per namespace (unshare -n), a listener and 2 ESTABLISHED pairs each.
    farm = spawn('python3', [`${repoRoot}/bench/netns-farm.py`, String(NAMESPACES), '2'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const ready = await firstLine(farm, 60_000);
    expect(ready).toMatch(/^READY /);
    pids = JSON.parse(ready.slice('READY '.length)) as number[];
    expect(pids).toHaveLength(NAMESPACES);
  }, 90_000);

  afterAll(async () => {
    await endChild(farm);
  });

  it('reports every namespace, each with its own counters', { timeout: 60_000 }, async () => {
    const inodes = pids.map((pid) => /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/net`))![1]!);
    const before = pids.map(outSegs);
    const { stdout } = await run(process.execPath, [exporterBin, 'collect', '--collector.disable-defaults', '--collector.netns', '--collector.netns.tables=off', '--collector.netns.max-namespaces=100000'], { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 });
    const after = pids.map(outSegs);
    const samples: Sample[] = parseExposition(stdout);
    const value = (name: string, labels: Record<string, string>): number | undefined =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(value('tcpstate_netns_namespaces', { state: 'unreadable' })).toBe(0);
    expect(value('tcpstate_scrape_collector_success', { collector: 'netns' })).toBe(1);
    inodes.forEach((netns, i) => {
      const sent = value('tcpstate_segments_sent_total', { netns });
      expect(sent, `namespace ${netns}`).toBeGreaterThanOrEqual(before[i]!);
      expect(sent, `namespace ${netns}`).toBeLessThanOrEqual(after[i]!);
      // A listener and 2 pairs: 5 sockets in use, read from the namespace's own sockstat.
      expect(value('tcpstate_sockstat_inuse', { netns, family: 'ipv4' }), `namespace ${netns}`).toBe(5);
    });
  });
});
