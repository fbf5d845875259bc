/**
 * The netlink source against this machine's own socket table (a live dump, no namespace needed:
 * any user may dump sock_diag). Run from the TypeScript sources, where the compiled dump thread
 * (worker.js) does not exist next to source.ts: this also covers the inline mode and
 * the fallback from a dump thread that cannot start. The dump thread itself is covered through
 * dist/ by contract.test.ts.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SocketAggregate } from '../../src/aggregate/socket-aggregate.js';
import { NetlinkUnavailableError } from '../../src/netlink/errors.js';
import { createNetlinkSource } from '../../src/netlink/probe.js';
import { NetlinkSource } from '../../src/netlink/source.js';
import type { SocketRecord, SocketSink } from '../../src/kernel/socket-record.js';
import { STATE_SLOTS, TCP_LISTEN } from '../../src/kernel/tcp.js';

function openOrWhy(): NetlinkSource | string {
  try {
    return createNetlinkSource();
  } catch (error) {
    if (error instanceof NetlinkUnavailableError) return error.message;
    throw error;
  }
}

const opened = openOrWhy();
const why = typeof opened === 'string' ? opened : undefined;
if (why !== undefined && process.env.CI === 'true') throw new Error(`CI=true but ${why}`);
if (why !== undefined) console.warn(`skipping live netlink tests: ${why}`);

class Listeners implements SocketSink {
  readonly ports = new Map<number, { rx: number; tx: number }>();
  add(s: SocketRecord): void {
    if (s.state === TCP_LISTEN) this.ports.set(s.localPort, { rx: s.rxQueue, tx: s.txQueue });
  }
}

describe.skipIf(why !== undefined)('NetlinkSource, live', () => {
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
    const source = opened as NetlinkSource;
    expect(source.mode).toBe('inline');
    expect(source.families).toContain(0);
    const sink = new Listeners();
    const result = await source.scan(sink);
    expect(result).toEqual({ families: [...source.families], listenQueueLimitKnown: true });
    expect(sink.ports.get(port)).toEqual({ rx: 0, tx: 37 });
  });

  it('a dump thread that cannot start falls back to inline reads, and the scan still succeeds', async () => {
    const source = new NetlinkSource((opened as NetlinkSource).families, { thread: 'worker' });
    expect(source.mode).toBe('worker');
    const sink = new Listeners();
    await source.scan(sink);
    expect(source.mode).toBe('inline');
    expect(sink.ports.get(port)).toEqual({ rx: 0, tx: 37 });
  });

  it('gives the same figures with one walk for both families and with one dump per family', async () => {
    const one = opened as NetlinkSource;
    const perFamily = createNetlinkSource({ request: 'per-family' });
    expect(perFamily.singleWalk).toBe(false);
    const a = new Listeners();
    const b = new Listeners();
    await one.scan(a);
    await perFamily.scan(b);
    expect([...b.ports.keys()].sort()).toEqual([...a.ports.keys()].sort());
  });

  it('runs concurrent scans one after the other, each complete', async () => {
    const source = opened as NetlinkSource;
    const aggregates = [0, 1, 2].map(() => new SocketAggregate({ ephemeralRange: null, remotePorts: new Set() }));
    await Promise.all(aggregates.map((agg) => source.scan(agg)));
    for (const agg of aggregates) expect(agg.stateCounts[TCP_LISTEN]! + agg.stateCounts[STATE_SLOTS + TCP_LISTEN]!).toBeGreaterThan(0);
    for (const agg of aggregates) expect(agg.listenQueueLimit.get(port)).toBe(37);
  });
});
