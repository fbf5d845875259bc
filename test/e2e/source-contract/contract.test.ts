/**
 * The contract both socket sources keep: for the same real sockets, netlink and procfs give the
 * same aggregate, figure for figure. The sockets live in a network namespace made for this file;
 * the two scans run back to back in ONE child process inside it (contract-scan.mjs), because any
 * extra connection (a test runner talking to an exporter, say) would change the table.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithNetns, TestNamespace, type RunningFarm } from '../../helpers/netns.js';

const scanScript = fileURLToPath(new URL('./contract-scan.mjs', import.meta.url));
const unsentPeer = fileURLToPath(new URL('./unsent-peer.mjs', import.meta.url));

// Kernel state numbers, as array slots of SocketAggregate.
const ESTABLISHED = 1;
const SYN_SENT = 2;
const SYN_RECV = 3;
const FIN_WAIT2 = 5;
const TIME_WAIT = 6;
const CLOSE_WAIT = 8;
const LISTEN = 10;
const SLOTS = 12;

/** Listeners; backlogs are distinct so the listen queue limit is checked per port. */
const spec = {
  listeners: [
    { name: 'web', host: '127.0.0.1', port: 8080, backlog: 128 },
    { name: 'web6', host: '::1', port: 8443, backlog: 64 },
    { name: 'slow', host: '127.0.0.1', port: 9000, backlog: 7 },
    { name: 'slow6', host: '::1', port: 9001, backlog: 5 },
    { name: 'synr', host: '127.0.0.1', port: 9100, backlog: 32 },
    { name: 'synr6', host: '::1', port: 9101, backlog: 16 },
    { name: 'gone', host: '127.0.0.1', port: 9200, backlog: 16 },
    { name: 'gone6', host: '::1', port: 9201, backlog: 8 },
  ],
  groups: [
    { kind: 'established', to: 'web', count: 20, unread_bytes: 100 },
    { kind: 'established', to: 'web', count: 10, keepalive: true },
    { kind: 'established', to: 'web6', count: 8, keepalive: true, unread_bytes: 33 },
    { kind: 'close_wait', to: 'web', count: 5 },
    { kind: 'close_wait', to: 'web6', count: 3 },
    { kind: 'time_wait', to: 'web', count: 6 },
    { kind: 'time_wait', to: 'web6', count: 2 },
    { kind: 'backlog', to: 'slow', count: 4 },
    { kind: 'backlog', to: 'slow6', count: 3 },
    { kind: 'syn_recv', to: 'synr', count: 3 },
    { kind: 'syn_recv', to: 'synr6', count: 2 },
    { kind: 'syn_sent', host: '127.0.0.1', port: 9300, count: 2 },
    { kind: 'syn_sent', host: '::1', port: 9301, count: 2 },
    { kind: 'half_open', to: 'gone', count: 2, keepidle: 1 },
    { kind: 'half_open', to: 'gone6', count: 1, keepidle: 1 },
  ],
};

interface Summary {
  families: number[];
  listenQueueLimitKnown: boolean;
  stateCounts: number[];
  receiveQueueBytes: number[];
  sendQueueBytes: number[];
  keepaliveByState: number[];
  keepaliveProbing: number;
  retransmitting: number;
  localPortStates: Record<string, number>;
  remotePortStates: Record<string, number> | null;
  listenQueueLength: Record<string, number>;
  listenQueueLimit: Record<string, number>;
  ephemeralPortsUsed: number;
  busiestDestination: number;
  ephemeralDestinationCounts: number[];
  busiestDestinations: Array<{ address: string; port: number; sockets: number }>;
}

interface ScanOutput {
  netlink: Summary;
  procfs: Summary;
  netlinkAgain: Summary;
  attempts: number;
  stable: boolean;
}

/** The figures that must agree; the listen queue limit is netlink's alone. */
function comparable(s: Summary): Omit<Summary, 'listenQueueLimit' | 'listenQueueLimitKnown'> {
  const { listenQueueLimit: _limit, listenQueueLimitKnown: _known, ...rest } = s;
  return rest;
}

async function startUnsentPeer(ns: TestNamespace, host: string, port: number): Promise<ChildProcess> {
  const child = ns.spawn(process.execPath, [unsentPeer, host, String(port)]);
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`unsent peer on ${host}:${port} not ready`)), 25_000);
    lines.on('line', (line) => {
      clearTimeout(timer);
      if (line.startsWith('READY')) resolve();
      else reject(new Error(`unsent peer: ${line}`));
    });
    child.once('exit', (code) => reject(new Error(`unsent peer exited with ${code}`)));
  });
  return child;
}

describeWithNetns('socket source contract: netlink and procfs agree on real sockets', () => {
  let ns: TestNamespace;
  let farm: RunningFarm | undefined;
  let out: ScanOutput;

  beforeAll(async () => {
    ns = await TestNamespace.create();
    try {
      farm = await ns.startFarm(spec);
      await startUnsentPeer(ns, '127.0.0.1', 7000);
      await startUnsentPeer(ns, '::1', 7001);
      // Let the first SYN and SYN-ACK retransmissions and keepalive probes (keepidle 1 s) happen,
      // so that retransmit and probe counters are past zero in both sources.
      await new Promise((resolve) => setTimeout(resolve, 3500));
      const { stdout } = await ns.exec(process.execPath, [scanScript, '5'], 60_000);
      out = JSON.parse(stdout) as ScanOutput;
    } catch (error) {
      await farm?.stop();
      await ns.destroy();
      throw error;
    }
  }, 120_000);

  afterAll(async () => {
    await farm?.stop();
    await ns?.destroy();
  }, 30_000);

  it('scanned a table that held still: the two netlink scans around procfs (dump thread, then inline) agree', () => {
    expect(out.stable, `the table kept changing over ${out.attempts} attempts`).toBe(true);
  });

  it('both report ipv4 and ipv6', () => {
    expect(out.netlink.families).toEqual([0, 1]);
    expect(out.procfs.families).toEqual([0, 1]);
  });

  it('every aggregate figure is identical between netlink and procfs', () => {
    expect(comparable(out.netlink)).toEqual(comparable(out.procfs));
  });

  it('the table holds what the farm made, so the comparison means something', () => {
    const n = out.netlink;
    const count = (family: number, state: number): number => n.stateCounts[family * SLOTS + state]!;
    // ipv4: 30 + 1 (unsent peer) + 2 (half-open) connections, both ends, plus the 4 backlog
    // connections, whose client and (unaccepted) server sides are both ESTABLISHED.
    expect(count(0, ESTABLISHED)).toBe(2 * 33 + 2 * 4);
    expect(count(1, ESTABLISHED)).toBe(2 * 10 + 2 * 3);
    for (const family of [0, 1]) {
      for (const state of [SYN_SENT, SYN_RECV, FIN_WAIT2, TIME_WAIT, CLOSE_WAIT, LISTEN]) {
        expect(count(family, state), `family ${family} state ${state}`).toBeGreaterThan(0);
      }
    }
    expect(count(0, SYN_RECV)).toBe(3);
    expect(count(1, SYN_RECV)).toBe(2);
    expect(count(0, CLOSE_WAIT)).toBe(5);
    expect(count(1, CLOSE_WAIT)).toBe(3);
    expect(n.receiveQueueBytes[ESTABLISHED]).toBeGreaterThanOrEqual(20 * 100 + 8 * 33);
    expect(n.sendQueueBytes[ESTABLISHED]).toBeGreaterThan(0);
    expect(n.keepaliveByState[ESTABLISHED]).toBeGreaterThanOrEqual(10 + 8 + 2 * 3);
    expect(n.keepaliveProbing).toBeGreaterThan(0);
    expect(n.retransmitting).toBeGreaterThan(0);
    expect(n.listenQueueLength).toMatchObject({ 9000: 4, 9001: 3 });
    expect(n.ephemeralPortsUsed).toBeGreaterThan(0);
    expect(n.busiestDestination).toBeGreaterThan(0);
    // The web listeners draw the most client connections: 20 + 10 + 5 + 6 on ipv4 (TIME_WAIT
    // included), 8 + 3 + 2 on ipv6; both destinations named by address.
    expect(n.busiestDestinations.slice(0, 2)).toEqual([
      { address: '127.0.0.1', port: 8080, sockets: 41 },
      { address: '::1', port: 8443, sockets: 13 },
    ]);
  });

  it('netlink knows each listen queue limit: the backlog passed to listen()', () => {
    expect(out.netlink.listenQueueLimitKnown).toBe(true);
    expect(out.procfs.listenQueueLimitKnown).toBe(false);
    for (const listener of spec.listeners) {
      expect(out.netlink.listenQueueLimit[listener.port], `port ${listener.port}`).toBe(listener.backlog);
    }
  });
});
