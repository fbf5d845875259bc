import type { SocketRecord, SocketSink } from '../kernel/socket-record.js';
import { STATE_SLOTS, TCP_LISTEN, TIMER_KEEPALIVE, TIMER_RETRANSMIT, stateSlot } from '../kernel/tcp.js';
import { PortTablePool } from './port-table-pool.js';
import type { EndpointKey } from '../kernel/endpoint-key.js';

export interface AggregateOptions {
  /** `ip_local_port_range` as [first, last], or null when it could not be read. */
  ephemeralRange: readonly [number, number] | null;
  /** Remote ports whose sockets are counted per state (client-side pools). */
  remotePorts: ReadonlySet<number>;
  /**
   * Where the per-port tables come from, so a long-lived caller can reuse them (hand them back
   * with release()); without one, the aggregate allocates its own.
   */
  tables?: PortTablePool;
}


/**
 * Everything the sockets collector reports, tallied in one pass over the socket table.
 * Per-port tables are flat typed arrays indexed by `port * STATE_SLOTS + state`, so counting a
 * socket is a few array increments, and which ports are "server ports" (those with a LISTEN
 * socket) can be decided after the pass without a second scan.
 */
export class SocketAggregate implements SocketSink {
  /** [family * STATE_SLOTS + state] */
  readonly stateCounts = new Float64Array(2 * STATE_SLOTS);
  readonly receiveQueueBytes = new Float64Array(STATE_SLOTS);
  readonly sendQueueBytes = new Float64Array(STATE_SLOTS);
  readonly keepaliveByState = new Float64Array(STATE_SLOTS);
  keepaliveProbing = 0;
  retransmitting = 0;
  /** [localPort * STATE_SLOTS + state] */
  readonly localPortStates: Uint32Array;
  /** [remotePort * STATE_SLOTS + state], allocated only when remote ports are watched. */
  readonly remotePortStates: Uint32Array | null;
  /** Listen port -> summed accept-queue length / limit over its listeners. */
  readonly listenQueueLength = new Map<number, number>();
  readonly listenQueueLimit = new Map<number, number>();
  ephemeralPortsUsed = 0;
  /** Remote endpoint -> sockets using an ephemeral local port towards it. */
  readonly ephemeralByDestination = new Map<EndpointKey, number>();

  private readonly ephemeralFirst: number;
  private readonly ephemeralLast: number;
  private readonly remoteWatched: Uint8Array | null;
  private readonly tables: PortTablePool;

  constructor(options: AggregateOptions) {
    this.tables = options.tables ?? new PortTablePool();
    this.localPortStates = this.tables.acquire();
    this.ephemeralFirst = options.ephemeralRange?.[0] ?? 1;
    this.ephemeralLast = options.ephemeralRange?.[1] ?? 0;
    if (options.remotePorts.size > 0) {
      this.remoteWatched = new Uint8Array(65536);
      for (const port of options.remotePorts) this.remoteWatched[port] = 1;
      this.remotePortStates = this.tables.acquire();
    } else {
      this.remoteWatched = null;
      this.remotePortStates = null;
    }
  }

  add(socket: SocketRecord): void {
    const slot = stateSlot(socket.state);
    if (slot < 0) return;
    const localPort = socket.localPort;
    this.stateCounts[socket.family * STATE_SLOTS + slot]! += 1;
    this.localPortStates[localPort * STATE_SLOTS + slot]! += 1;

    if (slot === TCP_LISTEN) {
      this.listenQueueLength.set(localPort, (this.listenQueueLength.get(localPort) ?? 0) + socket.rxQueue);
      this.listenQueueLimit.set(localPort, (this.listenQueueLimit.get(localPort) ?? 0) + socket.txQueue);
    } else {
      // A listener's queue fields describe its accept queue, not bytes, so they stay out of these sums.
      this.receiveQueueBytes[slot]! += socket.rxQueue;
      this.sendQueueBytes[slot]! += socket.txQueue;
    }

    const timer = socket.timer;
    if (timer === TIMER_KEEPALIVE) {
      this.keepaliveByState[slot]! += 1;
      if (socket.probes > 0) this.keepaliveProbing += 1;
    } else if (timer === TIMER_RETRANSMIT && socket.retransmits > 0) {
      this.retransmitting += 1;
    }

    if (this.remoteWatched !== null && this.remoteWatched[socket.remotePort] === 1) {
      this.remotePortStates![socket.remotePort * STATE_SLOTS + slot]! += 1;
    }

    if (localPort >= this.ephemeralFirst && localPort <= this.ephemeralLast) {
      this.ephemeralPortsUsed += 1;
      if (socket.remotePort !== 0) {
        const key = socket.remoteEndpointKey();
        this.ephemeralByDestination.set(key, (this.ephemeralByDestination.get(key) ?? 0) + 1);
      }
    }
  }

  /** Returns the per-port tables to the pool; the aggregate must not be read afterwards. */
  release(): void {
    this.tables.release(this.localPortStates);
    if (this.remotePortStates !== null) this.tables.release(this.remotePortStates);
  }

  /** Local ports that have at least one LISTEN socket, ascending. */
  listeningPorts(): number[] {
    return [...this.listenQueueLength.keys()].sort((a, b) => a - b);
  }

  /** Sockets (all states) whose local port is `port`. */
  localPortTotal(port: number): number {
    let total = 0;
    for (let slot = 1; slot < STATE_SLOTS; slot++) total += this.localPortStates[port * STATE_SLOTS + slot]!;
    return total;
  }

  /** The largest number of ephemeral-port sockets towards one remote endpoint. */
  busiestDestinationSockets(): number {
    let busiest = 0;
    for (const count of this.ephemeralByDestination.values()) if (count > busiest) busiest = count;
    return busiest;
  }

  /**
   * The `limit` destinations with the most ephemeral-port sockets, busiest first (ties by key, so
   * the same table always gives the same labels). One pass keeping a short sorted list: a client
   * host can talk to many thousands of destinations, and sorting them all would cost more.
   */
  busiestDestinations(limit: number): Array<{ key: EndpointKey; sockets: number }> {
    const top: Array<{ key: EndpointKey; sockets: number }> = [];
    if (limit <= 0) return top;
    const before = (a: { key: EndpointKey; sockets: number }, b: { key: EndpointKey; sockets: number }): boolean =>
      a.sockets > b.sockets || (a.sockets === b.sockets && String(a.key) < String(b.key));
    for (const [key, sockets] of this.ephemeralByDestination) {
      const entry = { key, sockets };
      if (top.length === limit) {
        if (!before(entry, top[limit - 1]!)) continue;
        top.pop();
      }
      let at = top.length;
      while (at > 0 && before(entry, top[at - 1]!)) at--;
      top.splice(at, 0, entry);
    }
    return top;
  }
}
