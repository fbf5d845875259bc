/**
 * Enough namespaces (24) that the netns collector shares the counter reads with its second
 * thread (netns-counter-worker.ts). From the second scrape of a running exporter on, that thread
 * reads the namespaces of the scrape before through their kept files while the main thread finds
 * this scrape's; with tables, the tables are dumped meanwhile. Every namespace's counters are
 * still there, under its own labels, equal to what its own /proc/<pid>/net/snmp and sockstat said
 * around the scrape, and its table is the farm's.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseExposition, type Sample } from '../../helpers/exposition.js';
import { startExporter } from '../../helpers/exporter-process.js';
import { describeWithNetns, repoRoot } from '../../helpers/netns.js';
import { endChild } from '../../helpers/end-child.js';
import { firstLine } from '../../owners/cgroup-fixture.js';

const run = promisify(execFile);
const NAMESPACES = 24;
const SCRAPES = 3;
/** Connects N times to a closed loopback port, in whatever namespace it runs. */
const REFUSED_CONNECTIONS = `
import socket, sys
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    try:
        s.connect(('127.0.0.1', 1))
    except ConnectionRefusedError:
        pass
    s.close()
`;

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
    // Each namespace gets its own count of refused connections (a SYN and a RST each), so that
    // no two have the same counters and a namespace reported under another's labels shows.
    await Promise.all(pids.map((pid, i) => run('nsenter', [`--net=/proc/${pid}/ns/net`, 'python3', '-c', REFUSED_CONNECTIONS, String(i + 1)], { timeout: 30_000 })));
    const sent = pids.map(outSegs);
    expect(new Set(sent).size).toBe(NAMESPACES);
  }, 90_000);

  afterAll(async () => {
    await endChild(farm);
  });

  for (const tables of ['off', 'netlink']) {
    it(`reports every namespace with its own counters on every scrape (tables ${tables})`, { timeout: 60_000 }, async () => {
      const inodes = pids.map((pid) => /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/net`))![1]!);
      const exporter = await startExporter(['--collector.disable-defaults', '--collector.netns', `--collector.netns.tables=${tables}`, '--collector.netns.max-namespaces=100000', '--collector.netns.table-budget=30']);
      try {
        for (let scrape = 1; scrape <= SCRAPES; scrape++) {
          const before = pids.map(outSegs);
          const body = await fetch(`${exporter.url}/metrics`).then((response) => response.text());
          const after = pids.map(outSegs);
          const samples: Sample[] = parseExposition(body);
          const value = (name: string, labels: Record<string, string>): number | undefined =>
            samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
          expect(value('tcpstate_scrape_collector_success', { collector: 'netns' }), `scrape ${scrape}`).toBe(1);
          expect(value('tcpstate_netns_namespaces', { state: 'unreadable' }), `scrape ${scrape}`).toBe(0);
          expect(value('tcpstate_netns_namespaces', { state: 'reported' }), `scrape ${scrape}`).toBeGreaterThanOrEqual(NAMESPACES);
          inodes.forEach((netns, i) => {
            const sent = value('tcpstate_segments_sent_total', { netns });
            expect(sent, `scrape ${scrape}, namespace ${netns}`).toBeGreaterThanOrEqual(before[i]!);
            expect(sent, `scrape ${scrape}, namespace ${netns}`).toBeLessThanOrEqual(after[i]!);
            // A listener and 2 pairs: 5 sockets in use, read from the namespace's own sockstat.
            expect(value('tcpstate_sockstat_inuse', { netns, family: 'ipv4' }), `scrape ${scrape}, namespace ${netns}`).toBe(5);
            if (tables === 'netlink') {
              expect(value('tcpstate_netns_sockets', { netns, family: 'ipv4', state: 'listen' }), `scrape ${scrape}, namespace ${netns}`).toBe(1);
              expect(value('tcpstate_netns_sockets', { netns, family: 'ipv4', state: 'established' }), `scrape ${scrape}, namespace ${netns}`).toBe(4);
            }
          });
        }
      } finally {
        await exporter.stop();
      }
    });
  }
});
