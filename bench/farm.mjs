/**
 * A socket farm in a network namespace of its own, built from farm.c shards the way run.mjs
 * builds its farms (same plan, sysctls and drop rules), for benchmarks that need one farm and a
 * clean-up that always runs. Needs root, iproute2, iptables and gcc.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const benchDir = fileURLToPath(new URL('.', import.meta.url));
/** Sockets per farm shard: 2 fds per connection held, under the 20,000-fd hard limit. */
const SHARD_SOCKETS = 17_000;

/** @param {string} text e.g. 100k */
export function parseSize(text) {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim());
  if (!m) throw new Error(`bad size "${text}" (use e.g. 10k, 100k, 600k)`);
  const unit = m[2]?.toLowerCase() === 'k' ? 1e3 : m[2]?.toLowerCase() === 'm' ? 1e6 : 1;
  return Math.round(Number(m[1]) * unit);
}

/** The same spread of states as run.mjs: mostly ESTABLISHED, ~1% each of the transient ones. @param {number} size */
function farmPlan(size) {
  const shards = Math.ceil(size / SHARD_SOCKETS);
  const budget = size / shards;
  const half = Math.max(1, Math.round(budget * 0.001));
  const cw = Math.max(1, Math.round(budget * 0.005));
  const fw1 = Math.max(1, Math.round(budget * 0.001));
  const la = Math.max(1, Math.round(budget * 0.001));
  const tw = Math.max(1, Math.round(budget * 0.01));
  const queued = 10;
  const established = Math.floor((budget - 2 * (half + cw + fw1 + la + queued) - tw - 7) / 2);
  return { shards, args: [`--established=${established}`, `--close-wait=${cw}`, `--fin-wait1=${fw1}`, `--last-ack=${la}`, `--half-open=${half}`, `--time-wait=${tw}`, `--queued=${queued}`, '--max-seconds=3600'] };
}

export class Farm {
  /** @type {import('node:child_process').ChildProcess[]} */
  shards = [];
  work = mkdtempSync(join(tmpdir(), 'tcpstate-farm-'));
  ns = `tcpstate-load-${process.pid}`;
  made = false;

  /** Compiles farm.c, makes the namespace and starts the shards; resolves once all are READY. @param {number} size */
  async start(size) {
    const bin = join(this.work, 'farm');
    execFileSync('gcc', ['-O2', '-Wall', '-o', bin, join(benchDir, 'farm.c')], { stdio: 'inherit' });
    execFileSync('ip', ['netns', 'add', this.ns]);
    this.made = true;
    this.exec(['ip', 'link', 'set', 'lo', 'up']);
    this.exec(['sysctl', '-qw', 'net.ipv4.tcp_syn_retries=12', 'net.ipv4.tcp_synack_retries=12', 'net.ipv4.tcp_orphan_retries=12', 'net.core.somaxconn=65535']);
    for (const rule of [
      ['-A', 'OUTPUT', '-o', 'lo', '-p', 'tcp', '--dport', '8091', '--tcp-flags', 'FIN', 'FIN', '-j', 'DROP'],
      ['-A', 'OUTPUT', '-o', 'lo', '-p', 'tcp', '--sport', '8092', '--tcp-flags', 'FIN', 'FIN', '-j', 'DROP'],
      ['-A', 'INPUT', '-i', 'lo', '-p', 'tcp', '--sport', '8093', '--tcp-flags', 'SYN,ACK', 'SYN,ACK', '-j', 'DROP'],
    ]) {
      this.exec(['iptables', '-w', ...rule]);
    }
    const plan = farmPlan(size);
    const timeoutMs = 60_000 + plan.shards * 15_000;
    const ready = [];
    for (let i = 0; i < plan.shards; i++) {
      const child = spawn('ip', ['netns', 'exec', this.ns, bin, `--shard=${i + 1}`, ...plan.args], { stdio: ['pipe', 'pipe', 'inherit'] });
      this.shards.push(child);
      const lines = createInterface({ input: /** @type {import('node:stream').Readable} */ (child.stdout) });
      const one = new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`farm shard ${i + 1} not ready after ${timeoutMs} ms`)), timeoutMs);
        lines.on('line', (line) => {
          if (line.startsWith('READY ')) {
            clearTimeout(timer);
            resolve(undefined);
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
      one.catch(() => undefined);
      ready.push(one);
      // Two at a time (two cores): each shard connects and accepts in a tight loop.
      if (i % 2 === 1) await one;
    }
    await Promise.all(ready);
  }

  /** @param {string[]} args */
  exec(args) {
    return execFileSync('ip', ['netns', 'exec', this.ns, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 512 * 1024 * 1024 });
  }

  /** Stops the shards, kills what is left in the namespace (only what this run started), deletes it. */
  stop() {
    for (const child of this.shards) child.stdin?.end();
    for (const child of this.shards) if (child.exitCode === null && child.pid !== undefined) spawnSync('kill', ['-KILL', String(child.pid)]);
    if (this.made) {
      const pids = spawnSync('ip', ['netns', 'pids', this.ns], { encoding: 'utf8' }).stdout?.split('\n').filter(Boolean) ?? [];
      for (const pid of pids) spawnSync('kill', ['-KILL', pid]);
      spawnSync('ip', ['netns', 'del', this.ns], { stdio: 'ignore' });
      this.made = false;
    }
    rmSync(this.work, { recursive: true, force: true });
  }
}
