import type { Registry } from 'prom-client';
import type { SocketRecord, SocketSink } from '../kernel/socket-record.js';
import { STATE_SLOTS, stateName, stateSlot } from '../kernel/tcp.js';
import type { Collector, ScrapeContext } from './collector.js';
import { scrapeGauge } from './metric-helpers.js';
import { findSocketOwners, type SocketOwners } from './socket-owners.js';

/** Counts sockets per (owner, state); owner 0 is "no known owner". */
class OwnerTally implements SocketSink {
  /** [(owner + 1) * STATE_SLOTS + state] */
  readonly counts: Float64Array;

  constructor(private readonly owners: SocketOwners) {
    this.counts = new Float64Array((owners.names.length + 1) * STATE_SLOTS);
  }

  add(socket: SocketRecord): void {
    const slot = stateSlot(socket.state);
    if (slot < 0) return;
    const owner = socket.inode === 0 ? undefined : this.owners.byInode.get(socket.inode);
    this.counts[(owner === undefined ? 0 : owner + 1) * STATE_SLOTS + slot]! += 1;
  }

  total(row: number): number {
    let sum = 0;
    for (let slot = 1; slot < STATE_SLOTS; slot++) sum += this.counts[row * STATE_SLOTS + slot]!;
    return sum;
  }
}

/** Sockets per owning process name: which program holds the leaking CLOSE_WAIT sockets. */
export const processCollector: Collector = {
  name: 'process',
  defaultEnabled: false,
  description: 'sockets per owning process name (comm), from /proc/<pid>/fd; costs one readlink per open descriptor',
  async collect({ proc, sockets, config }: ScrapeContext, registry: Registry): Promise<void> {
    const owners = await findSocketOwners(proc);
    const tally = new OwnerTally(owners);
    await sockets.scan(tally);

    // Rows 1..n are the names; keep the top N by socket count (ties by name), fold the rest.
    const ranked = owners.names
      .map((name, index) => ({ name, row: index + 1, total: tally.total(index + 1) }))
      .filter((entry) => entry.total > 0)
      .sort((a, b) => b.total - a.total || (a.name < b.name ? -1 : 1));
    const kept = ranked.slice(0, config.process.top);
    const folded = ranked.slice(config.process.top);

    const gauge = scrapeGauge(registry, 'tcpstate_process_sockets', 'Sockets by owning process name (comm) and state; the top --collector.process.top names, the rest in process="other", sockets without a visible owner in process="unknown".', ['process', 'state']);
    const emit = (process: string, rows: readonly number[]): void => {
      for (let slot = 1; slot < STATE_SLOTS; slot++) {
        let count = 0;
        for (const row of rows) count += tally.counts[row * STATE_SLOTS + slot]!;
        gauge.set({ process, state: stateName(slot) }, count);
      }
    };
    for (const entry of kept) emit(entry.name, [entry.row]);
    if (folded.length > 0) emit('other', folded.map((entry) => entry.row));
    emit('unknown', [0]);
    scrapeGauge(registry, 'tcpstate_process_unreadable', 'Processes whose file descriptors could not be read in this scrape (no permission, or exited mid-walk); their sockets count as process="unknown".').set(owners.unreadableProcesses);
  },
};
