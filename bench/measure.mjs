// @ts-check
/**
 * The measuring half of the benchmark. bench/run.mjs runs it INSIDE the farm's network
 * namespace (`nsenter --net=/run/netns/<ns> node bench/measure.mjs ...`: the network namespace
 * only, as `ip netns exec` would remount /sys and hide the cgroup2 mount from the cgroup
 * collector), so that every tool sees the same socket table. It starts the exporter twice (netlink and procfs sources) and node_exporter,
 * then, interleaved, rep after rep: scrapes each over HTTP, runs `ss -tan`, runs the C netlink
 * dump (one walk for both families, as the exporter asks) and its per-family variant; with
 * --baseline, the same exporter built from another commit; the default scrape with and without
 * the cgroup collector; with --process, both with
 * --collector.process too; then 100 scrapes of the netlink exporter for RSS drift. Prints one
 * JSON line.
 *
 *   node bench/measure.mjs --reps=7 --drift=100 --dump=/tmp/x/netlink-dump \
 *     [--node-exporter=/usr/bin/prometheus-node-exporter] [--base-port=19900] [--baseline=DIR] [--process]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const exporterMain = `${repo}dist/main.js`;
const eldPreload = fileURLToPath(new URL('./eld-preload.mjs', import.meta.url));

/** @param {string} name @param {string} fallback */
function flag(name, fallback) {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit === undefined ? fallback : hit.slice(name.length + 3);
}
const reps = Math.max(1, Math.min(50, Number(flag('reps', '7'))));
const driftScrapes = Math.max(0, Math.min(1000, Number(flag('drift', '100'))));
const dumpBin = flag('dump', '');
const nodeExporterBin = flag('node-exporter', '/usr/bin/prometheus-node-exporter');
const basePort = Number(flag('base-port', '19900'));
// --baseline=<dir>: a built checkout of another commit (<dir>/dist/main.js), scraped in the same
// rounds, so "this change against the commit before it" is one interleaved run.
const baselineDir = flag('baseline', '');
// --process: also scrape both with --collector.process (it walks every /proc/<pid>/fd).
const withProcess = process.argv.includes('--process');
const SCRAPE_TIMEOUT_MS = 60_000;

/** @type {import('node:child_process').ChildProcess[]} */
const started = [];
function cleanup() {
  for (const child of started) if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
}
process.on('exit', cleanup);
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(signal, () => {
    cleanup();
    process.exit(1);
  });
}

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One GET, as Prometheus does it (gzip accepted); wall time until the last byte.
 * @param {number} port @returns {Promise<{ms: number, bytes: number, body: string}>}
 */
function scrape(port, keepBody = false) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request({ host: '127.0.0.1', port, path: '/metrics', headers: { 'accept-encoding': keepBody ? 'identity' : 'gzip' }, agent: false }, (res) => {
      let bytes = 0;
      /** @type {Buffer[]} */
      const chunks = [];
      res.on('data', (chunk) => {
        bytes += chunk.length;
        if (keepBody) chunks.push(chunk);
      });
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`:${port}/metrics answered ${res.statusCode}`));
        else resolve({ ms: performance.now() - t0, bytes, body: keepBody ? Buffer.concat(chunks).toString('utf8') : '' });
      });
      res.on('error', reject);
    });
    req.setTimeout(SCRAPE_TIMEOUT_MS, () => req.destroy(new Error(`:${port}/metrics timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Wall time of a command run to completion, output discarded (ss) or kept (the C dump).
 * @param {string} cmd @param {string[]} args @returns {Promise<{ms: number, stdout: string}>}
 */
function timeCommand(cmd, args, keepStdout = false) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', keepStdout ? 'pipe' : 'ignore', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c) => (stdout += c));
    child.stderr?.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), SCRAPE_TIMEOUT_MS);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const ms = performance.now() - t0;
      if (code !== 0) reject(new Error(`${cmd} exited with ${code}: ${stderr.slice(0, 300)}`));
      else resolve({ ms, stdout });
    });
  });
}

/** @param {number} pid @returns {{rssMb: number, hwmMb: number}} */
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (/** @type {string} */ key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

/**
 * Starts a server and waits until /metrics answers.
 * @param {string} name @param {string} cmd @param {string[]} args @param {number} port @param {boolean} ipc
 */
async function startServer(name, cmd, args, port, ipc) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe', ...(ipc ? /** @type {const} */ (['ipc']) : [])] });
  started.push(child);
  let log = '';
  child.stderr?.on('data', (c) => (log = (log + c).slice(-4000)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${log}`);
    const ok = await new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.end();
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`${name} did not come up on :${port}: ${log}`);
    await sleep(100);
  }
  return { name, child, port, log: () => log };
}

/**
 * Asks the preload in the exporter for its event-loop delay histogram.
 * @param {import('node:child_process').ChildProcess} child @param {'eld-reset' | 'eld-read'} cmd
 * @returns {Promise<any>}
 */
function eld(child, cmd) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer from the event-loop preload')), 5000);
    /** @param {any} message */
    const onMessage = (message) => {
      if (message?.eld === undefined) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message.eld);
    };
    child.on('message', onMessage);
    child.send({ cmd });
  });
}

/** @param {number[]} values */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? /** @type {number} */ (sorted[mid]) : (/** @type {number} */ (sorted[mid - 1]) + /** @type {number} */ (sorted[mid])) / 2;
}

/** The sum of tcpstate_sockets in a text exposition. @param {string} body */
function socketTotal(body) {
  let total = 0;
  for (const line of body.split('\n')) if (line.startsWith('tcpstate_sockets{')) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

const exporterFlags = ['--collector.disable-defaults', '--collector.sockets', '--log.level=warn'];
const netlink = await startServer('exporter-netlink', process.execPath, ['--import', eldPreload, exporterMain, `--web.listen-address=127.0.0.1:${basePort}`, '--collector.sockets.source=netlink', ...exporterFlags], basePort, true);
const procfs = await startServer('exporter-procfs', process.execPath, ['--import', eldPreload, exporterMain, `--web.listen-address=127.0.0.1:${basePort + 1}`, '--collector.sockets.source=procfs', ...exporterFlags], basePort + 1, true);
const baselineMain = baselineDir === '' ? '' : `${baselineDir.replace(/\/$/, '')}/dist/main.js`;
/** @type {Array<{key: string, server: Awaited<ReturnType<typeof startServer>>}>} */
const extra = [];
let nextPort = basePort + 3;
/** @param {string} key @param {string} main @param {string[]} flags */
async function addContender(key, main, flags) {
  const port = nextPort++;
  extra.push({ key, server: await startServer(key, process.execPath, [main, `--web.listen-address=127.0.0.1:${port}`, '--collector.sockets.source=netlink', ...flags], port, false) });
}
// This build and the baseline started and scraped alike (no preload, no event-loop questions
// around the scrape): the watched netlink exporter above came out ~1.09x slower than an identical
// build started as a plain contender, so it cannot stand for this change against the baseline.
if (baselineMain !== '') {
  await addContender('current', exporterMain, exporterFlags);
  await addContender('baseline', baselineMain, exporterFlags);
}
// The default scrape (every default collector), with the cgroup owner collector and without it:
// what attribution by cgroup adds to what users actually run.
await addContender('defaultOn', exporterMain, ['--log.level=warn']);
await addContender('defaultOff', exporterMain, ['--no-collector.cgroup', '--log.level=warn']);
if (withProcess) {
  await addContender('netlinkProcess', exporterMain, [...exporterFlags, '--collector.process']);
  if (baselineMain !== '') await addContender('baselineProcess', baselineMain, [...exporterFlags, '--collector.process']);
}
const nodeExporter = await startServer('node_exporter', nodeExporterBin, ['--collector.disable-defaults', '--collector.tcpstat', `--web.listen-address=127.0.0.1:${basePort + 2}`, '--log.level=warn'], basePort + 2, false);

// First scrape of each: the exporter's RSS after its first scrape is the drift baseline.
const firstNetlink = await scrape(netlink.port, true);
const rssAfterFirst = memory(/** @type {number} */ (netlink.child.pid)).rssMb;
const firstProcfs = await scrape(procfs.port, true);
await scrape(nodeExporter.port);
for (const { server } of extra) await scrape(server.port);
const dumpCount = Number((await timeCommand(dumpBin, [], true)).stdout.trim());

/**
 * One scrape of an exporter with its event-loop delay histogram reset just before and read just
 * after: the delay during that scrape (the target), as opposed to delays while other tools ran.
 * The idle `canary` (the other exporter, which does nothing meanwhile) is watched over the same
 * window: a delay it shows too came from the machine (CPU contention, VM steal), not the scrape.
 * @param {{child: import('node:child_process').ChildProcess, port: number}} server
 * @param {{child: import('node:child_process').ChildProcess}} canary
 */
async function watchedScrape(server, canary) {
  await Promise.all([eld(server.child, 'eld-reset'), eld(canary.child, 'eld-reset')]);
  const { ms } = await scrape(server.port);
  const [own, idle] = await Promise.all([eld(server.child, 'eld-read'), eld(canary.child, 'eld-read')]);
  return { ms, eldMaxMs: own.maxMs, canaryMaxMs: idle.maxMs };
}

/** @type {Record<string, number[]>} */
const times = { netlink: [], procfs: [], nodeExporter: [], ss: [], dump: [], dumpPerFamily: [], ...Object.fromEntries(extra.map(({ key }) => [key, []])) };
/** Per netlink scrape: its own largest event-loop delay, and the idle procfs exporter's meanwhile. */
/** @type {Record<string, number[]>} */
const scrapeEld = { netlink: [], netlinkCanary: [], netlinkDrift: [], netlinkDriftCanary: [] };
for (let rep = 0; rep < reps; rep++) {
  // Interleaved, so that drift in the table or the machine hits every contender alike.
  const n = await watchedScrape(netlink, procfs);
  times.netlink?.push(n.ms);
  scrapeEld.netlink?.push(n.eldMaxMs);
  scrapeEld.netlinkCanary?.push(n.canaryMaxMs);
  times.procfs?.push((await scrape(procfs.port)).ms);
  times.nodeExporter?.push((await scrape(nodeExporter.port)).ms);
  times.ss?.push((await timeCommand('ss', ['-tan'])).ms);
  times.dump?.push((await timeCommand(dumpBin, [], true)).ms);
  times.dumpPerFamily?.push((await timeCommand(dumpBin, ['--per-family'], true)).ms);
  // Every other round in reverse order, so that no contender always goes first or last.
  for (const { key, server } of rep % 2 === 0 ? extra : [...extra].reverse()) times[key]?.push((await scrape(server.port)).ms);
}

// RSS drift: scrapes 2..N of the netlink exporter, back to back (the first was above).
let driftMs = 0;
for (let i = 1; i < driftScrapes; i++) {
  const n = await watchedScrape(netlink, procfs);
  driftMs += n.ms;
  scrapeEld.netlinkDrift?.push(n.eldMaxMs);
  scrapeEld.netlinkDriftCanary?.push(n.canaryMaxMs);
}
const rssAfterDrift = memory(/** @type {number} */ (netlink.child.pid)).rssMb;
const maxOf = (/** @type {number[]} */ v) => (v.length === 0 ? null : Math.max(...v));

const result = {
  sockets: { dump: dumpCount, exporterNetlink: socketTotal(firstNetlink.body), exporterProcfs: socketTotal(firstProcfs.body) },
  reps,
  medianMs: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])),
  timesMs: times,
  memoryMb: {
    netlink: memory(/** @type {number} */ (netlink.child.pid)),
    procfs: memory(/** @type {number} */ (procfs.child.pid)),
    nodeExporter: memory(/** @type {number} */ (nodeExporter.child.pid)),
    ...Object.fromEntries(extra.map(({ key, server }) => [key, memory(/** @type {number} */ (server.child.pid))])),
  },
  drift: { scrapes: driftScrapes, rssAfterFirstMb: rssAfterFirst, rssAfterLastMb: rssAfterDrift, meanScrapeMs: driftScrapes > 1 ? driftMs / (driftScrapes - 1) : null },
  eventLoopDelay: {
    /** The largest delay during any one scrape of the netlink exporter (rounds and drift scrapes). */
    duringScrapeMaxMs: Math.max(maxOf(scrapeEld.netlink ?? []) ?? 0, maxOf(scrapeEld.netlinkDrift ?? []) ?? 0),
    /** The idle canary's largest delay over the same windows. */
    canaryDuringScrapeMaxMs: Math.max(maxOf(scrapeEld.netlinkCanary ?? []) ?? 0, maxOf(scrapeEld.netlinkDriftCanary ?? []) ?? 0),
    perScrapeMaxMs: scrapeEld,
  },
};
for (const server of [netlink, procfs, nodeExporter, ...extra.map((e) => e.server)]) server.child.kill('SIGTERM');
process.stdout.write(JSON.stringify(result) + '\n');
await sleep(200);
process.exit(0);
