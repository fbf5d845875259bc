#!/usr/bin/env node
// The netns collector's cost at N namespaces of about 25 sockets each (a listener and 12
// ESTABLISHED pairs), made by bench/netns-farm.py: the per-namespace counters alone (discovery,
// four /proc/<pid>/net files each, owner labels, the report), then with every namespace's socket
// table from /proc/<pid>/net/tcp{,6}, then over netlink (a kept sock_diag socket per namespace,
// opened inside it; the first, warm-up round opens them). Run after `npm run build`, as root:
//   nice -n 10 node bench/netns.mjs [namespaces=110] [rounds=20] [child-ehash-entries]
// With a third argument, net.ipv4.tcp_child_ehash_entries is set to it while the namespaces are
// made (each then gets a TCP hash table of its own) and put back at once after.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Registry } from 'prom-client';

const { netnsCollector } = await import('../dist/collectors/netns.js');
const { ProcRoot } = await import('../dist/procfs/proc-root.js');
const { DEFAULT_OWNER_PATHS } = await import('../dist/owners/flags.js');

const namespaces = Number(process.argv[2] ?? 110);
const rounds = Number(process.argv[3] ?? 20);
const farmScript = fileURLToPath(new URL('./netns-farm.py', import.meta.url));

const childEhash = process.argv[4];
const CHILD_EHASH = '/proc/sys/net/ipv4/tcp_child_ehash_entries';
const previousEhash = readFileSync(CHILD_EHASH, 'latin1').trim();
if (childEhash !== undefined) writeFileSync(CHILD_EHASH, childEhash);
const farm = spawn('python3', [farmScript, String(namespaces), '12'], { stdio: ['pipe', 'pipe', 'inherit'] });
const line = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('farm not ready after 120 s')), 120_000);
  createInterface({ input: farm.stdout }).once('line', (text) => {
    clearTimeout(timer);
    resolve(text);
  });
}).finally(() => writeFileSync(CHILD_EHASH, previousEhash));
if (!line.startsWith('READY ')) throw new Error(`farm: ${line}`);
const pids = JSON.parse(line.slice(6));

/** The floor the counters are measured against: only the kernel's reads, nothing parsed. */
function floor(files) {
  const started = performance.now();
  for (const pid of pids) for (const file of files) readFileSync(`/proc/${pid}/net/${file}`);
  return performance.now() - started;
}

const context = { proc: new ProcRoot('/proc'), logger: pino({ level: 'silent' }), ownerPaths: DEFAULT_OWNER_PATHS };
const options = (tables) => ({ maxNamespaces: 100_000, tables, tableBudget: 60, maxPorts: 8 });

async function once(tables) {
  const started = performance.now();
  const tally = await netnsCollector.prepareTally(context, options(tables));
  const scans = new Map();
  const failures = new Map();
  for (const table of tally.extraTables?.() ?? []) {
    // As the scan stage does: a namespace that vanished meanwhile (other work on the machine) is a failure, not a crash.
    await table.source.scan(tally.sinkFor(table)).then((scan) => scans.set(table, scan), (error) => failures.set(table, String(error)));
  }
  const registry = new Registry();
  await tally.report(registry, scans, failures);
  const ms = performance.now() - started;
  const reported = (await registry.getSingleMetric('tcpstate_netns_namespaces').get()).values.find((v) => v.labels.state === 'reported').value;
  return { ms, reported };
}

const stats = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted[sorted.length - 1] };
};
const results = {};
try {
  for (const tables of ['off', 'procfs', 'netlink']) {
    await once(tables); // warm: the owner namer's cache, the JIT
    const runs = [];
    for (let i = 0; i < rounds; i++) runs.push(await once(tables));
    const { median, min, max } = stats(runs.map((r) => r.ms));
    results[tables === 'off' ? 'counters' : `counters+tables(${tables})`] = { namespaces_reported: runs[0].reported, median_ms: +median.toFixed(2), min_ms: +min.toFixed(2), max_ms: +max.toFixed(2) };
    if (tables === 'netlink') continue; // its C floor is left for later
    // The bare reads of the same files, interleaved with nothing else, in the same conditions.
    const files = tables === 'off' ? ['sockstat', 'sockstat6', 'snmp', 'netstat'] : ['sockstat', 'sockstat6', 'snmp', 'netstat', 'tcp', 'tcp6'];
    const floors = [];
    for (let i = 0; i < rounds; i++) floors.push(floor(files));
    const f = stats(floors);
    results[`floor: readFileSync of ${files.join(',')}`] = { median_ms: +f.median.toFixed(2), min_ms: +f.min.toFixed(2), max_ms: +f.max.toFixed(2) };
  }
} finally {
  farm.stdin.end();
}
const hostSockets = readFileSync('/proc/net/sockstat', 'latin1').match(/TCP: inuse (\d+)/)[1];
const load = readFileSync('/proc/loadavg', 'latin1').split(' ').slice(0, 3).join(' ');
console.log(JSON.stringify({ namespaces_made: namespaces, tcp_child_ehash_entries: childEhash ?? previousEhash, pairs_per_namespace: 12, host_tcp_inuse: Number(hostSockets), load_average: load, rounds, results }, null, 2));
