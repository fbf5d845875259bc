import type { SocketRecord, SocketSink } from '../kernel/socket-record.js';
import { STATE_SLOTS, TCP_CLOSE_WAIT, TCP_LISTEN, stateSlot } from '../kernel/tcp.js';

/** What one (cgroup, local port) holds, for listening ports: listeners, CLOSE_WAIT, accept queue. */
export interface CgroupPortStats {
  /** Row of the cgroup (see CgroupTally.ids). */
  readonly row: number;
  readonly port: number;
  listeners: number;
  closeWait: number;
  /** Accept-queue length, summed over the listeners. */
  queueLength: number;
  /** Accept-queue limit (backlog), summed over the listeners; 0 from a source that does not know it. */
  queueMax: number;
}

/**
 * Counts one scrape's sockets per cgroup id (INET_DIAG_CGROUP_ID) and state, in one pass and
 * without a per-socket object: a Map lookup gives the cgroup's row in a flat counts array. Row 0
 * holds the sockets without an id (TIME_WAIT, request sockets, and every socket from a source or a
 * kernel that does not report one). LISTEN and CLOSE_WAIT sockets are also kept per (cgroup, local
 * port), the few a leak or a full accept queue is about; the port's being a listening port is
 * decided at report time, once the whole table has been seen.
 */
export class CgroupTally implements SocketSink {
  /** Row -> cgroup id; row 0 is "no id". */
  readonly ids: number[] = [0];
  /** [row * STATE_SLOTS + slot]: sockets of that cgroup in that state. */
  counts = new Uint32Array(64 * STATE_SLOTS);
  /** Local ports with at least one LISTEN socket, whichever its cgroup. */
  readonly listeningPorts = new Set<number>();
  readonly portStats: CgroupPortStats[] = [];
  /** Sockets with an inode (full sockets): they carry an id when the kernel provides one. */
  fullSockets = 0;
  /** Sockets that carried an id. */
  withId = 0;

  private readonly rowOfId = new Map<number, number>();
  private readonly portStatsOf = new Map<number, CgroupPortStats>();
  private lastId = -1;
  private lastRow = 0;

  add(socket: SocketRecord): void {
    const slot = stateSlot(socket.state);
    if (slot < 0) return;
    const id = socket.cgroupId;
    let row = 0;
    if (socket.inode !== 0) this.fullSockets++;
    if (id !== 0) {
      this.withId++;
      // Consecutive records often share an owner (a process's connections sit close in the hash).
      row = id === this.lastId ? this.lastRow : this.rowFor(id);
    }
    this.counts[row * STATE_SLOTS + slot]! += 1;
    if (slot === TCP_LISTEN) {
      const stats = this.portStatsFor(row, socket.localPort);
      stats.listeners++;
      stats.queueLength += socket.rxQueue;
      stats.queueMax += socket.txQueue;
      this.listeningPorts.add(socket.localPort);
    } else if (slot === TCP_CLOSE_WAIT) {
      this.portStatsFor(row, socket.localPort).closeWait++;
    }
  }

  /** Sockets of one row, all states. */
  total(row: number): number {
    let sum = 0;
    for (let slot = 1; slot < STATE_SLOTS; slot++) sum += this.counts[row * STATE_SLOTS + slot]!;
    return sum;
  }

  private rowFor(id: number): number {
    let row = this.rowOfId.get(id);
    if (row === undefined) {
      row = this.ids.push(id) - 1;
      this.rowOfId.set(id, row);
      if ((row + 1) * STATE_SLOTS > this.counts.length) {
        const grown = new Uint32Array(this.counts.length * 2);
        grown.set(this.counts);
        this.counts = grown;
      }
    }
    this.lastId = id;
    this.lastRow = row;
    return row;
  }

  private portStatsFor(row: number, port: number): CgroupPortStats {
    const key = row * 65536 + port;
    let stats = this.portStatsOf.get(key);
    if (stats === undefined) {
      stats = { row, port, listeners: 0, closeWait: 0, queueLength: 0, queueMax: 0 };
      this.portStatsOf.set(key, stats);
      this.portStats.push(stats);
    }
    return stats;
  }
}
