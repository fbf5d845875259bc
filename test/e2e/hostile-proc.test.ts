/**
 * A /proc tree an attacker (or a broken container mount) controls must not hang the exporter:
 * non-regular files are refused, reads are bounded, a scrape is answered within the timeout the
 * client sent, and SIGTERM still ends the process.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseExposition, valueOf } from '../helpers/exposition.js';
import { fixtureProcfs, startExporter } from '../helpers/exporter-process.js';

const scratch = mkdtempSync(join(tmpdir(), 'tcpstate-hostile-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function procWith(name: string, plant: (proc: string) => void): string {
  const proc = join(scratch, name);
  cpSync(fixtureProcfs, proc, { recursive: true });
  plant(proc);
  return proc;
}

describe('hostile files under --path.procfs', () => {
  it('a FIFO at net/tcp: the sockets collector fails at once, /metrics is served, SIGTERM ends the process', async () => {
    const proc = procWith('fifo', (root) => {
      rmSync(join(root, 'net', 'tcp'));
      execFileSync('mkfifo', [join(root, 'net', 'tcp')]);
    });
    const exporter = await startExporter([`--path.procfs=${proc}`]);
    try {
      const started = performance.now();
      const response = await fetch(`${exporter.url}/metrics`, { headers: { 'X-Prometheus-Scrape-Timeout-Seconds': '5' }, signal: AbortSignal.timeout(8000) });
      const samples = parseExposition(await response.text());
      expect(performance.now() - started).toBeLessThan(5000);
      expect(valueOf(samples, 'tcpstate_scrape_collector_success', { collector: 'sockets' })).toBe(0);
      expect(valueOf(samples, 'tcpstate_scrape_collector_success', { collector: 'netstat' })).toBe(1);
      expect(exporter.logs()).toMatch(/collector=sockets err=".*net\/tcp: not a regular file/);
      expect((await fetch(`${exporter.url}/-/healthy`)).status).toBe(200);
    } finally {
      const stopping = performance.now();
      const code = await exporter.stop();
      expect(code).toBe(0);
      expect(performance.now() - stopping).toBeLessThan(10_000);
    }
  });

  it('a FIFO at <pid>/comm with the process collector: that process is unreadable, and the event loop never blocks', async () => {
    const proc = procWith('fifo-comm', (root) => {
      rmSync(join(root, '13140', 'comm'));
      execFileSync('mkfifo', [join(root, '13140', 'comm')]);
    });
    const exporter = await startExporter([`--path.procfs=${proc}`, '--collector.process']);
    try {
      const scrape = fetch(`${exporter.url}/metrics`, { signal: AbortSignal.timeout(8000) }).then((r) => r.text());
      // /-/healthy answers while the scrape runs, as it cannot while a synchronous read blocks.
      expect((await fetch(`${exporter.url}/-/healthy`, { signal: AbortSignal.timeout(3000) })).status).toBe(200);
      const samples = parseExposition(await scrape);
      expect(valueOf(samples, 'tcpstate_scrape_collector_success', { collector: 'process' })).toBe(1);
      expect(valueOf(samples, 'tcpstate_process_unreadable')).toBe(1);
    } finally {
      await exporter.stop();
    }
  });

  it('/dev/zero in place of net/snmp is refused, a file past the size cap is refused, and both name the file', async () => {
    const proc = procWith('devices', (root) => {
      rmSync(join(root, 'net', 'snmp'));
      symlinkSync('/dev/zero', join(root, 'net', 'snmp'));
      writeFileSync(join(root, 'net', 'sockstat'), 'TCP: inuse 1\n'.repeat(400_000));
    });
    const exporter = await startExporter([`--path.procfs=${proc}`]);
    try {
      const samples = parseExposition(await (await fetch(`${exporter.url}/metrics`, { signal: AbortSignal.timeout(8000) })).text());
      expect(valueOf(samples, 'tcpstate_scrape_collector_success', { collector: 'netstat' })).toBe(0);
      expect(valueOf(samples, 'tcpstate_scrape_collector_success', { collector: 'sockstat' })).toBe(0);
      expect(valueOf(samples, 'tcpstate_scrape_collector_success', { collector: 'sockets' })).toBe(1);
      expect(exporter.logs()).toMatch(/collector=netstat err=".*net\/snmp: not a regular file/);
      expect(exporter.logs()).toMatch(/collector=sockstat err=".*net\/sockstat: larger than 4194304 bytes/);
    } finally {
      await exporter.stop();
    }
  });
});
