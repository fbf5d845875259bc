// @ts-check
/**
 * The tcpinfo collector's benchmark: on N ESTABLISHED pairs in a namespace it makes (farm.c),
 * side by side in one run, interleaved rounds, ratios per round: the exporter's scrape with
 * --collector.tcpinfo, the C floor making the same INET_DIAG_INFO dump with the same port filter
 * (netlink-info-dump.c), node_exporter's tcpstat, and the default scrape with the collector off and
 * on (and, with --baseline, the default scrape of another built checkout). See
 * bench/tcpinfo-measure.mjs for the contenders. Needs root, iproute2, gcc, prometheus-node-exporter
 * and `npm run build`.
 *
 *   node bench/tcpinfo.mjs [--pairs=10000] [--rounds=7] [--baseline=DIR --baseline-label=COMMIT] [--no-write]
 *
 * Writes bench/results/<date>-tcpinfo-<size>.{md,json}. Everything it starts is killed by PID and
 * its namespace deleted, on the way out, on failure and on SIGINT/SIGTERM.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** @param {string} name @param {string} fallback */
const flag = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const pairs = Number(flag('pairs', '10000'));
const rounds = Number(flag('rounds', '7'));
const baseline = flag('baseline', '');
const baselineLabel = flag('baseline-label', baseline === '' ? '' : 'the baseline');
const write = !process.argv.includes('--no-write');
if (!Number.isInteger(pairs) || pairs < 100 || pairs > 300_000) throw new Error('--pairs must be a whole number in 100..300000');
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new Error('--rounds must be a whole number in 1..50');
const benchDir = fileURLToPath(new URL('.', import.meta.url));
const NODE_EXPORTER = '/usr/bin/prometheus-node-exporter';
if (process.getuid?.() !== 0) throw new Error('bench/tcpinfo.mjs needs root (it creates a network namespace)');
if (!existsSync(NODE_EXPORTER)) throw new Error(`${NODE_EXPORTER} is missing: apt-get install -y prometheus-node-exporter`);
if (!existsSync(join(benchDir, '../dist/main.js'))) throw new Error('dist/main.js is missing: run npm run build');
if (baseline !== '' && !existsSync(join(baseline, 'dist/main.js'))) throw new Error(`--baseline=${baseline} has no dist/main.js`);

const work = mkdtempSync(join(tmpdir(), 'tcpinfo-bench-'));
const ns = `tcpinfo-bench-${process.pid}`;
const PAIRS_PER_SHARD = 8000; // 2 fds per pair, under the 20,000-fd limit
/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set();
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const c of children) if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) c.kill('SIGKILL');
  try {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  } catch {
    /* not made yet, or gone */
  }
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) process.on(signal, () => (cleanup(), process.exit(130)));

const bin = (/** @type {string} */ name) => {
  const out = join(work, name);
  execFileSync('gcc', ['-O2', '-Wall', '-o', out, join(benchDir, `${name}.c`)], { stdio: 'inherit' });
  return out;
};
const farmBin = bin('farm');
const floorBin = bin('netlink-info-dump');

execFileSync('ip', ['netns', 'add', ns]);
execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
const shardCount = Math.ceil(pairs / PAIRS_PER_SHARD);
for (let i = 0; i < shardCount; i++) {
  const established = Math.min(PAIRS_PER_SHARD, pairs - i * PAIRS_PER_SHARD);
  const child = spawn('ip', ['netns', 'exec', ns, farmBin, `--shard=${i + 1}`, `--established=${established}`, '--max-seconds=1800'], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(child);
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`farm shard ${i + 1} not ready after 120 s`)), 120_000);
    createInterface({ input: /** @type {import('node:stream').Readable} */ (child.stdout) }).on('line', (line) => {
      if (line.startsWith('READY ')) resolve(clearTimeout(timer));
      else if (line.startsWith('ERROR')) reject(new Error(line));
    });
    child.once('exit', (code) => reject(new Error(`farm shard ${i + 1} exited with ${code}`)));
  });
}
const established = execFileSync('ip', ['netns', 'exec', ns, 'ss', '-tanH', 'state', 'established'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }).split('\n').filter(Boolean).length;
const loadBefore = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.error(`tcpinfo bench: ${established} ESTABLISHED sockets in ${ns}; load ${loadBefore}; ${rounds} rounds`);

const measured = await new Promise((resolve, reject) => {
  const args = [join(benchDir, 'tcpinfo-measure.mjs'), `--rounds=${rounds}`, `--floor=${floorBin}`, `--node-exporter=${NODE_EXPORTER}`, ...(baseline === '' ? [] : [`--baseline=${baseline}`])];
  const child = spawn('nsenter', [`--net=/run/netns/${ns}`, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  let out = '';
  child.stdout?.on('data', (c) => (out += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30 * 60_000);
  child.on('exit', (code) => {
    clearTimeout(timer);
    if (code !== 0) return reject(new Error(`tcpinfo-measure.mjs exited with ${code}`));
    resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}'));
  });
});
const loadAfter = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
for (const c of children) c.stdin?.end();

const data = { date: new Date().toISOString(), kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(), node: process.version, cpus: cpus().length, pairs, established, loadBefore, loadAfter, baseline: baselineLabel || undefined, ...(/** @type {object} */ (measured)) };
const markdown = render(/** @type {any} */ (data));
process.stdout.write(markdown);
if (write) {
  const dir = join(benchDir, 'results');
  mkdirSync(dir, { recursive: true });
  const size = established >= 1000 ? `${Math.round(established / 1000)}k` : String(established);
  const base = join(dir, `${data.date.slice(0, 10)}-tcpinfo-${size}`);
  writeFileSync(`${base}.md`, markdown);
  writeFileSync(`${base}.json`, JSON.stringify(data, null, 2) + '\n');
  console.error(`tcpinfo bench: wrote ${base}.md and .json`);
}

/** @param {{date: string, kernel: string, node: string, cpus: number, established: number, rounds: number, loadBefore: string, loadAfter: string, baseline?: string, ms: Record<string, number[]>, floorShape: Record<string, {records: number, bytes: number}>, eventLoop: Record<string, {maxMs: number}>}} d */
function render(d) {
  const median = (/** @type {number[]} */ xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] ?? NaN : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
  };
  const perRound = (/** @type {string} */ a, /** @type {string} */ b) => median((d.ms[a] ?? []).map((x, i) => x / (d.ms[b]?.[i] ?? NaN)));
  const f = (/** @type {number} */ x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
  const shape = (/** @type {string} */ k) => d.floorShape[k] ?? { records: 0, bytes: 0 };
  const perRecord = (/** @type {string} */ k) => (shape(k).records > 0 ? f(shape(k).bytes / shape(k).records, 0) : '–');
  const rows = [
    ['tcpinfoHalf', 'exporter, --collector.tcpinfo alone: 7 listening + 3 remote ports (filter matches the server half)'],
    ['floorHalf', 'C floor, same INET_DIAG_INFO dump and filter (wall; CPU in the next row)'],
    ['floorHalfCpu', 'C floor, CPU time of that dump'],
    ['tcpinfoAll', 'exporter, --collector.tcpinfo alone: remote ports 8080,9002,9003 (filter matches every socket)'],
    ['floorAll', 'C floor, same dump and filter (wall)'],
    ['floorAllCpu', 'C floor, CPU time of that dump'],
    ['nodeExporter', 'node_exporter --collector.tcpstat (tcp_info of every socket)'],
    ['defaultOff', 'default scrape (netns collector off), tcpinfo off'],
    ['defaultOn', 'the same with --collector.tcpinfo (half)'],
    ...(d.ms.baseline === undefined ? [] : [['baseline', `default scrape of ${d.baseline}, tcpinfo off`]]),
  ];
  const ratios = [
    ['tcpinfo scrape ÷ C floor, half matched', perRound('tcpinfoHalf', 'floorHalf'), '≤ 1.25'],
    ['tcpinfo scrape ÷ C floor, all matched', perRound('tcpinfoAll', 'floorAll'), '≤ 1.25'],
    ['tcpinfo scrape (half) ÷ node_exporter tcpstat', perRound('tcpinfoHalf', 'nodeExporter'), '≤ 1'],
    ['tcpinfo scrape (all) ÷ node_exporter tcpstat', perRound('tcpinfoAll', 'nodeExporter'), '≤ 1'],
    ['default scrape + tcpinfo ÷ default scrape', perRound('defaultOn', 'defaultOff'), 'what tcpinfo adds'],
    ...(d.ms.baseline === undefined ? [] : [[`default scrape ÷ ${d.baseline}'s`, perRound('defaultOff', 'baseline'), '≈ 1 (unchanged)']]),
  ];
  return [
    `# tcpinfo collector benchmark, ${d.date.slice(0, 10)}`,
    '',
    `${d.established} ESTABLISHED sockets (farm.c pairs on port 8080; listeners 8080, 8090-8095), Linux ${d.kernel}, ${d.cpus} CPUs, Node ${d.node}; ${d.rounds} interleaved rounds; load average ${d.loadBefore} before, ${d.loadAfter} after.`,
    '',
    '| contender | median ms | min ms |',
    '|---|---|---|',
    ...rows.map(([k, name]) => `| ${name} | ${f(median(d.ms[k ?? ''] ?? []))} | ${f(Math.min(...(d.ms[k ?? ''] ?? [])))} |`),
    '',
    '| ratio (median of per-round ratios) | value | target |',
    '|---|---|---|',
    ...ratios.map(([name, v, target]) => `| ${name} | ${f(/** @type {number} */ (v), 2)}x | ${target} |`),
    '',
    `Bytes per record of the INET_DIAG_INFO dump: ${perRecord('floorHalf')} (half: ${shape('floorHalf').records} records, ${shape('floorHalf').bytes} bytes; all: ${shape('floorAll').records} records, ${shape('floorAll').bytes} bytes).`,
    `Event loop, longest delay during the rounds: ${f(d.eventLoop.tcpinfoHalf?.maxMs ?? NaN)} ms (half), ${f(d.eventLoop.tcpinfoAll?.maxMs ?? NaN)} ms (all).`,
    '',
  ].join('\n');
}
