// @ts-check
/**
 * The namespace collector's benchmark, inner half: run by netns-bench.mjs inside the namespace of
 * the host-socket farm (through `nsenter --net`), so that the farm's namespace is the exporter's
 * own (not dumped) and its sockets weigh on every other namespace's dump through the shared hash,
 * and in a PID namespace of its own (`unshare --pid --mount-proc`), so that the exporter finds the
 * bench's namespaces and no other: the machine's own namespace, seen from the farm's, would be one
 * more, whose dump walks the kernel's one hash with every farm socket in it (43-47 ms beside 100k),
 * with hashes of their own too. For each namespace count and each hash variant it makes the
 * namespaces (netns-farm.py, from this namespace), then per round, one after the other: a scrape of the exporter
 * with only the netns collector (tables over netlink), one with --collector.netns.tables=off (the
 * counters alone, and their read phase as the collector reports it), the C floor of the same
 * per-namespace dumps (also at the dump thread's nice 5, and on two threads at once), the /proc way, the C floor of the counter reads (serial preads, and on two
 * threads), and, with own hashes, the C floor of the dumps and the counter reads on two threads at
 * once (the whole collector's kernel work on two CPUs). Then, once, `--drift` scrapes while namespaces come and go (after as many unmeasured), at the first count
 * with own hashes. Prints one JSON line.
 *
 *   node netns-measure.mjs --counts=50,110 --reps=5 --warmup=40 --drift=100 --dump=<netns-dump>
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { THREAD_NAMES } from '../dist/kernel/thread-name.js';

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const exporterMain = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const eldPreload = join(benchDir, 'eld-preload.mjs');
/** @param {string} name @param {string} fallback */
const flag = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const counts = flag('counts', '50,110').split(',').map(Number);
const reps = Number(flag('reps', '5'));
const driftScrapes = Number(flag('drift', '100'));
const warmups = Number(flag('warmup', '40'));
const dumpBin = flag('dump', '');
const OWN_HASH_ENTRIES = flag('own-hash-entries', '1024');
const CHURN_PER_SCRAPE = 5;
/**
 * Idle before each measured scrape of the rounds, as between Prometheus's scrapes: without it the
 * exporter with tables off was scraped in the wake of the other's multi-second scrape (and the C
 * floors' walks), its counter reads then up to twice as slow as after a quiet second.
 */
const SETTLE_MS = Number(flag('settle-ms', '1000'));
const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

/** @type {Set<import('node:child_process').ChildProcess>} */
const started = new Set();
const stopAll = () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
};
process.on('exit', stopAll);

// Per network namespace: this one's value decides the hash of the namespaces made from it.
const CHILD_EHASH = '/proc/sys/net/ipv4/tcp_child_ehash_entries';
const readChildEhash = () => readFileSync(CHILD_EHASH, 'latin1').trim();
/** @param {string} value */
const writeChildEhash = (value) => writeFileSync(CHILD_EHASH, String(Number(value)));

/** Lines from a child's stdout, awaited one by one. @param {import('node:child_process').ChildProcess} child */
function lineReader(child) {
  /** @type {string[]} */
  const queue = [];
  /** @type {((line: string) => void)[]} */
  const waiting = [];
  createInterface({ input: /** @type {import('node:stream').Readable} */ (child.stdout) }).on('line', (line) => {
    const next = waiting.shift();
    if (next) next(line);
    else queue.push(line);
  });
  /** @param {number} timeoutMs @returns {Promise<string>} */
  return (timeoutMs) =>
    queue.length > 0
      ? Promise.resolve(/** @type {string} */ (queue.shift()))
      : new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no line after ${timeoutMs} ms`)), timeoutMs);
          waiting.push((line) => {
            clearTimeout(timer);
            resolve(line);
          });
        });
}

/**
 * Makes `count` namespaces from this one (the farm's, the exporter's own); with `ownHash`, each
 * gets a TCP hash of its own, else they share the kernel's one hash, where the farm's sockets are.
 * @param {number} count @param {boolean} ownHash
 */
async function startNamespaces(count, ownHash) {
  const previous = readChildEhash();
  if (ownHash) writeChildEhash(OWN_HASH_ENTRIES);
  const child = spawn('python3', [join(benchDir, 'netns-farm.py'), String(count), '12'], { stdio: ['pipe', 'pipe', 'inherit'] });
  started.add(child);
  const next = lineReader(child);
  try {
    const line = await next(180_000);
    if (!line.startsWith('READY ')) throw new Error(`netns-farm: ${line}`);
  } finally {
    // Only the namespaces made meanwhile get their own hash: put it back at once.
    if (ownHash) writeChildEhash(previous);
  }
  return {
    churn: async (/** @type {number} */ k) => {
      child.stdin?.write(`churn ${k}\n`);
      const line = await next(60_000);
      if (!line.startsWith('CHURNED ')) throw new Error(`netns-farm: ${line}`);
    },
    stop: () => {
      child.stdin?.end();
      return new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/**
 * The namespaces the exporter finds, found the same way: the distinct namespaces behind readable
 * /proc/<pid>/ns/net links (one path each) and the nsfs bind mounts in /run/netns and
 * /run/docker/netns, less this one (the exporter's own).
 */
function otherNamespaces() {
  const own = statSync('/proc/self/ns/net');
  /** @type {Map<number, {path: string, pid?: string}>} */
  const found = new Map();
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const inode = Number(/^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/net`))?.[1]);
      if (inode !== own.ino && !found.has(inode)) found.set(inode, { path: `/proc/${pid}/ns/net`, pid });
    } catch {
      /* gone, or not ours to read */
    }
  }
  for (const dir of ['/run/netns', '/run/docker/netns']) {
    let files = [];
    try {
      files = readdirSync(dir);
    } catch {
      continue;
    }
    for (const file of files) {
      const stats = statSync(join(dir, file), { throwIfNoEntry: false });
      if (stats && stats.dev === own.dev && stats.ino !== own.ino && !found.has(stats.ino)) found.set(stats.ino, { path: join(dir, file) });
    }
  }
  return [...found.values()];
}

/**
 * @param {string[]} args @param {number} [nice] run at this nice level (the exporter's dump thread runs at 5)
 * @returns {{namespaces: number, sockets: number, open_ms: number, ms: number}}
 */
const cFloor = (args, nice = 0) => JSON.parse(execFileSync('nice', ['-n', String(nice), dumpBin, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 }));

/** @param {number} port @returns {Promise<{ms: number, body: string}>} */
function scrape(port) {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', agent: false, timeout: 120_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve({ ms: performance.now() - t0, body }) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error('scrape timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** @param {string} body @param {string} name @param {string} [labels] */
function sample(body, name, labels = '') {
  const prefix = labels === '' ? `${name} ` : `${name}{${labels}} `;
  const line = body.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? NaN : Number(line.slice(prefix.length));
}
/** @param {string} body */
const tableSockets = (body) => body.split('\n').filter((l) => l.startsWith('tcpstate_netns_sockets{')).reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);

/** @param {import('node:child_process').ChildProcess} child @param {string} cmd @returns {Promise<any>} */
function ask(child, cmd) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${cmd} from the preload`)), 5000);
    /** @param {any} message */
    const onMessage = (message) => {
      const answer = message?.eld ?? message?.mem;
      if (answer === undefined) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(answer);
    };
    child.on('message', onMessage);
    child.send({ cmd });
  });
}

/**
 * CPU time so far (ms) of each thread of process `pid`, by thread id, with its name: the
 * exporter names its helpers (src/kernel/thread-name.ts); the rest are V8's and libuv's.
 * @param {number} pid @returns {Map<string, {name: string, ms: number}>}
 */
function threadCpu(pid) {
  const threads = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const ms = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
      threads.set(tid, { name: readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim(), ms });
    } catch {
      /* ended meanwhile */
    }
  }
  return threads;
}

/** The CPU (ms) each kind of thread of `pid` used between two threadCpu() readings. @param {number} pid @param {Map<string, {name: string, ms: number}>} before @param {Map<string, {name: string, ms: number}>} after */
function cpuByThread(pid, before, after) {
  const used = { main: 0, dump: 0, counters: 0, other: 0 };
  for (const [tid, { name, ms }] of after) {
    const delta = ms - (before.get(tid)?.ms ?? 0);
    if (tid === String(pid)) used.main += delta;
    else if (name === THREAD_NAMES.netlinkDump) used.dump += delta;
    else if (name === THREAD_NAMES.counterReader) used.counters += delta;
    else used.other += delta;
  }
  return used;
}

/** @param {number} port @param {string[]} flags */
async function startExporter(port, flags) {
  const args = ['--import', eldPreload, exporterMain, `--web.listen-address=127.0.0.1:${port}`, '--collector.disable-defaults', '--collector.netns', '--collector.netns.max-namespaces=100000', '--collector.netns.table-budget=60', ...flags];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  started.add(child);
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`exporter exited with ${child.exitCode}`);
    if (await scrape(port).then(() => true, () => false)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  /**
   * A scrape with the event loop's worst delay meanwhile and the collector's own time; `canary`,
   * an idle exporter watched over the same window, shows the delays the machine causes alike.
   * @param {import('node:child_process').ChildProcess} [canary]
   */
  const measured = async (canary) => {
    await Promise.all([ask(child, 'eld-reset'), canary && ask(canary, 'eld-reset')]);
    const pid = /** @type {number} */ (child.pid);
    const before = threadCpu(pid);
    const { ms, body } = await scrape(port);
    const cpu = cpuByThread(pid, before, threadCpu(pid));
    const [eld, idle] = await Promise.all([ask(child, 'eld-read'), canary && ask(canary, 'eld-read')]);
    return { ms, cpu, collectorMs: sample(body, 'tcpstate_scrape_collector_duration_seconds', 'collector="netns"') * 1000, eldMaxMs: eld.maxMs, canaryMaxMs: idle?.maxMs ?? NaN, body };
  };
  const rssMb = () => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]) / 1024;
  return { child, measured, rssMb, stop: () => child.kill('SIGTERM') };
}

/** @param {number} count @param {boolean} ownHash @param {boolean} withDrift */
async function measureOne(count, ownHash, withDrift) {
  const farm = await startNamespaces(count, ownHash);
  const full = await startExporter(19_401, ['--collector.netns.tables=netlink']);
  const counters = await startExporter(19_402, ['--collector.netns.tables=off']);
  try {
    // Warm-up: the first scrape opens the kept sockets and counter files and starts the worker
    // threads; the next ones run code V8 is still optimising: at 110 namespaces with hashes of
    // their own it was still compiling 4 to 8 functions a scrape in the scrapes 10-30 (its
    // --trace-opt), the collector's median 19-26 ms there against 15-18 after 30 scrapes. An
    // exporter is scraped for days: its steady state is what the rounds measure. The warm-up
    // scrapes' own figures are kept, to show where that state begins.
    /** @type {{collector: number[], cpuOther: number[]}} */
    const warmup = { collector: [], cpuOther: [] };
    for (let i = 0; i < warmups; i++) {
      const w = await full.measured();
      warmup.collector.push(w.collectorMs);
      warmup.cpuOther.push(w.cpu.other);
      await counters.measured();
    }
    /** @type {Record<string, number[]>} */
    const times = { collector: [], scrape: [], cpuMain: [], cpuDump: [], cpuCounters: [], cpuOther: [], counters: [], countersRead: [], cCounters: [], cCountersPaired: [], ...(ownHash ? { cWhole: [], cWholeDumps: [], cWholeCounters: [] } : {}), cFloor: [], cFloorNice5: [], cFloorPaired: [], cOpen: [], procfs: [], eldMax: [], canaryMax: [], namespacesC: [], namespacesExporter: [], socketsC: [], socketsExporter: [] };
    for (let r = 0; r < reps; r++) {
      await settle();
      const a = await full.measured(counters.child);
      await settle();
      const b = await counters.measured(full.child);
      const namespaces = otherNamespaces();
      const floor = cFloor(['netlink', ...namespaces.map((ns) => ns.path)]);
      // At the dump thread's priority too: on a busy machine a nice-5 thread gets less CPU.
      const floorNice = cFloor(['netlink', ...namespaces.map((ns) => ns.path)], 5);
      // The same dumps on two threads at once: what a second dump thread could give.
      const floorPaired = cFloor(['netlink-paired', ...namespaces.map((ns) => ns.path)]);
      const pids = namespaces.flatMap((ns) => (ns.pid === undefined ? [] : [ns.pid]));
      const procfs = cFloor(['procfs', ...pids]);
      // The counters' floor: one pread of each kept counter file, serially, on one thread.
      const cCounters = cFloor(['counters', ...pids]);
      // The same on two threads, and, with own hashes, the whole collector's work on two threads
      // (the dumps on one, the counter files on the other, as the exporter runs them): the floors
      // a collector on this machine's two CPUs is measured against.
      const cCountersPaired = cFloor(['counters-paired', ...pids]);
      const cWhole = ownHash ? cFloor(['whole', String(namespaces.length), ...namespaces.map((ns) => ns.path), ...pids]) : undefined;
      times.collector.push(a.collectorMs);
      times.scrape.push(a.ms);
      times.cpuMain.push(a.cpu.main);
      times.cpuDump.push(a.cpu.dump);
      times.cpuCounters.push(a.cpu.counters);
      times.cpuOther.push(a.cpu.other);
      times.counters.push(b.collectorMs);
      times.countersRead.push(sample(b.body, 'tcpstate_netns_counters_read_seconds') * 1000);
      times.cCounters.push(cCounters.ms);
      times.cCountersPaired.push(cCountersPaired.ms);
      if (cWhole !== undefined) {
        times.cWhole.push(cWhole.ms);
        times.cWholeDumps.push(cWhole.dumps_ms);
        times.cWholeCounters.push(cWhole.counters_ms);
      }
      times.cFloor.push(floor.ms);
      times.cOpen.push(floor.open_ms);
      times.cFloorNice5.push(floorNice.ms);
      times.cFloorPaired.push(floorPaired.ms);
      times.procfs.push(procfs.ms);
      times.eldMax.push(Math.max(a.eldMaxMs, b.eldMaxMs));
      times.canaryMax.push(Math.max(a.canaryMaxMs, b.canaryMaxMs));
      times.namespacesC.push(floor.namespaces);
      times.namespacesExporter.push(sample(a.body, 'tcpstate_netns_tables', 'outcome="dumped"'));
      times.socketsC.push(floor.sockets);
      times.socketsExporter.push(tableSockets(a.body));
    }
    /** @type {any} */
    let drift;
    if (withDrift) {
      // V8 sizes its heap up for a while under a scrape's garbage (the young generation grows to
      // its 32 MB): first as many scrapes again, namespaces churning, unmeasured, so the drift
      // measured after them is the exporter's, not the heap settling.
      const churned = async () => {
        await farm.churn(CHURN_PER_SCRAPE);
        return full.measured(counters.child);
      };
      const rssWarmup = [];
      for (let i = 0; i < driftScrapes; i++) {
        await churned();
        rssWarmup.push(full.rssMb());
      }
      const rssAfterFirst = full.rssMb();
      const eld = [];
      const canary = [];
      const rss = [];
      for (let i = 0; i < driftScrapes; i++) {
        const m = await churned();
        eld.push(m.eldMaxMs);
        canary.push(m.canaryMaxMs);
        rss.push(full.rssMb());
      }
      drift = { scrapes: driftScrapes, warmupScrapes: driftScrapes, churnPerScrape: CHURN_PER_SCRAPE, rssAfterFirstMb: rssAfterFirst, rssAfterLastMb: full.rssMb(), rssWarmupMb: rssWarmup, rssMb: rss, eldMaxMs: eld, canaryMaxMs: canary };
    }
    return { count, ownHash, warmups, warmup, times, drift };
  } finally {
    full.stop();
    counters.stop();
    await farm.stop();
  }
}

const results = [];
try {
  for (const ownHash of [false, true]) {
    for (const [i, count] of counts.entries()) {
      console.error(`netns bench: ${count} namespaces, ${ownHash ? 'own hash each' : "sharing the host's hash"}`);
      // The drift at the first count with own hashes: scrapes of tens of ms, so 2 × --drift of them fit.
      results.push(await measureOne(count, ownHash, ownHash && i === 0));
    }
  }
} finally {
  stopAll();
}
process.stdout.write(JSON.stringify({ results }) + '\n');
