// @ts-check
/**
 * The namespace collector's benchmark (issue 11's targets), started by run.mjs for
 * `npm run bench -- --netns=50,110`: a farm of host sockets (default 100k, --netns-host=<size>)
 * in a namespace of its own, then netns-measure.mjs inside that namespace, which makes the
 * namespaces, runs the exporter, the C floor and the /proc way side by side, round by round.
 * Writes bench/results/<date>-netns-<counts>.{md,json} unless --no-write.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Farm, parseSize } from './farm.mjs';

const benchDir = fileURLToPath(new URL('.', import.meta.url));

/** @param {{counts: string, hostSize: string, reps: number, drift: number, warmup?: number, write: boolean}} options */
export async function runNetnsBench(options) {
  const hostSockets = parseSize(options.hostSize);
  const farm = new Farm();
  /** @type {import('node:child_process').ChildProcess | undefined} */
  let inner;
  const cleanup = () => {
    if (inner?.exitCode === null) inner.kill('SIGKILL');
    farm.stop();
  };
  const onSignal = () => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    console.error(`netns bench: building ${hostSockets} host sockets`);
    const t0 = Date.now();
    await farm.start(hostSockets);
    const buildSeconds = (Date.now() - t0) / 1000;
    const dumpBin = join(farm.work, 'netns-dump');
    execFileSync('gcc', ['-O2', '-Wall', '-pthread', '-o', dumpBin, join(benchDir, 'netns-dump.c')], { stdio: 'inherit' });
    const loadBefore = loadAverage();
    // In the farm's namespace, and in a PID namespace of its own (netns-measure.mjs says why); it
    // is the PID namespace's first process, so every process it started ends with it.
    const pidNamespace = ['unshare', '--pid', '--fork', '--kill-child', '--mount-proc'];
    const args = [`--net=/run/netns/${farm.ns}`, ...pidNamespace, process.execPath, join(benchDir, 'netns-measure.mjs'), `--counts=${options.counts}`, `--reps=${options.reps}`, `--drift=${options.drift}`, `--warmup=${options.warmup ?? 40}`, `--dump=${dumpBin}`];
    const out = await new Promise((resolve, reject) => {
      const child = spawn('nsenter', args, { stdio: ['ignore', 'pipe', 'inherit'] });
      inner = child;
      let text = '';
      child.stdout?.on('data', (c) => (text += c));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60 * 60_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(text);
        else reject(new Error(`netns-measure.mjs exited with ${code}`));
      });
    });
    const measured = JSON.parse(/** @type {string} */ (out).trim().split('\n').pop() ?? '');
    const data = {
      date: new Date().toISOString(),
      kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
      node: process.version,
      cpus: cpus().length,
      hostSockets,
      hostAlloc: Number(/^TCP: .*\balloc (\d+)/m.exec(readFileSync('/proc/net/sockstat', 'utf8'))?.[1]),
      hostHashEntries: Math.abs(Number(readFileSync('/proc/sys/net/ipv4/tcp_ehash_entries', 'utf8').trim())),
      buildSeconds,
      loadBefore,
      loadAfter: loadAverage(),
      reps: options.reps,
      ...measured,
    };
    const markdown = renderNetns(data);
    process.stdout.write('\n' + markdown);
    if (options.write) {
      const dir = join(benchDir, 'results');
      mkdirSync(dir, { recursive: true });
      // The host size in the name unless it is the default, so a quick run beside 2k cannot overwrite a 100k one.
      const host = hostSockets === 100_000 ? '' : `-host-${options.hostSize}`;
      const base = join(dir, `${data.date.slice(0, 10)}-netns-${options.counts.replaceAll(',', '-')}${host}`);
      writeFileSync(`${base}.md`, markdown);
      writeFileSync(`${base}.json`, JSON.stringify(data, null, 2) + '\n');
      console.error(`bench: wrote ${base}.md and .json`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    cleanup();
  }
}

const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** @param {number[]} values */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? /** @type {number} */ (sorted[mid]) : (/** @type {number} */ (sorted[mid - 1]) + /** @type {number} */ (sorted[mid])) / 2;
}
/** Median over rounds of a/b within each round: each round runs the contenders back to back. @param {number[]} a @param {number[]} b */
const roundRatio = (a, b) => median(a.map((x, i) => x / /** @type {number} */ (b[i])));

/** The markdown report of one netns run. @param {any} d */
export function renderNetns(d) {
  /** @param {number} x @param {number} digits */
  const f = (x, digits = 0) => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(digits));
  const mark = (/** @type {boolean} */ ok) => (ok ? 'met' : '**missed**');
  const lines = [`# The netns collector beside ${d.hostSockets.toLocaleString('en-US')} host sockets, ${d.date.slice(0, 10)}`, ''];
  lines.push(`Kernel ${d.kernel}, ${d.cpus} CPUs, Node ${d.node}; the host's TCP hash has ${d.hostHashEntries.toLocaleString('en-US')} buckets; host-wide TCP alloc ${d.hostAlloc}; load average ${d.loadBefore} before, ${d.loadAfter} after. ${d.reps} rounds after ${d.results[0]?.warmups ?? 1} warm-up scrape(s) of each exporter; medians (ms), and the median of per-round ratios.`, '');
  lines.push('| namespaces | hash | collector (its own duration) | scrape | C floor (same dumps) | C floor at nice 5 | C floor on two threads | /proc/<pid>/net/tcp{,6} | collector ÷ floor | collector ÷ /proc | C floor ÷ /proc | counters: their reads | counters: C serial preads | counters: C preads on two threads | counters: collector with tables off | C floor of dumps ∥ counters on two threads | max event-loop delay | namespaces dumped (exporter / C) | sockets (exporter / C) |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of d.results) {
    const t = r.times;
    lines.push(
      `| ${r.count} | ${r.ownHash ? 'own' : 'shared'} | ${f(median(t.collector), 1)} | ${f(median(t.scrape), 1)} | ${f(median(t.cFloor), 1)} (+${f(median(t.cOpen), 1)} to open) | ${t.cFloorNice5 === undefined ? '–' : f(median(t.cFloorNice5), 1)} | ${t.cFloorPaired === undefined ? '–' : f(median(t.cFloorPaired), 1)} | ${f(median(t.procfs), 1)} | ${f(roundRatio(t.collector, t.cFloor), 2)} | ${f(roundRatio(t.collector, t.procfs), 2)} | ${f(roundRatio(t.cFloor, t.procfs), 2)} | ${t.countersRead === undefined ? '–' : f(median(t.countersRead), 1)} | ${t.cCounters === undefined ? '–' : f(median(t.cCounters), 1)} | ${t.cCountersPaired === undefined ? '–' : f(median(t.cCountersPaired), 1)} | ${f(median(t.counters), 1)} | ${t.cWhole === undefined ? '–' : f(median(t.cWhole), 1)} | ${f(Math.max(...t.eldMax), 1)} | ${median(t.namespacesExporter)} / ${median(t.namespacesC)} | ${median(t.socketsExporter)} / ${median(t.socketsC)} |`,
    );
  }
  /** Scrapes over 50 ms, and how many of them the idle canary did not share (< 20 ms): those are the exporter's. @param {number[]} own @param {number[]} canary */
  const eldVerdict = (own, canary) => {
    const over = own.filter((x) => x > 50).length;
    const unexplained = own.filter((x, i) => x > 50 && !(/** @type {number} */ (canary[i]) >= 20)).length;
    const verdict = over === 0 ? 'met' : unexplained === 0 ? `**missed** as measured, but the idle canary was delayed alike each time (machine stalls)` : '**missed**';
    return `max ${f(Math.max(...own), 1)} ms (idle canary meanwhile max ${f(Math.max(...canary), 1)} ms), ${over} of ${own.length} scrapes over 50 ms, ${unexplained} of them with the canary under 20 ms; ${verdict}`;
  };
  lines.push('', 'Targets:', '');
  for (const r of d.results) {
    const t = r.times;
    const checks = [];
    if (!r.ownHash) {
      checks.push(`collector ≤ 1.25× the C floor: ${f(roundRatio(t.collector, t.cFloor), 2)}× ${mark(roundRatio(t.collector, t.cFloor) <= 1.25)}`);
      checks.push(`≤ 0.5× the /proc way: ${f(roundRatio(t.collector, t.procfs), 2)}× ${mark(roundRatio(t.collector, t.procfs) <= 0.5)} (the C floor itself: ${f(roundRatio(t.cFloor, t.procfs), 2)}× the /proc way${t.cFloorPaired === undefined ? '' : `; its dumps on two threads at once took ${f(roundRatio(t.cFloorPaired, t.cFloor), 2)}× its time on one`})`);
    } else if (r.count >= 110) checks.push(`whole collector ≤ 20 ms with own hashes: ${f(median(t.collector), 1)} ms (the C floor of its dumps alone: ${f(median(t.cFloor), 1)} ms${t.cWhole === undefined ? '' : `; of its dumps and counter reads on two threads at once: ${f(median(t.cWhole), 1)} ms, the dumps' thread ${f(median(t.cWholeDumps), 1)} and the counters' ${f(median(t.cWholeCounters), 1)}`}) ${mark(median(t.collector) <= 20)}`);
    if (r.count >= 110 && t.countersRead !== undefined) {
      checks.push(`counters ≤ 10 ms: their reads ${f(median(t.countersRead), 1)} ms ${mark(median(t.countersRead) <= 10)} (the same preads in C, serially: ${f(median(t.cCounters), 1)} ms${t.cCountersPaired === undefined ? '' : `, on two threads: ${f(median(t.cCountersPaired), 1)} ms`}; the whole collector with tables off, discovery and registering included: ${f(median(t.counters), 1)} ms)`);
    } else if (r.count >= 110) checks.push(`counters ≤ 10 ms: ${f(median(t.counters), 1)} ms ${mark(median(t.counters) <= 10)}`);
    checks.push(`event loop ≤ 50 ms: ${eldVerdict(t.eldMax, t.canaryMax)}`);
    if (r.drift !== undefined) {
      const drift = r.drift.rssAfterLastMb - r.drift.rssAfterFirstMb;
      const warmup = r.drift.warmupScrapes === undefined ? '' : ` (after ${r.drift.warmupScrapes} such scrapes unmeasured, while V8 sized its heap: RSS ${f(r.drift.rssWarmupMb[0], 0)} → ${f(r.drift.rssAfterFirstMb, 0)} MB)`;
      checks.push(`RSS drift ≤ 20 MB over ${r.drift.scrapes} scrapes with ${r.drift.churnPerScrape} namespaces replaced before each${warmup}: ${f(drift, 1)} MB ${mark(Math.abs(drift) <= 20)}; event loop over them: ${eldVerdict(r.drift.eldMaxMs, r.drift.canaryMaxMs)}`);
    }
    lines.push(`- ${r.count} namespaces, ${r.ownHash ? 'own hash each' : "host's hash shared"}: ${checks.join('; ')}.`);
  }
  if (d.results.some((/** @type {any} */ r) => r.times.cpuMain !== undefined)) {
    lines.push('', "CPU per scrape of the exporter with tables, by thread (ms, from /proc/<pid>/task/*/schedstat around the scrape, so the render included): with two CPUs, a scrape can take no less than half their sum.", '');
    for (const r of d.results) {
      const t = r.times;
      if (t.cpuMain === undefined) continue;
      const sum = t.cpuMain.map((/** @type {number} */ x, /** @type {number} */ i) => x + t.cpuDump[i] + t.cpuCounters[i] + t.cpuOther[i]);
      lines.push(`- ${r.count}/${r.ownHash ? 'own' : 'shared'}: event loop ${f(median(t.cpuMain), 1)}, dump thread ${f(median(t.cpuDump), 1)}, counter reader ${f(median(t.cpuCounters), 1)}, V8 and libuv threads ${f(median(t.cpuOther), 1)}; together ${f(median(sum), 1)}, in a scrape of ${f(median(t.scrape), 1)}.`);
    }
  }
  if (d.results.some((/** @type {any} */ r) => r.warmup !== undefined)) {
    lines.push('', 'The warm-up scrapes of the exporter with tables, back to back (no idle second before each), by tens: the median of its collector time, and of the CPU of V8 and libuv threads (mostly the optimising compiler and the marker) per scrape (ms). Where these settle, the steady state the rounds measure has begun.', '');
    for (const r of d.results) {
      if (r.warmup === undefined) continue;
      const tens = (/** @type {number[]} */ values) => Array.from({ length: Math.ceil(values.length / 10) }, (_, i) => f(median(values.slice(i * 10, i * 10 + 10)), 1)).join(', ');
      lines.push(`- ${r.count}/${r.ownHash ? 'own' : 'shared'}: collector ${tens(r.warmup.collector)}; V8 and libuv threads ${tens(r.warmup.cpuOther)}.`);
    }
  }
  lines.push('', 'Raw per-round figures (ms) in the `.json` beside this file:', '');
  for (const r of d.results) {
    lines.push(`- ${r.count}/${r.ownHash ? 'own' : 'shared'}: ${Object.entries(r.times).map(([k, v]) => `${k} [${v.map((/** @type {number} */ x) => x.toFixed(1)).join(', ')}]`).join('; ')}.`);
  }
  return lines.join('\n') + '\n';
}
