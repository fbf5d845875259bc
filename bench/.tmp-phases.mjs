import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { monitorEventLoopDelay } from 'node:perf_hooks';
const { netnsCollector } = await import('../dist/collectors/netns.js');
const { ProcRoot } = await import('../dist/procfs/proc-root.js');
const { Registry } = await import('prom-client');
const { pino } = await import('pino');
const farm = spawn('python3', ['bench/netns-farm.py', '110', '12'], { stdio: ['pipe', 'pipe', 'inherit'] });
await new Promise((r) => createInterface({ input: farm.stdout }).once('line', r));
const context = { proc: new ProcRoot('/proc'), logger: pino({ level: 'silent' }) };
const options = { maxNamespaces: 100000, tables: 'netlink', tableBudget: 60, maxPorts: 8, containerdState: [], crioState: [], dockerState: [] };
const h = monitorEventLoopDelay({ resolution: 1 }); h.enable();
const t = {}; const add = (k, v) => (t[k] ??= []).push(v);
for (let r = 0; r < 12; r++) {
  h.reset();
  let s = performance.now();
  const tally = await netnsCollector.prepareTally(context, options);
  add('prepare', performance.now() - s); add('eld-prepare', h.max / 1e6); h.reset();
  s = performance.now();
  const scans = new Map(); const failures = new Map();
  for (const table of tally.extraTables()) await table.source.scan(tally.sinkFor(table)).then((x) => scans.set(table, x), (e) => failures.set(table, String(e)));
  add('dumps', performance.now() - s); add('eld-dumps', h.max / 1e6); h.reset();
  s = performance.now();
  const reg = new Registry();
  await tally.report(reg, scans, failures);
  add('report', performance.now() - s);
  s = performance.now();
  const text = await reg.metrics();
  add('render', performance.now() - s); add('eld-report+render', h.max / 1e6);
  if (r === 0) console.log('series', text.split('\n').filter((l) => l && !l.startsWith('#')).length, 'failures', failures.size);
}
for (const [k, v] of Object.entries(t)) { v.sort((a, b) => a - b); console.log(k.padEnd(18), 'min', v[0].toFixed(1), 'med', v[v.length >> 1].toFixed(1)); }
farm.stdin.end(); process.exit(0);
