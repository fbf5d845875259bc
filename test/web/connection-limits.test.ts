import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { toolOrSkip } from '../helpers/require-tool.js';
import { spawnExporter, type SpawnedExporter } from './real-exporter.js';

const run = promisify(execFile);
const slowloris = fileURLToPath(new URL('./fixtures/slowloris.mjs', import.meta.url));
const prlimit = toolOrSkip('prlimit', 'util-linux');
const started: SpawnedExporter[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((exporter) => exporter.stop()));
});

/** Milliseconds until the server closes a connection that has sent `send`, or undefined within limitMs. */
function closedAfter(url: string, send: string, limitMs: number): Promise<number | undefined> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const start = Date.now();
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(send));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(undefined);
    }, limitMs);
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - start);
    });
  });
}

describe.skipIf(!prlimit.available)('connection limits (real binary)', () => {
  it('closes connections that do not finish their headers, and idle keep-alives, on time', async () => {
    const exporter = await spawnExporter(['--web.read-header-timeout=2s', '--web.idle-timeout=2s']);
    started.push(exporter);
    const silent = await closedAfter(exporter.url, '', 8000);
    const partial = await closedAfter(exporter.url, 'GET /metrics HTTP/1.1\r\nHost: x\r\n', 8000);
    const idle = await closedAfter(exporter.url, 'GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n', 8000);
    console.log(`closed after: silent ${silent} ms, unfinished headers ${partial} ms, idle keep-alive ${idle} ms`);
    for (const ms of [silent, partial, idle]) {
      expect(ms).toBeDefined();
      expect(ms!).toBeLessThan(4500);
    }
  });

  it('a slowloris of 1,000 connections under `prlimit --nofile=1024` leaves legitimate scrapes succeeding', async () => {
    // Defaults for --web.max-requests and --web.max-connections; only the fd limit is the attack's.
    const exporter = await spawnExporter([], { prefix: [prlimit.path!, '--nofile=1024:1024', '--'] });
    started.push(exporter);
    const { port } = new URL(exporter.url);
    const attack = run(prlimit.path!, ['--nofile=4096:4096', '--', process.execPath, slowloris, '127.0.0.1', port, '1000', '16'], { timeout: 40_000 });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const results: { ok: boolean; ms: number }[] = [];
    const until = Date.now() + 13_000;
    while (Date.now() < until) {
      const start = Date.now();
      const ok = await fetch(`${exporter.url}/metrics`, { signal: AbortSignal.timeout(5000) }).then(
        async (response) => response.status === 200 && (await response.text()).includes('tcpstate_build_info'),
        () => false,
      );
      results.push({ ok, ms: Date.now() - start });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const report = JSON.parse((await attack).stdout) as { peak: number; opened: number; closedByServer: number; errors: number };
    const failed = results.filter((r) => !r.ok).length;
    const slowest = Math.max(...results.map((r) => r.ms));
    console.log(`slowloris ${JSON.stringify(report)}; legitimate scrapes: ${results.length - failed}/${results.length} succeeded, slowest ${slowest} ms`);
    expect(report.peak).toBeGreaterThan(900);
    expect(results.length).toBeGreaterThan(10);
    expect(failed).toBe(0);
    expect(exporter.child.exitCode).toBeNull();
  });
});
