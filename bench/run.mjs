// @ts-check
/**
 * Scale benchmark: this exporter against node_exporter's tcpstat, `ss -tan` and a bare C netlink
 * dump, on socket farms of about 10k, 100k and 600k sockets built in a network namespace.
 *
 *   npm run bench                      # all sizes (builds dist/ first)
 *   npm run bench -- --sizes=10k,100k  # a subset
 *   npm run bench -- --netns=50,110    # the netns collector instead (netns-bench.mjs; --netns-host=100k,
 *                                      # --warmup=40 scrapes of each exporter before the rounds)
 *   options: --reps=N (default 9; medians), --drift=N (scrapes for RSS drift, default 100),
 *            --no-write (do not write bench/results/), --render=<results .json> (redo a report),
 *            --baseline=<dir> --baseline-label=<commit> (another built checkout, in the same rounds)
 *
 * Needs root, iproute2, iptables, gcc and prometheus-node-exporter. See bench/README.md.
 * Everything it starts is tracked by PID and killed, and its namespaces deleted, on the way
 * out, on failure and on SIGINT/SIGTERM.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseSize } from './farm.mjs';

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const repo = fileURLToPath(new URL('..', import.meta.url));
const NODE_EXPORTER = '/usr/bin/prometheus-node-exporter';
/** Sockets per farm shard: 2 fds per connection held, under the 20,000-fd hard limit. */
const SHARD_SOCKETS = 17_000;

/** @param {string} name @param {string} fallback */
function flag(name, fallback) {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit === undefined ? fallback : hit.slice(name.length + 3);
}
const sizeLabels = flag('sizes', '10k,100k,600k').split(',').filter(Boolean);
const sizes = sizeLabels.map(parseSize);
const reps = Number(flag('reps', '9'));
const drift = Number(flag('drift', '100'));
const write = !process.argv.includes('--no-write');
// --baseline=<dir>: a built checkout of the commit to compare with (see bench/README.md).
const baseline = flag('baseline', '');
if (baseline !== '' && !existsSync(join(baseline, 'dist/main.js'))) {
  console.error(`bench: --baseline=${baseline} has no dist/main.js; build it first (npm ci && npm run build there)`);
  process.exit(2);
}
// What the report calls the baseline (a commit, say); the directory is this machine's business.
const baselineLabel = flag('baseline-label', baseline === '' ? '' : 'the baseline');
/** Sizes up to this also measure --collector.process (a readlink per descriptor: slow beyond). */
const PROCESS_MAX_SIZE = 200_000;
for (const size of sizes) if (size < 1000 || size > 1_200_000) throw new Error(`size ${size} out of range (1k..1.2M)`);

// --render=<results .json>: redo the report from a run's raw figures, write it next to them.
const renderFrom = flag('render', '');
if (renderFrom !== '') {
  const markdown = render(JSON.parse(readFileSync(renderFrom, 'utf8')));
  writeFileSync(renderFrom.replace(/\.json$/, '.md'), markdown);
  process.stdout.write(markdown);
  process.exit(0);
}

// --netns=50,110: the namespace collector's benchmark (netns-bench.mjs) instead of the sizes.
const netnsCounts = flag('netns', '');
if (netnsCounts !== '') {
  if (process.getuid?.() !== 0) {
    console.error('bench: --netns needs root (it makes network namespaces and sets tcp_child_ehash_entries)');
    process.exit(2);
  }
  const { runNetnsBench } = await import('./netns-bench.mjs');
  const netnsReps = process.argv.some((a) => a.startsWith('--reps=')) ? reps : 5;
  await runNetnsBench({ counts: netnsCounts, hostSize: flag('netns-host', '100k'), reps: netnsReps, drift, warmup: Number(flag('warmup', '40')), write });
  process.exit(0);
}

// ---- preconditions ----
/** @param {string} tool */
const has = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
const missing = [
  ['ip', 'iproute2'],
  ['ss', 'iproute2'],
  ['iptables', 'iptables'],
  ['gcc', 'gcc'],
].filter(([tool]) => !has(/** @type {string} */ (tool)));
if (!existsSync(NODE_EXPORTER)) missing.push([NODE_EXPORTER, 'prometheus-node-exporter']);
if (process.getuid?.() !== 0) {
  console.error('bench: needs root (it creates network namespaces and iptables rules inside them)');
  process.exit(2);
}
if (missing.length > 0) {
  console.error(`bench: missing ${missing.map((m) => m[0]).join(', ')}; apt-get install -y ${[...new Set(missing.map((m) => m[1]))].join(' ')}`);
  process.exit(2);
}
if (!existsSync(join(repo, 'dist/main.js'))) {
  console.error('bench: dist/main.js is missing; run `npm run build` (npm run bench does)');
  process.exit(2);
}

// ---- cleanup bookkeeping ----
/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set();
/** @type {Set<string>} */
const namespaces = new Set();
const work = mkdtempSync(join(tmpdir(), 'tcpstate-bench-'));
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  for (const ns of namespaces) deleteNamespace(ns);
  removeCgroups();
  rmSync(work, { recursive: true, force: true });
}

/**
 * Kills what still runs in one of our namespaces (only our descendants can be there: the
 * exporters measure.mjs started, if it died first), then deletes it.
 * @param {string} ns
 */
function deleteNamespace(ns) {
  const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout?.split('\n').filter(Boolean).map(Number) ?? [];
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  namespaces.delete(ns);
}
process.on('exit', cleanup);
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(signal, () => {
    console.error(`bench: ${signal}, cleaning up`);
    cleanup();
    process.exit(130);
  });
}

// ---- cgroups for the farm's shards ----
// The cgroup collector names sockets by the cgroup of the process that made them, so the shards
// sit in a few cgroups named as systemd, Docker and kubelet + containerd name theirs (round robin),
// below one directory of this run that cleanup() removes, children first.
const cgroupMount = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((line) => line.split(' ')).find((f) => f[f.indexOf('-') + 1] === 'cgroup2')?.[4];
if (cgroupMount === undefined) {
  console.error('bench: needs a cgroup v2 mount (the farm shards are placed in cgroups)');
  process.exit(2);
}
const cgroupBase = join(cgroupMount, `tcpstate-bench-${process.pid}`);
const POD_SLICE = 'kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0b1c2d3e_4f50_4a6b_8c7d_9e0f1a2b3c4d.slice';
const FARM_CGROUPS = ['system.slice/farm.service', `system.slice/docker-${'d0'.repeat(32)}.scope`, `${POD_SLICE}/cri-containerd-${'a1'.repeat(32)}.scope`, `${POD_SLICE}/cri-containerd-${'e2'.repeat(32)}.scope`];
/** @type {string[]} */
const madeCgroups = [];
for (const relative of FARM_CGROUPS) {
  let dir = cgroupBase;
  for (const part of ['', ...relative.split('/')]) {
    dir = part === '' ? dir : join(dir, part);
    if (!existsSync(dir)) {
      mkdirSync(dir);
      madeCgroups.push(dir);
    }
  }
}
function removeCgroups() {
  for (const dir of [...madeCgroups].sort((a, b) => b.length - a.length)) {
    try {
      rmdirSync(dir);
    } catch {
      /* still busy: a killed shard leaves its cgroup a moment after exit */
      spawnSync('sleep', ['0.2']);
      try {
        rmdirSync(dir);
      } catch (error) {
        console.error(`bench: could not remove ${dir}: ${/** @type {Error} */ (error).message}`);
      }
    }
  }
  madeCgroups.length = 0;
}

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** @param {string} ns @param {string[]} args */
const inNs = (ns, args) => execFileSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 512 * 1024 * 1024 });

/** Host-wide TCP sockets allocated (sockstat `alloc` counts every namespace). */
function hostTcpAlloc() {
  const m = /^TCP: .*\balloc (\d+)/m.exec(readFileSync('/proc/net/sockstat', 'utf8'));
  return m ? Number(m[1]) : NaN;
}

// ---- build the C helpers ----
const farmBin = join(work, 'farm');
const dumpBin = join(work, 'netlink-dump');
execFileSync('gcc', ['-O2', '-Wall', '-o', farmBin, join(benchDir, 'farm.c')], { stdio: 'inherit' });
execFileSync('gcc', ['-O2', '-Wall', '-o', dumpBin, join(benchDir, 'netlink-dump.c')], { stdio: 'inherit' });

/**
 * How one farm of `size` sockets is spread over shards, and what each shard opens. Mostly
 * ESTABLISHED pairs; about 1% CLOSE_WAIT+FIN_WAIT2, 1% TIME_WAIT, 0.2% each of SYN_SENT+SYN_RECV,
 * FIN_WAIT1 and LAST_ACK, and a few unaccepted connections per shard (a non-empty accept queue).
 * @param {number} size
 */
function farmPlan(size) {
  const shards = Math.ceil(size / SHARD_SOCKETS);
  const budget = size / shards;
  const half = Math.max(1, Math.round(budget * 0.001));
  const cw = Math.max(1, Math.round(budget * 0.005));
  const fw1 = Math.max(1, Math.round(budget * 0.001));
  const la = Math.max(1, Math.round(budget * 0.001));
  const tw = Math.max(1, Math.round(budget * 0.01));
  const queued = 10;
  const listeners = 7;
  const established = Math.floor((budget - 2 * (half + cw + fw1 + la + queued) - tw - listeners) / 2);
  return { shards, perShard: { established, closeWait: cw, finWait1: fw1, lastAck: la, halfOpen: half, timeWait: tw, queued } };
}

/**
 * A namespace with loopback up, the sysctls that keep the transient states alive for the length
 * of a run, and the drop rules that hold them (see farm.c for the ports).
 * @param {string} ns
 */
function makeNamespace(ns) {
  execFileSync('ip', ['netns', 'add', ns]);
  namespaces.add(ns);
  inNs(ns, ['ip', 'link', 'set', 'lo', 'up']);
  inNs(ns, ['sysctl', '-qw', 'net.ipv4.tcp_syn_retries=12', 'net.ipv4.tcp_synack_retries=12', 'net.ipv4.tcp_orphan_retries=12', 'net.core.somaxconn=65535']);
  const rules = [
    // FIN_WAIT1: the client's FIN to 8091 never arrives.
    ['-A', 'OUTPUT', '-o', 'lo', '-p', 'tcp', '--dport', '8091', '--tcp-flags', 'FIN', 'FIN', '-j', 'DROP'],
    // LAST_ACK: the server's FIN from 8092 never arrives.
    ['-A', 'OUTPUT', '-o', 'lo', '-p', 'tcp', '--sport', '8092', '--tcp-flags', 'FIN', 'FIN', '-j', 'DROP'],
    // SYN_SENT + SYN_RECV: SYN-ACKs from 8093 are lost on the client's INPUT (dropping them on
    // the server's OUTPUT would make the kernel free the request socket at its first timer).
    ['-A', 'INPUT', '-i', 'lo', '-p', 'tcp', '--sport', '8093', '--tcp-flags', 'SYN,ACK', 'SYN,ACK', '-j', 'DROP'],
  ];
  for (const rule of rules) inNs(ns, ['iptables', '-w', ...rule]);
}

/**
 * Starts the shards and resolves when all printed READY.
 * @param {string} ns @param {ReturnType<typeof farmPlan>} plan
 */
async function startFarm(ns, plan) {
  const p = plan.perShard;
  const args = [
    `--established=${p.established}`,
    `--close-wait=${p.closeWait}`,
    `--fin-wait1=${p.finWait1}`,
    `--last-ack=${p.lastAck}`,
    `--half-open=${p.halfOpen}`,
    `--time-wait=${p.timeWait}`,
    `--queued=${p.queued}`,
    '--max-seconds=3600',
  ];
  const timeoutMs = 60_000 + plan.shards * 15_000;
  /** @type {import('node:child_process').ChildProcess[]} */
  const shards = [];
  const ready = [];
  // Two at a time (two cores): each shard connects and accepts in a tight loop.
  for (let i = 0; i < plan.shards; i++) {
    // The shell joins the shard's cgroup before it execs, so every socket the shard makes is tagged with it.
    const procs = join(cgroupBase, /** @type {string} */ (FARM_CGROUPS[i % FARM_CGROUPS.length]), 'cgroup.procs');
    const child = spawn('sh', ['-c', 'echo $$ > "$0" && exec "$@"', procs, 'ip', 'netns', 'exec', ns, farmBin, `--shard=${i + 1}`, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.add(child);
    shards.push(child);
    const lines = createInterface({ input: /** @type {import('node:stream').Readable} */ (child.stdout) });
    const one = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`farm shard ${i + 1} not ready after ${timeoutMs} ms`)), timeoutMs);
      lines.on('line', (line) => {
        if (line.startsWith('READY ')) {
          clearTimeout(timer);
          resolve(JSON.parse(line.slice(6)));
        } else if (line.startsWith('ERROR')) {
          clearTimeout(timer);
          reject(new Error(`farm shard ${i + 1}: ${line}`));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`farm shard ${i + 1} exited with ${code}`));
      });
    });
    one.catch(() => undefined); // rejections are reported by Promise.all below
    ready.push(one);
    if (i % 2 === 1) await one;
  }
  await Promise.all(ready);
  return shards;
}

/** @param {import('node:child_process').ChildProcess[]} shards */
async function stopFarm(shards) {
  for (const child of shards) child.stdin?.end();
  const deadline = Date.now() + 30_000;
  while (shards.some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline) await sleep(100);
  for (const child of shards) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    children.delete(child);
  }
}

/** Waits (bounded) until sockets left by an earlier farm are gone: they slow every dump. @param {number} baseline */
async function waitForQuietHost(baseline) {
  const deadline = Date.now() + 180_000;
  while (hostTcpAlloc() > baseline + 2000 && Date.now() < deadline) await sleep(1000);
}

/** @param {string} ns @param {number} size */
function measure(ns, size) {
  const optional = [...(baseline === '' ? [] : [`--baseline=${baseline}`]), ...(size <= PROCESS_MAX_SIZE ? ['--process'] : [])];
  return new Promise((resolve, reject) => {
    // nsenter, not ip netns exec: the latter remounts /sys, which hides the cgroup2 mount.
    const child = spawn('nsenter', [`--net=/run/netns/${ns}`, process.execPath, join(benchDir, 'measure.mjs'), `--reps=${reps}`, `--drift=${drift}`, `--dump=${dumpBin}`, `--node-exporter=${NODE_EXPORTER}`, ...optional], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.add(child);
    let out = '';
    child.stdout?.on('data', (c) => (out += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30 * 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      children.delete(child);
      if (code !== 0) return reject(new Error(`measure.mjs exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? ''));
      } catch (error) {
        reject(new Error(`measure.mjs printed no JSON: ${out.slice(0, 500)}`));
      }
    });
  });
}

// ---- run ----
const baselineAlloc = hostTcpAlloc();
/** @type {any[]} */
const results = [];
for (let s = 0; s < sizes.length; s++) {
  const size = /** @type {number} */ (sizes[s]);
  await waitForQuietHost(baselineAlloc);
  const ns = `tcpstate-bench-${process.pid}-${s}`;
  const plan = farmPlan(size);
  console.error(`bench: ${sizeLabels[s]}: building ${plan.shards} shard(s) in ${ns} (host TCP alloc before: ${hostTcpAlloc()})`);
  makeNamespace(ns);
  const t0 = Date.now();
  const shards = await startFarm(ns, plan);
  const buildSeconds = (Date.now() - t0) / 1000;
  const states = inNs(ns, ['ss', '-tanH']).split('\n').filter(Boolean).reduce((acc, line) => {
    const state = line.split(/\s+/)[0] ?? '?';
    acc[state] = (acc[state] ?? 0) + 1;
    return acc;
  }, /** @type {Record<string, number>} */ ({}));
  console.error(`bench: ${sizeLabels[s]}: farm ready in ${buildSeconds.toFixed(1)} s: ${JSON.stringify(states)}`);
  const hostAlloc = hostTcpAlloc();
  // Other work on the machine shows up in every figure; say how busy it was.
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  try {
    const m = /** @type {any} */ (await measure(ns, size));
    const loadAfter = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    results.push({ label: sizeLabels[s], size, plan, buildSeconds, states, hostAlloc, loadBefore, loadAfter, ...m });
    console.error(`bench: ${sizeLabels[s]}: ${JSON.stringify(m.medianMs)}`);
  } finally {
    await stopFarm(shards);
    deleteNamespace(ns);
  }
}

// ---- report ----
const data = {
  date: new Date().toISOString(),
  kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
  node: process.version,
  machine: machineInfo(),
  reps,
  drift,
  baseline: baseline === '' ? undefined : baselineLabel,
  results,
};
const markdown = render(data);
process.stdout.write('\n' + markdown);
if (write) {
  const dir = join(benchDir, 'results');
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${data.date.slice(0, 10)}-${sizeLabels.join('-')}`);
  writeFileSync(`${base}.md`, markdown);
  writeFileSync(`${base}.json`, JSON.stringify(data, null, 2) + '\n');
  console.error(`bench: wrote ${base}.md and .json`);
}

/** CPUs, memory and node_exporter's version, for the report. */
function machineInfo() {
  const version = ((r) => r.stdout + r.stderr)(spawnSync(NODE_EXPORTER, ['--version'], { encoding: 'utf8' }));
  return {
    cpus: cpus().length,
    model: cpus()[0]?.model ?? '?',
    memGiB: Math.round(totalmem() / 2 ** 30),
    nodeExporter: version.split('\n')[0]?.replace(/^node_exporter, version /, '') ?? '?',
  };
}

/**
 * The markdown report of one run (also `--render=<file>.json` to redo it from the raw figures).
 * Pass/fail on the speed targets uses the median of per-round ratios: each round runs the
 * contenders back to back, so a ratio within a round compares like with like even when the
 * machine's speed drifts or flips between two modes over the run (seen here: ±40% on a shared
 * 2-vCPU VM), where a ratio of two medians can land on different modes.
 * @param {any} d
 */
function render(d) {
  const machine = d.machine ?? machineInfo();
  /** @param {number} x @param {number} digits */
  const f = (x, digits = 0) => (x === null || x === undefined || Number.isNaN(x) ? '–' : x.toFixed(digits));
  /** @param {boolean} ok */
  const mark = (ok) => (ok ? 'met' : '**missed**');
  /** Median over rounds of a/b within each round. @param {number[]} a @param {number[]} b */
  const roundRatio = (a, b) => {
    const r = a.map((x, i) => x / /** @type {number} */ (b[i])).sort((x, y) => x - y);
    const mid = r.length >> 1;
    return r.length % 2 ? /** @type {number} */ (r[mid]) : (/** @type {number} */ (r[mid - 1]) + /** @type {number} */ (r[mid])) / 2;
  };
  const labels = d.results.map((/** @type {any} */ r) => r.label);
  const lines = [];
  lines.push(`# tcpstate-exporter benchmark, ${d.date.slice(0, 10)}`);
  lines.push('');
  lines.push(`Kernel ${d.kernel}, ${machine.cpus} CPUs (${machine.model}), ${machine.memGiB} GiB, Node ${d.node}, node_exporter ${machine.nodeExporter}.`);
  lines.push(
    `Medians of ${d.reps} interleaved rounds; exporter flags \`--collector.disable-defaults --collector.sockets\` (the counterpart of node_exporter's \`--collector.disable-defaults --collector.tcpstat\`). Command: \`npm run bench -- --sizes=${labels.join(',')}\`.`,
  );
  lines.push('');
  lines.push(
    `| sockets (dump) | exporter netlink | exporter procfs | node_exporter | \`ss -tan\` | C dump (floor) | C dump, per family | netlink ÷ node_exporter | netlink ÷ floor | peak RSS netlink | peak RSS procfs | peak RSS node_exporter | max event-loop delay in a scrape (netlink) | RSS drift over ${d.drift} scrapes |`,
  );
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of d.results) {
    const m = r.medianMs;
    const t = r.timesMs;
    lines.push(
      `| ${r.sockets.dump.toLocaleString('en-US')} | ${f(m.netlink)} ms | ${f(m.procfs)} ms | ${f(m.nodeExporter)} ms | ${f(m.ss)} ms | ${f(m.dump)} ms | ${f(m.dumpPerFamily)} ms | ${f(roundRatio(t.netlink, t.nodeExporter), 2)} | ${f(roundRatio(t.netlink, t.dump), 2)} | ${f(r.memoryMb.netlink.hwmMb)} MB | ${f(r.memoryMb.procfs.hwmMb)} MB | ${f(r.memoryMb.nodeExporter.hwmMb)} MB | ${f(r.eventLoopDelay.duringScrapeMaxMs, 1)} ms | ${f(r.drift.rssAfterLastMb - r.drift.rssAfterFirstMb, 1)} MB |`,
    );
  }
  if (d.results.some((/** @type {any} */ r) => r.timesMs.baseline !== undefined || r.timesMs.netlinkProcess !== undefined)) {
    lines.push('');
    lines.push(`This change against ${d.baseline ?? 'the baseline'}, in the same rounds (median of per-round ratios; both started and scraped alike, every other round in reverse order):`);
    lines.push('');
    lines.push('| sockets | this change | baseline | this ÷ baseline | this ÷ floor | baseline ÷ floor | with --collector.process: this | baseline | this ÷ baseline | peak RSS this / baseline |');
    lines.push('|---|---|---|---|---|---|---|---|---|---|');
    for (const r of d.results) {
      const m = r.medianMs;
      const t = r.timesMs;
      const ratio = (/** @type {string} */ a, /** @type {string} */ b) => (t[a] && t[b] ? f(roundRatio(t[a], t[b]), 2) : '–');
      const ms = (/** @type {string} */ k) => (m[k] === undefined ? '–' : `${f(m[k])} ms`);
      // 'current': this build started like the baseline (results before it have only 'netlink').
      const self = t.current === undefined ? 'netlink' : 'current';
      const selfRss = r.memoryMb[self]?.hwmMb;
      lines.push(
        `| ${r.sockets.dump.toLocaleString('en-US')} | ${ms(self)} | ${ms('baseline')} | ${ratio(self, 'baseline')} | ${ratio(self, 'dump')} | ${ratio('baseline', 'dump')} | ${ms('netlinkProcess')} | ${ms('baselineProcess')} | ${ratio('netlinkProcess', 'baselineProcess')} | ${f(selfRss)} / ${r.memoryMb.baseline ? f(r.memoryMb.baseline.hwmMb) : '–'} MB |`,
      );
    }
  }
  if (d.results.some((/** @type {any} */ r) => r.timesMs.defaultOn !== undefined)) {
    lines.push('');
    lines.push('The default scrape (every default collector) with the cgroup owner collector and with `--no-collector.cgroup`, in the same rounds; each collector\'s own cost is the median of per-round differences (on − off; `--collector.process` − the sockets-only scrape):');
    lines.push('');
    lines.push('| sockets | default, cgroup on | default, cgroup off | on ÷ off | cgroup collector cost | process collector cost | cgroup ÷ process cost | peak RSS on / off |');
    lines.push('|---|---|---|---|---|---|---|---|');
    for (const r of d.results) {
      const m = r.medianMs;
      const t = r.timesMs;
      /** Median over rounds of a − b. @param {number[]} a @param {number[]} b */
      const roundDiff = (a, b) => {
        const v = a.map((x, i) => x - /** @type {number} */ (b[i])).sort((x, y) => x - y);
        const mid = v.length >> 1;
        return v.length % 2 ? /** @type {number} */ (v[mid]) : (/** @type {number} */ (v[mid - 1]) + /** @type {number} */ (v[mid])) / 2;
      };
      const cgroupCost = t.defaultOn && t.defaultOff ? roundDiff(t.defaultOn, t.defaultOff) : NaN;
      const processCost = t.netlinkProcess ? roundDiff(t.netlinkProcess, t.netlink) : NaN;
      lines.push(
        `| ${r.sockets.dump.toLocaleString('en-US')} | ${f(m.defaultOn)} ms | ${f(m.defaultOff)} ms | ${t.defaultOn && t.defaultOff ? f(roundRatio(t.defaultOn, t.defaultOff), 3) : '–'} | ${f(cgroupCost, 1)} ms | ${Number.isNaN(processCost) ? '–' : `${f(processCost)} ms`} | ${Number.isNaN(processCost) ? '–' : f(cgroupCost / processCost, 3)} | ${f(r.memoryMb.defaultOn?.hwmMb)} / ${f(r.memoryMb.defaultOff?.hwmMb)} MB |`,
      );
    }
  }
  lines.push('');
  lines.push('Ratios are medians of the per-round ratios (each round runs every contender back to back); the ratio of the two medians is given in the targets below as well.');
  lines.push('');
  lines.push('Targets (from the design document):');
  lines.push('');
  for (const r of d.results) {
    const m = r.medianMs;
    const t = r.timesMs;
    const both = (/** @type {number[]} */ a, /** @type {number[]} */ b, /** @type {number} */ ma, /** @type {number} */ mb) => `${f(roundRatio(a, b), 2)}× (ratio of medians ${f(ma / mb, 2)}×)`;
    const checks = [];
    if (r.size >= 50_000 && r.size < 300_000) checks.push(`scrape ≤ 0.8× node_exporter: ${both(t.netlink, t.nodeExporter, m.netlink, m.nodeExporter)} ${mark(roundRatio(t.netlink, t.nodeExporter) <= 0.8)}`);
    if (r.size >= 300_000) {
      checks.push(`scrape ≤ 0.6× node_exporter: ${both(t.netlink, t.nodeExporter, m.netlink, m.nodeExporter)} ${mark(roundRatio(t.netlink, t.nodeExporter) <= 0.6)}`);
      checks.push(`scrape ≤ 1.25× C floor: ${both(t.netlink, t.dump, m.netlink, m.dump)} ${mark(roundRatio(t.netlink, t.dump) <= 1.25)}`);
      checks.push(`peak RSS ≤ 150 MB: ${f(r.memoryMb.netlink.hwmMb)} MB ${mark(r.memoryMb.netlink.hwmMb <= 150)}`);
    }
    {
      const e = r.eventLoopDelay;
      const own = [...e.perScrapeMaxMs.netlink, ...e.perScrapeMaxMs.netlinkDrift];
      const canary = [...e.perScrapeMaxMs.netlinkCanary, ...e.perScrapeMaxMs.netlinkDriftCanary];
      const over = own.filter((x) => x > 50).length;
      // Scrapes over 50 ms while the idle canary stayed under 20 ms: delays the machine does not explain.
      const unexplained = own.filter((x, i) => x > 50 && /** @type {number} */ (canary[i]) < 20).length;
      const verdict =
        over === 0 ? 'met' : unexplained === 0 ? `**missed** as measured, but every one of those ${over} delays hit the idle canary alike: machine stalls, not the exporter's work` : '**missed**';
      checks.push(
        `event loop blocked ≤ 50 ms during a scrape: max ${f(e.duringScrapeMaxMs, 1)} ms over ${own.length} scrapes, ${over} over 50 ms, ${unexplained} of them while the idle canary stayed under 20 ms (canary max ${f(e.canaryDuringScrapeMaxMs, 1)} ms); ${verdict}`,
      );
    }
    const driftMb = r.drift.rssAfterLastMb - r.drift.rssAfterFirstMb;
    checks.push(`RSS drift ≤ 20 MB over ${r.drift.scrapes} scrapes: ${f(driftMb, 1)} MB ${mark(Math.abs(driftMb) <= 20)}`);
    lines.push(`- ${r.label} (${r.sockets.dump.toLocaleString('en-US')} sockets): ${checks.join('; ')}.`);
  }
  lines.push('');
  lines.push('Farms (per-state counts from `ss -tan` right after the build; host-wide TCP `alloc` from /proc/net/sockstat during the run; /proc/loadavg around the measurement):');
  lines.push('');
  for (const r of d.results) {
    lines.push(
      `- ${r.label}: ${r.plan.shards} shard(s), built in ${f(r.buildSeconds, 1)} s, host alloc ${r.hostAlloc}, load average ${r.loadBefore} before / ${r.loadAfter} after; exporter counted ${r.sockets.exporterNetlink} (netlink) / ${r.sockets.exporterProcfs} (procfs); ${Object.entries(r.states)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}.`,
    );
  }
  lines.push('');
  lines.push('Raw times (ms), in round order:');
  lines.push('');
  for (const r of d.results) {
    const e = r.eventLoopDelay.perScrapeMaxMs;
    const list = (/** @type {number[]} */ v) => `[${v.map((x) => x.toFixed(0)).join(', ')}]`;
    lines.push(
      `- ${r.label}: ${Object.entries(r.timesMs)
        .map(([k, v]) => `${k} ${list(/** @type {number[]} */ (v))}`)
        .join('; ')}; event-loop delay per netlink scrape, max ms, rounds then drift ${list(e.netlink)} ${list(e.netlinkDrift)}, and the idle canary's meanwhile ${list(e.netlinkCanary)} ${list(e.netlinkDriftCanary)}; drift ${JSON.stringify(r.drift)}.`,
    );
  }
  return lines.join('\n') + '\n';
}
