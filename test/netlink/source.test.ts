/**
 * The netlink source against this machine's own socket table (a live dump, no namespace needed:
 * any user may dump sock_diag). Run from the TypeScript sources, where the compiled dump thread
 * (worker.js) does not exist next to source.ts: this also covers the inline mode and
 * the fallback from a dump thread that cannot start. The dump thread itself is covered through
 * dist/ by contract.test.ts.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SocketAggregate } from '../../src/aggregate/socket-aggregate.js';
import { NetlinkSource } from '../../src/netlink/source.js';
import type { SocketRecord, SocketSink } from '../../src/kernel/socket-record.js';
import { STATE_SLOTS, TCP_LISTEN } from '../../src/kernel/tcp.js';
import { createNetlinkSource } from '../../src/netlink/probe.js';
import { liveNetlinkOrSkip } from '../helpers/live-netlink.js';
import { waitFor } from '../helpers/wait-for.js';

const opened = liveNetlinkOrSkip('live netlink tests', {});

/** Every figure of the sockets that pass `keep`, one sorted string per socket. */
class FigureSink implements SocketSink {
  private readonly seen: string[] = [];
  constructor(private readonly keep: (s: SocketRecord) => boolean) {}
  add(s: SocketRecord): void {
    if (!this.keep(s)) return;
    this.seen.push(`${s.family}/${s.state}/${s.localPort}/${s.remotePort}/rx=${s.rxQueue}/tx=${s.txQueue}/timer=${s.timer}/${s.retransmits}/${s.probes}/key=${s.remoteEndpointKey()}`);
  }
  get rows(): string[] {
    return [...this.seen].sort();
  }
}

class Listeners implements SocketSink {
  readonly ports = new Map<number, { rx: number; tx: number }>();
  add(s: SocketRecord): void {
    if (s.state === TCP_LISTEN) this.ports.set(s.localPort, { rx: s.rxQueue, tx: s.txQueue });
  }
}

describe.skipIf(opened === undefined)('NetlinkSource, live', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0, backlog: 37 }, resolve));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('reads inline where the compiled dump thread is missing, and sees our listener with its backlog', async () => {
    const source = opened!;
    expect(source.mode).toBe('inline');
    expect(source.families).toContain(0);
    const sink = new Listeners();
    const result = await source.scan(sink);
    expect(result).toEqual({ families: [...source.families], listenQueueLimitKnown: true });
    expect(sink.ports.get(port)).toEqual({ rx: 0, tx: 37 });
  });

  it('a dump thread that cannot start falls back to inline reads, and the scan still succeeds', async () => {
    const source = new NetlinkSource(opened!.families, { thread: 'worker' });
    expect(source.mode).toBe('worker');
    const sink = new Listeners();
    await source.scan(sink);
    expect(source.mode).toBe('inline');
    expect(sink.ports.get(port)).toEqual({ rx: 0, tx: 37 });
  });

  it('gives the same figures with one walk for both families and with one dump per family', async () => {
    // Our own sockets, which hold still while the rest of the host's table moves: listeners on
    // both families and connections to them, with bytes left unread on the server side.
    const servers: Server[] = [];
    const clients: Socket[] = [];
    const accepted: Socket[] = [];
    const ports: number[] = [];
    for (const [host, count] of [['127.0.0.1', 5], ['::1', 3]] as const) {
      const listener = createServer({ pauseOnConnect: true }, (socket) => accepted.push(socket));
      await new Promise<void>((resolve, reject) => listener.once('error', reject).listen({ host, port: 0, backlog: 11 }, resolve));
      servers.push(listener);
      const listenPort = (listener.address() as { port: number }).port;
      ports.push(listenPort);
      for (let i = 0; i < count; i++) {
        const client = connect({ host, port: listenPort });
        await new Promise<void>((resolve, reject) => client.once('error', reject).once('connect', resolve));
        client.write('x'.repeat(10 + i));
        clients.push(client);
      }
    }
    try {
      const ours = (s: SocketRecord): boolean => ports.includes(s.localPort) || ports.includes(s.remotePort);
      await waitFor('the servers to accept every connection and the bytes to arrive', async () => {
        const seen = new FigureSink(ours);
        await opened!.scan(seen);
        return seen.rows.filter((row) => row.startsWith('0/1/') || row.startsWith('1/1/')).length === 16 && seen.rows.filter((row) => /\/rx=1\d\//.test(row)).length === 8 ? true : undefined;
      });
      const perFamily = createNetlinkSource({ request: 'per-family' });
      expect(perFamily.singleWalk).toBe(false);
      const a = new FigureSink(ours);
      const b = new FigureSink(ours);
      await opened!.scan(a);
      await perFamily.scan(b);
      // 2 listeners, and 8 connections seen from both ends.
      expect(a.rows).toHaveLength(2 + 16);
      expect(b.rows).toEqual(a.rows);
      expect(a.rows.filter((row) => row.includes(`/${TCP_LISTEN}/`)).map((row) => row.replace(/^(\d)\/.*tx=(\d+).*$/, '$1 $2'))).toEqual(['0 11', '1 11']);
    } finally {
      for (const socket of [...clients, ...accepted]) socket.destroy();
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    }
  });

  it('runs concurrent scans one after the other, each complete', async () => {
    const source = opened!;
    const aggregates = [0, 1, 2].map(() => new SocketAggregate({ ephemeralRange: null, remotePorts: new Set() }));
    await Promise.all(aggregates.map((agg) => source.scan(agg)));
    for (const agg of aggregates) expect(agg.stateCounts[TCP_LISTEN]! + agg.stateCounts[STATE_SLOTS + TCP_LISTEN]!).toBeGreaterThan(0);
    for (const agg of aggregates) expect(agg.listenQueueLimit.get(port)).toBe(37);
  });
});
