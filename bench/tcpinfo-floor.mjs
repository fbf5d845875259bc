// @ts-check
/**
 * What asking for tcp_info costs the kernel: on a farm of ESTABLISHED pairs in a namespace it
 * makes, times the C floor (netlink-info-dump.c) with and without INET_DIAG_INFO, with a port
 * filter, and the counting dump's request (all states, no extension), interleaved over rounds,
 * and reports medians, bytes per record and the ratios. Needs root, iproute2 and gcc.
 *
 *   node bench/tcpinfo-floor.mjs [--pairs=10000] [--rounds=9]
 *
 * Prints a Markdown table on stdout, one JSON line on stderr.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const flag = (/** @type {string} */ name, /** @type {number} */ fallback) => {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  const value = hit === undefined ? fallback : Number(hit.slice(name.length + 3));
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive whole number`);
  return value;
};
const pairs = flag('pairs', 10_000);
const rounds = flag('rounds', 9);
const benchDir = fileURLToPath(new URL('.', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'tcpinfo-floor-'));
const ns = `tcpinfo-floor-${process.pid}`;
const PAIRS_PER_SHARD = 8000; // 2 fds per pair, under the 20,000-fd limit

const bin = (/** @type {string} */ name) => {
  const out = join(work, name);
  execFileSync('gcc', ['-O2', '-Wall', '-o', out, join(benchDir, `${name}.c`)], { stdio: 'inherit' });
  return out;
};
const farmBin = bin('farm');
const infoBin = bin('netlink-info-dump');

/** @type {import('node:child_process').ChildProcess[]} */
const shards = [];
function cleanup() {
  for (const s of shards) if (s.exitCode === null && s.pid !== undefined) s.kill('SIGKILL');
  try {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  } catch {
    /* already gone */
  }
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

execFileSync('ip', ['netns', 'add', ns]);
execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
const count = Math.ceil(pairs / PAIRS_PER_SHARD);
for (let i = 0; i < count; i++) {
  const established = Math.min(PAIRS_PER_SHARD, pairs - i * PAIRS_PER_SHARD);
  const child = spawn('ip', ['netns', 'exec', ns, farmBin, `--shard=${i + 1}`, `--established=${established}`, '--max-seconds=900'], { stdio: ['pipe', 'pipe', 'inherit'] });
  shards.push(child);
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`farm shard ${i + 1} not ready after 120 s`)), 120_000);
    createInterface({ input: /** @type {import('node:stream').Readable} */ (child.stdout) }).on('line', (line) => {
      if (line.startsWith('READY ')) resolve(clearTimeout(timer));
      else if (line.startsWith('ERROR')) reject(new Error(line));
    });
    child.once('exit', (code) => reject(new Error(`farm shard ${i + 1} exited with ${code}`)));
  });
}

/** Variants, run in this order in every round. [name, binary, args] */
const variants = /** @type {const} */ ([
  ['counting dump: all states, no extension (as netlink-dump.c)', infoBin, ['--all-states', '--no-info', '--time']],
  ['ESTABLISHED, no INET_DIAG_INFO', infoBin, ['--no-info', '--time']],
  ['ESTABLISHED + INET_DIAG_INFO', infoBin, ['--time']],
  ['+ INFO, filter: 4 ports, one matching half the sockets', infoBin, ['--time', '--sport=8080', '--sport=9001', '--dport=9002', '--dport=9003']],
  ['+ INFO, filter: 4 ports matching nothing', infoBin, ['--time', '--sport=9000', '--sport=9001', '--dport=9002', '--dport=9003']],
]);
/** @type {{ ms: number[], cpuMs: number[], sockets: number, bytes: number }[]} */
const results = variants.map(() => ({ ms: [], cpuMs: [], sockets: 0, bytes: 0 }));
for (let r = 0; r < rounds; r++) {
  variants.forEach(([, file, args], i) => {
    const t0 = process.hrtime.bigint();
    const out = execFileSync('ip', ['netns', 'exec', ns, file, ...args], { encoding: 'utf8' }).trim().split(' ').map(Number);
    const wall = Number(process.hrtime.bigint() - t0) / 1e6;
    const result = results[i];
    if (!result) return;
    result.sockets = out[0] ?? 0;
    result.bytes = out[1] ?? 0;
    // The dump's own wall and CPU time, as the binary reports them: no exec of ip netns in them.
    result.ms.push((out[2] ?? wall * 1000) / 1000);
    result.cpuMs.push((out[3] ?? 0) / 1000);
  });
}

const median = (/** @type {number[]} */ xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] ?? 0 : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2;
};
const kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
const base = median(results[1]?.ms ?? []);
const cpuBase = median(results[1]?.cpuMs ?? []);
console.log(`tcp_info dump cost, ${pairs} ESTABLISHED pairs (${2 * pairs} sockets), Linux ${kernel}, median of ${rounds} interleaved rounds\n`);
console.log('| dump | sockets | bytes | bytes/record | median ms | min ms | median CPU ms | vs no-info (wall) | vs no-info (CPU) |');
console.log('|---|---|---|---|---|---|---|---|---|');
variants.forEach(([name], i) => {
  const r = results[i];
  if (!r) return;
  const perRecord = r.sockets > 0 ? (r.bytes / r.sockets).toFixed(1) : '-';
  console.log(`| ${name} | ${r.sockets} | ${r.bytes} | ${perRecord} | ${median(r.ms).toFixed(2)} | ${Math.min(...r.ms).toFixed(2)} | ${median(r.cpuMs).toFixed(2)} | ${(median(r.ms) / base).toFixed(2)}x | ${(median(r.cpuMs) / cpuBase).toFixed(2)}x |`);
});
console.error(JSON.stringify({ pairs, rounds, kernel, results: variants.map(([name], i) => ({ name, ...results[i], median: median(results[i]?.ms ?? []), cpuMedian: median(results[i]?.cpuMs ?? []) })) }));
for (const s of shards) s.stdin?.end();
