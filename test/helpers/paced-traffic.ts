/**
 * Paced traffic in a test namespace that can be frozen, so that the exporter's tcp_info and
 * `ss -tin` see the same figures: once the writers have paused (the readers go on, so no window
 * closes) and every sent byte is acknowledged, no ACK of new data arrives to move a socket's
 * smoothed RTT and nothing is sent that could be retransmitted. Only the idle times go on
 * growing, one millisecond per millisecond.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach } from 'vitest';
import { ssEstablished, withoutTailLossProbes } from './impairment.js';
import { TestNamespace } from './netns.js';
import type { SsSocket } from './ss-info.js';

const trafficScript = fileURLToPath(new URL('./traffic.mjs', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Flow {
  readonly port: number;
  readonly connections: number;
  readonly host?: string;
}

/** Starts paced traffic (64 KiB every 25 ms per connection) and resolves once every connection is up. */
export async function startTraffic(ns: TestNamespace, flows: readonly Flow[], seconds: number): Promise<ChildProcess> {
  const spec = { seconds, flows: flows.map((f) => ({ ...f, chunk: 65536, intervalMs: 25 })) };
  const child = ns.spawn(process.execPath, [trafficScript, JSON.stringify(spec)]);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`traffic not ready after 10 s: ${stderr}`)), 10_000);
    child.stdout!.on('data', (c: Buffer) => {
      if (c.toString().includes('READY')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`traffic exited with ${code}: ${stderr}`));
    });
  });
  return child;
}

/**
 * Pauses the writers and waits (at most `timeoutMs`) until no socket on `ports` has bytes
 * unacknowledged or a retransmit timer armed. Resolves with the settled `ss -tino` view.
 */
export async function freeze(ns: TestNamespace, traffic: ChildProcess, ports: readonly number[], timeoutMs = 20_000): Promise<SsSocket[]> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('traffic did not answer "pause" within 5 s')), 5000);
    traffic.stdout!.on('data', (c: Buffer) => {
      if (c.toString().includes('PAUSED')) {
        clearTimeout(timer);
        resolve();
      }
    });
    traffic.stdin!.write('pause\n');
  });
  const filter = `( ${ports.flatMap((p) => [`sport = :${p}`, `dport = :${p}`]).join(' or ')} )`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await sleep(250);
    const sockets = await ssEstablished(ns, filter);
    const busy = sockets.filter((s) => s.sendQ > 0 || s.timer?.name === 'on' || s.fields.has('unacked'));
    if (busy.length === 0) return sockets;
    if (Date.now() > deadline) throw new Error(`traffic did not settle in ${timeoutMs} ms: ${busy.map((s) => `${s.local}->${s.remote} send-q ${s.sendQ}`).join(', ')}`);
  }
}

/**
 * A fresh namespace for each test of the calling describe block, with tail-loss probes off (so
 * that drops show as retransmissions, not probes), and the traffic started in it ended by PID and
 * the namespace destroyed after the test.
 */
export function impairmentNamespacePerTest(): { readonly ns: TestNamespace; startTraffic(flows: readonly Flow[], seconds: number): Promise<ChildProcess> } {
  let current: TestNamespace | undefined;
  const started: ChildProcess[] = [];
  beforeEach(async () => {
    current = await TestNamespace.create();
    await withoutTailLossProbes(current);
  });
  afterEach(async () => {
    for (const child of started.splice(0)) child.kill('SIGKILL');
    await current?.destroy();
    current = undefined;
  });
  return {
    get ns(): TestNamespace {
      if (current === undefined) throw new Error('impairmentNamespacePerTest: the namespace exists only inside a test');
      return current;
    },
    async startTraffic(flows: readonly Flow[], seconds: number): Promise<ChildProcess> {
      const child = await startTraffic(this.ns, flows, seconds);
      started.push(child);
      return child;
    },
  };
}
