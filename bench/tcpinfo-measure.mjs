// @ts-check
/**
 * The measuring half of bench/tcpinfo.mjs, run INSIDE the farm's network namespace (nsenter
 * --net) so that every contender sees the same socket table. Rounds are interleaved: in each, every
 * contender once, back to back; ratios are taken within a round. Prints one JSON line.
 *
 *   node bench/tcpinfo-measure.mjs --rounds=7 --floor=/tmp/x/netlink-info-dump \
 *     --node-exporter=/usr/bin/prometheus-node-exporter [--baseline=DIR] [--base-port=19950]
 *
 * Contenders (the farm's listeners are 8080 and 8090-8095; its ESTABLISHED pairs all use 8080):
 *   tcpinfoHalf   --collector.tcpinfo alone, remote ports 9001-9003: the filter matches the server half
 *   tcpinfoAll    the same with remote ports 8080,9002,9003: every ESTABLISHED socket, both sides
 *   floorHalf / floorAll   netlink-info-dump with the very filter the exporter sends
 *   nodeExporter  node_exporter --collector.tcpstat (it asks for tcp_info of every socket)
 *   defaultOff    the default scrape (netns collector off); defaultOn the same plus --collector.tcpinfo (half)
 *   baseline      defaultOff's scrape from another built checkout (--baseline), if given
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const eldPreload = fileURLToPath(new URL('./eld-preload.mjs', import.meta.url));
/** @param {string} name @param {string} fallback */
const flag = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const rounds = Math.max(1, Math.min(50, Number(flag('rounds', '7'))));
const floorBin = flag('floor', '');
const nodeExporterBin = flag('node-exporter', '/usr/bin/prometheus-node-exporter');
const baselineDir = flag('baseline', '');
const basePort = Number(flag('base-port', '19950'));
const TIMEOUT_MS = 60_000;
if (floorBin === '') throw new Error('tcpinfo-measure: --floor=<netlink-info-dump binary> is required');

const LISTENERS = [8080, 8090, 8091, 8092, 8093, 8094, 8095];
const HALF_REMOTE = [9001, 9002, 9003];
const ALL_REMOTE = [8080, 9002, 9003];

/** @type {import('node:child_process').ChildProcess[]} */
const started = [];
const cleanup = () => started.forEach((c) => c.exitCode === null && c.pid !== undefined && c.kill('SIGKILL'));
process.on('exit', cleanup);
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) process.on(signal, () => process.exit(1));
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/** One GET as Prometheus makes it; wall time to the last byte. @param {number} port @returns {Promise<{ms: number, body: string}>} */
function scrape(port) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      /** @type {Buffer[]} */
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? resolve({ ms: performance.now() - t0, body: Buffer.concat(chunks).toString('utf8') }) : reject(new Error(`:${port} answered ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`:${port} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** @param {string} name @param {string} cmd @param {string[]} args @param {number} port @param {boolean} ipc */
async function startServer(name, cmd, args, port, ipc = false) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe', ...(ipc ? /** @type {const} */ (['ipc']) : [])] });
  started.push(child);
  let log = '';
  child.stderr?.on('data', (c) => (log = (log + c).slice(-4000)));
  for (const deadline = Date.now() + 30_000; ; await sleep(100)) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${log}`);
    if (await scrape(port).then(() => true, () => false)) return { name, child, port };
    if (Date.now() > deadline) throw new Error(`${name} did not come up on :${port}: ${log}`);
  }
}

/** The C floor's own figures: records, bytes, and the dump's wall and CPU time (ms). @param {string[]} args */
function floor(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(floorBin, ['--time', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout?.on('data', (c) => (out += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const [records = 0, bytes = 0, wallUs = 0, cpuUs = 0] = out.trim().split(' ').map(Number);
      code === 0 ? resolve({ records, bytes, ms: wallUs / 1000, cpuMs: cpuUs / 1000 }) : reject(new Error(`netlink-info-dump exited with ${code}`));
    });
  });
}

/** @param {import('node:child_process').ChildProcess} child @param {string} cmd @returns {Promise<any>} */
function eld(child, cmd) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer from the event-loop preload')), 5000);
    const onMessage = (/** @type {any} */ m) => {
      if (m?.eld === undefined) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(m.eld);
    };
    child.on('message', onMessage);
    child.send({ cmd });
  });
}

const main = `${repo}dist/main.js`;
const listen = (/** @type {number} */ port) => `--web.listen-address=127.0.0.1:${port}`;
const tcpinfoOnly = (/** @type {number[]} */ remote) => ['--collector.disable-defaults', '--collector.tcpinfo', `--collector.sockets.remote-ports=${remote.join(',')}`, '--log.level=warn'];
// The default collectors, but not netns: it would dump every namespace on this (shared) machine,
// other people's test namespaces included, which has nothing to do with the farm.
const DEFAULT = ['--no-collector.netns', '--log.level=warn'];
const servers = {
  tcpinfoHalf: await startServer('tcpinfoHalf', process.execPath, ['--import', eldPreload, main, listen(basePort), ...tcpinfoOnly(HALF_REMOTE)], basePort, true),
  tcpinfoAll: await startServer('tcpinfoAll', process.execPath, ['--import', eldPreload, main, listen(basePort + 1), ...tcpinfoOnly(ALL_REMOTE)], basePort + 1, true),
  nodeExporter: await startServer('nodeExporter', nodeExporterBin, ['--collector.disable-defaults', '--collector.tcpstat', listen(basePort + 2), '--log.level=warn'], basePort + 2),
  defaultOff: await startServer('defaultOff', process.execPath, [main, listen(basePort + 3), ...DEFAULT], basePort + 3),
  defaultOn: await startServer('defaultOn', process.execPath, [main, listen(basePort + 4), ...DEFAULT, '--collector.tcpinfo', `--collector.sockets.remote-ports=${HALF_REMOTE.join(',')}`], basePort + 4),
  ...(baselineDir === '' ? {} : { baseline: await startServer('baseline', process.execPath, [`${baselineDir.replace(/\/$/, '')}/dist/main.js`, listen(basePort + 5), ...DEFAULT], basePort + 5) }),
};
const filterArgs = (/** @type {number[]} */ remote) => [...LISTENERS.map((p) => `--sport=${p}`), ...remote.map((p) => `--dport=${p}`)];

// One warm-up scrape each (the first pays for JIT and the worker thread's start).
const bodies = Object.fromEntries(await Promise.all(Object.entries(servers).map(async ([key, s]) => [key, (await scrape(s.port)).body])));
for (const key of ['tcpinfoHalf', 'tcpinfoAll']) {
  if (!/tcpstate_scrape_collector_success\{collector="tcpinfo"\} 1/.test(bodies[key] ?? '')) throw new Error(`${key}: the tcpinfo collector failed`);
}
await Promise.all([eld(servers.tcpinfoHalf.child, 'eld-reset'), eld(servers.tcpinfoAll.child, 'eld-reset')]);

/** @type {Record<string, number[]>} */
const ms = Object.fromEntries([...Object.keys(servers), 'floorHalf', 'floorAll', 'floorHalfCpu', 'floorAllCpu'].map((k) => [k, []]));
/** @type {Record<string, {records: number, bytes: number}>} */
const floorShape = {};
for (let r = 0; r < rounds; r++) {
  for (const [key, s] of Object.entries(servers)) ms[key]?.push((await scrape(s.port)).ms);
  for (const [key, remote] of /** @type {const} */ ([['floorHalf', HALF_REMOTE], ['floorAll', ALL_REMOTE]])) {
    const f = /** @type {{records: number, bytes: number, ms: number, cpuMs: number}} */ (await floor(filterArgs([...remote])));
    ms[key]?.push(f.ms);
    ms[`${key}Cpu`]?.push(f.cpuMs);
    floorShape[key] = { records: f.records, bytes: f.bytes };
  }
}
const eventLoop = { tcpinfoHalf: await eld(servers.tcpinfoHalf.child, 'eld-read'), tcpinfoAll: await eld(servers.tcpinfoAll.child, 'eld-read') };
/** The series each tcpinfo contender emitted, and its socket counts (a check that it saw the farm). */
const tcpinfoSockets = Object.fromEntries(['tcpinfoHalf', 'tcpinfoAll'].map((key) => [key, [...(bodies[key] ?? '').matchAll(/^tcpstate_tcpinfo_sockets\{([^}]*)\} (\d+)$/gm)].map((m) => `${m[1]} ${m[2]}`)]));
process.stdout.write(JSON.stringify({ rounds, ms, floorShape, eventLoop, tcpinfoSockets }) + '\n');
cleanup();
process.exit(0);
