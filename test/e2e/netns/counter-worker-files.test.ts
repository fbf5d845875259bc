/**
 * The counter worker's path against files under --path.procfs: 200 "processes", each in a
 * namespace of its own (an ns/net link) with the captured /proc/net counter files, each with its
 * own Tcp ActiveOpens. So many, because these files read in microseconds: with 20, the main
 * thread claimed them all before the worker woke, and a worker holding a stale job list went
 * unnoticed. The first scrape opens the files and starts the worker; once it has loaded,
 * it reads them through the kept descriptors before the discovery, sharing them with the main
 * thread (the third scrape caught results shifted by one namespace in the worker). A file that
 * turns malformed under a kept descriptor fails the collector with one line, /metrics is still
 * served, and the next good read brings every namespace back.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition, select, valueOf, type Sample } from '../../helpers/exposition.js';
import { fixtureProcfs, startExporter, type RunningExporter } from '../../helpers/exporter-process.js';

const NAMESPACES = 200;
const FIRST_PID = 1001;
const inodeOf = (i: number): string => String(4026532000 + i);
const scratch = mkdtempSync(join(tmpdir(), 'tcpstate-counter-worker-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Namespace i's Tcp ActiveOpens: each its own, so a namespace reported under another's labels shows. */
const activeOpensOf = (i: number): number => 7000 + i;

/** The captured snmp with Tcp ActiveOpens set to `value`. */
function snmpWithActiveOpens(value: number): string {
  const lines = readFileSync(join(fixtureProcfs, 'net', 'snmp'), 'latin1').split('\n');
  const header = lines.findIndex((line) => line.startsWith('Tcp:'));
  const values = lines[header + 1]!.split(' ');
  values[lines[header]!.split(' ').indexOf('ActiveOpens')] = String(value);
  lines[header + 1] = values.join(' ');
  return lines.join('\n');
}

describe('the netns counters read by the worker through kept descriptors', () => {
  const proc = join(scratch, 'proc');
  const netstatOf = (i: number): string => join(proc, String(FIRST_PID + i), 'net', 'netstat');
  let exporter: RunningExporter;
  /** A process in namespace i, with its own counters. */
  const makeNamespace = (i: number): void => {
    const dir = join(proc, String(FIRST_PID + i));
    mkdirSync(join(dir, 'ns'), { recursive: true });
    symlinkSync(`net:[${inodeOf(i)}]`, join(dir, 'ns', 'net'));
    mkdirSync(join(dir, 'net'));
    for (const file of ['sockstat', 'sockstat6', 'netstat']) cpSync(join(fixtureProcfs, 'net', file), join(dir, 'net', file));
    writeFileSync(join(dir, 'net', 'snmp'), snmpWithActiveOpens(activeOpensOf(i)));
  };
  beforeAll(async () => {
    for (let i = 0; i < NAMESPACES; i++) makeNamespace(i);
    exporter = await startExporter([`--path.procfs=${proc}`, '--collector.disable-defaults', '--collector.netns', '--collector.netns.tables=off', `--collector.netns.max-namespaces=${NAMESPACES + 1}`]);
  });
  afterAll(async () => {
    await exporter?.stop();
  });

  const scrape = async (): Promise<Sample[]> => parseExposition(await (await fetch(`${exporter.url}/metrics`)).text());
  const expectAllNamespaces = (samples: Sample[], label: string): void => {
    expect(valueOf(samples, 'tcpstate_scrape_collector_success', { collector: 'netns' }), label).toBe(1);
    expect(valueOf(samples, 'tcpstate_netns_namespaces', { state: 'reported' }), label).toBe(NAMESPACES);
    for (let i = 0; i < NAMESPACES; i++) expect(valueOf(samples, 'tcpstate_active_opens_total', { netns: inodeOf(i) }), `${label}, namespace ${i}`).toBe(activeOpensOf(i));
  };

  it('reports every namespace on the first scrape (files opened) and the next ones (kept files, the worker)', { timeout: 30_000 }, async () => {
    for (let scrape_ = 1; scrape_ <= 3; scrape_++) expectAllNamespaces(await scrape(), `scrape ${scrape_}`);
  });

  it('a kept file turned malformed fails the collector with one line; the good file brings everything back', { timeout: 30_000 }, async () => {
    const good = readFileSync(netstatOf(15), 'latin1');
    // Rewritten in place: the kept descriptor reads the new text at its next pread.
    writeFileSync(netstatOf(15), 'TcpExt: ListenOverflows ListenDrops\nTcpExt: many 0\n');
    try {
      const samples = await scrape();
      expect(valueOf(samples, 'tcpstate_scrape_collector_success', { collector: 'netns' })).toBe(0);
      const line = exporter.logs().split('\n').find((l) => l.includes('collector=netns') && l.includes('err='));
      expect(line).toMatch(/netstat/);
      expect(line).toMatch(/ListenOverflows/);
      expect(exporter.logs()).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      writeFileSync(netstatOf(15), good);
    }
    expectAllNamespaces(await scrape(), 'after the repair');
  });

  it('a namespace gone and a new one between scrapes: the worker gets the new list and reads each under its own labels', { timeout: 30_000 }, async () => {
    // Namespace 3's only process leaves (its files stay readable through the kept descriptors,
    // as a namespace's do until they are closed); a process in a new namespace, 20, comes.
    const leaving = join(proc, String(FIRST_PID + 3));
    renameSync(leaving, join(scratch, 'left'));
    makeNamespace(NAMESPACES);
    try {
      // The first scrape drops 3 and opens 20; the next ones are the worker's, on the new list.
      for (let round = 1; round <= 3; round++) {
        const samples = await scrape();
        const label = `scrape ${round} after the change`;
        expect(valueOf(samples, 'tcpstate_scrape_collector_success', { collector: 'netns' }), label).toBe(1);
        expect(valueOf(samples, 'tcpstate_netns_namespaces', { state: 'reported' }), label).toBe(NAMESPACES);
        expect(select(samples, 'tcpstate_active_opens_total', { netns: inodeOf(3) }), label).toHaveLength(0);
        for (let i = 0; i <= NAMESPACES; i++) {
          if (i !== 3) expect(valueOf(samples, 'tcpstate_active_opens_total', { netns: inodeOf(i) }), `${label}, namespace ${i}`).toBe(activeOpensOf(i));
        }
      }
    } finally {
      rmSync(join(proc, String(FIRST_PID + NAMESPACES)), { recursive: true, force: true });
      renameSync(join(scratch, 'left'), leaving);
    }
    expectAllNamespaces(await scrape(), 'after namespace 3 came back and 20 left');
  });
});
