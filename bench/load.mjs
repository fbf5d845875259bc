#!/usr/bin/env node
/**
 * Load benchmark: --scrapers concurrent scrapers (default 50), each scraping every --interval
 * (default 1s, staggered as Prometheus spreads its targets; 0 = back to back) for --seconds
 * (default 60), against the exporter over a farm of --size sockets (default 100k) in a network
 * namespace, once with the default collectors and once with --collector.process as well.
 * Reports failed and truncated scrapes, p50/p99 scrape time, and the exporter's RSS and open
 * fds (sampled every second). Needs root, iproute2, iptables, gcc and a built dist/.
 *
 *   npm run build && nice node bench/load.mjs [--size=100k] [--seconds=60] [--scrapers=50] [--interval=1000] [--no-write]
 *
 * Back to back (--interval=0), 50 scrapers exceed the default --web.max-requests (40), and the
 * extra ones are answered 503 by design; they are counted as failed.
 *
 * The scrapers run in the namespace too (the same script with --client), in a process of their
 * own, and send what Prometheus sends: its Accept header and Accept-Encoding: gzip.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Farm, parseSize } from './farm.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
/** Prometheus 2.x's scrape Accept header (scrape/scrape.go, acceptHeader with OpenMetrics first). */
const PROMETHEUS_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

/** @param {string} name @param {string} fallback */
function flag(name, fallback) {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit === undefined ? fallback : hit.slice(name.length + 3);
}
/** @param {number[]} values @param {number} p */
function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

// ---- client mode: the scrapers, run inside the namespace ----
if (process.argv.includes('--client')) {
  const url = flag('url', '');
  const scrapers = Number(flag('scrapers', '50'));
  const deadline = Date.now() + Number(flag('seconds', '60')) * 1000;
  const interval = Number(flag('interval', '1000'));
  const agent = new Agent({ keepAlive: true, maxSockets: scrapers });
  /** @type {number[]} */
  const times = [];
  const failures = { status: 0, error: 0, truncated: 0 };
  /** @type {Record<string, number>} */
  const statuses = {};
  const once = () =>
    new Promise((resolve) => {
      const start = performance.now();
      const req = request(url, { agent, headers: { accept: PROMETHEUS_ACCEPT, 'accept-encoding': 'gzip', 'x-prometheus-scrape-timeout-seconds': '10' } }, (res) => {
        /** @type {Buffer[]} */
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          times.push(performance.now() - start);
          statuses[String(res.statusCode)] = (statuses[String(res.statusCode)] ?? 0) + 1;
          if (res.statusCode !== 200) failures.status++;
          else {
            try {
              const body = Buffer.concat(chunks);
              const text = (res.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString();
              if (!text.endsWith('# EOF\n') || !text.includes('tcpstate_build_info')) failures.truncated++;
            } catch {
              failures.truncated++;
            }
          }
          resolve(undefined);
        });
        res.on('error', () => {
          failures.error++;
          resolve(undefined);
        });
      });
      req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        failures.error++;
        resolve(undefined);
      });
      req.end();
    });
  const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));
  /** @param {number} i */
  const scraper = async (i) => {
    await sleep((i * interval) / scrapers);
    while (Date.now() < deadline) {
      const start = Date.now();
      await once();
      if (interval > 0) await sleep(Math.max(0, interval - (Date.now() - start)));
    }
  };
  await Promise.all(Array.from({ length: scrapers }, (_, i) => scraper(i)));
  agent.destroy();
  process.stdout.write(JSON.stringify({ scrapes: times.length, failures, statuses, p50: percentile(times, 50), p99: percentile(times, 99), max: Math.max(...times) }));
  process.exit(0);
}

// ---- driver ----
if (process.getuid?.() !== 0) {
  console.error('bench/load: needs root (it builds a socket farm in a network namespace)');
  process.exit(2);
}
if (!existsSync(join(repo, 'dist/main.js'))) {
  console.error('bench/load: dist/main.js is missing; run `npm run build`');
  process.exit(2);
}
const sizeLabel = flag('size', '100k');
const size = parseSize(sizeLabel);
const seconds = Number(flag('seconds', '60'));
const scrapers = Number(flag('scrapers', '50'));
const interval = Number(flag('interval', '1000'));
const farm = new Farm();
process.on('exit', () => farm.stop());
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) process.on(signal, () => process.exit(130));

/** RSS (MiB) and open fds of a process, from /proc. @param {number} pid */
function sampleProcess(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) / 1024;
  return { rss, fds: readdirSync(`/proc/${pid}/fd`).length };
}

/** One run: the exporter with `flags`, the scrapers for `seconds`, samples every second. @param {string} label @param {string[]} flags */
async function run(label, flags) {
  const port = 19977;
  const exporter = spawn('ip', ['netns', 'exec', farm.ns, process.execPath, join(repo, 'dist/main.js'), `--web.listen-address=127.0.0.1:${port}`, '--collector.sockets.source=netlink', ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
  let logs = '';
  exporter.stderr?.on('data', (c) => (logs += c.toString()));
  const pid = /** @type {number} */ (exporter.pid);
  const started = Date.now();
  while (!logs.includes('msg=listening')) {
    if (exporter.exitCode !== null || Date.now() - started > 20_000) throw new Error(`exporter did not start: ${logs}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const before = sampleProcess(pid);
  /** @type {{ rss: number; fds: number }[]} */
  const samples = [];
  const sampler = setInterval(() => samples.push(sampleProcess(pid)), 1000);
  const client = spawn('ip', ['netns', 'exec', farm.ns, process.execPath, fileURLToPath(import.meta.url), '--client', `--url=http://127.0.0.1:${port}/metrics`, `--scrapers=${scrapers}`, `--seconds=${seconds}`, `--interval=${interval}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  client.stdout?.on('data', (c) => (out += c.toString()));
  await new Promise((resolve) => client.once('exit', resolve));
  clearInterval(sampler);
  const after = sampleProcess(pid);
  exporter.kill('SIGTERM');
  await new Promise((resolve) => exporter.once('exit', resolve));
  const result = JSON.parse(out);
  const rss = samples.map((s) => s.rss);
  const fds = samples.map((s) => s.fds);
  return { label, flags, ...result, rss: { start: before.rss, max: Math.max(...rss), end: after.rss }, fds: { start: before.fds, max: Math.max(...fds), end: after.fds }, errorLogLines: logs.split('\n').filter((l) => l.includes('level=error')).length };
}

console.error(`bench/load: building a ${sizeLabel} farm`);
await farm.start(size);
const sockets = farm.exec(['ss', '-tanH']).split('\n').filter(Boolean).length;
console.error(`bench/load: ${sockets} TCP sockets in ${farm.ns}; ${scrapers} scrapers for ${seconds} s per run`);
const results = [];
for (const [label, flags] of /** @type {const} */ ([['default collectors', []], ['with --collector.process', ['--collector.process']]])) {
  console.error(`bench/load: ${label}`);
  results.push(await run(label, [...flags]));
}

const f = (/** @type {number} */ n, digits = 1) => n.toFixed(digits);
const lines = [
  `# Load benchmark, ${new Date().toISOString().slice(0, 10)}`,
  '',
  `${scrapers} concurrent scrapers, ${interval > 0 ? `each every ${interval} ms (staggered)` : 'back to back'} for ${seconds} s, Prometheus's Accept header and gzip, over ${sockets} sockets (\`ss -tanH\`) in a namespace; exporter flags at their defaults (\`--web.max-requests=40\`); Node ${process.version}. Command: \`nice node bench/load.mjs --size=${sizeLabel} --seconds=${seconds} --scrapers=${scrapers} --interval=${interval}\`.`,
  '',
  '| run | scrapes | failed (statuses) | truncated | p50 | p99 | max | RSS start / max / end | fds start / max / end | error log lines |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...results.map(
    (r) =>
      `| ${r.label} | ${r.scrapes} | ${r.failures.status + r.failures.error} (${Object.entries(r.statuses).map(([k, v]) => `${k}: ${v}`).join(', ')}${r.failures.error > 0 ? `, errors: ${r.failures.error}` : ''}) | ${r.failures.truncated} | ${f(r.p50)} ms | ${f(r.p99)} ms | ${f(r.max)} ms | ${f(r.rss.start)} / ${f(r.rss.max)} / ${f(r.rss.end)} MiB | ${r.fds.start} / ${r.fds.max} / ${r.fds.end} | ${r.errorLogLines} |`,
  ),
  '',
];
const markdown = lines.join('\n');
process.stdout.write(markdown);
if (!process.argv.includes('--no-write')) {
  mkdirSync(join(repo, 'bench/results'), { recursive: true });
  const base = join(repo, 'bench/results', `${new Date().toISOString().slice(0, 10)}-load-${sizeLabel}`);
  writeFileSync(`${base}.md`, markdown);
  writeFileSync(`${base}.json`, JSON.stringify({ size, sockets, seconds, scrapers, interval, node: process.version, results }, null, 2));
}
process.exit(0);
