import type { Registry } from 'prom-client';
import { topN } from '../aggregate/top-n.js';
import { integerFlag } from '../config/flag.js';
import type { SocketRecord, SocketSink } from '../kernel/socket-record.js';
import { STATE_SLOTS, stateName, stateSlot } from '../kernel/tcp.js';
import { HOST_TABLE, type SocketTable, type TableCollector } from './collector.js';
import { scrapeGauge } from './metric-helpers.js';
import { findSocketOwners, type SocketOwners } from './socket-owners.js';

export const PROCESS_FLAGS = {
  top: integerFlag('collector.process.top', { help: 'processes given their own label; the rest are summed into process="other"', default: 20, min: 1, example: '5' }),
};

/** Counts sockets per (owner, state); row 0 is "no known owner", row i + 1 is owners.names[i]. */
class OwnerTally implements SocketSink {
  /** [row * STATE_SLOTS + state] */
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

function report(registry: Registry, tally: OwnerTally, owners: SocketOwners, top: number): void {
  // Rows 1..n are the names; keep the top N by socket count (ties by name), fold the rest.
  const rows = owners.names.map((_, index) => index + 1).filter((row) => tally.total(row) > 0);
  const nameOf = (row: number): string => owners.names[row - 1]!;
  const selection = topN(rows, (row) => tally.total(row), top, (a, b) => (nameOf(a) < nameOf(b) ? -1 : nameOf(a) > nameOf(b) ? 1 : 0));

  const gauge = scrapeGauge(registry, 'tcpstate_process_sockets', 'Sockets by owning process name (comm) and state; the top --collector.process.top names, the rest in process="other", sockets without a visible owner in process="unknown".', ['process', 'state']);
  const emit = (process: string, group: readonly number[]): void => {
    for (let slot = 1; slot < STATE_SLOTS; slot++) {
      let count = 0;
      for (const row of group) count += tally.counts[row * STATE_SLOTS + slot]!;
      gauge.set({ process, state: stateName(slot) }, count);
    }
  };
  for (const row of selection.kept) emit(nameOf(row), [row]);
  if (selection.folded.length > 0) emit('other', selection.folded);
  emit('unknown', [0]);
  scrapeGauge(registry, 'tcpstate_process_unreadable', 'Processes whose file descriptors could not be read in this scrape (no permission, or exited mid-walk); their sockets count as process="unknown".').set(owners.unreadableProcesses);
}

/** Whether the missing-permission warning was logged: once per process lifetime, not per scrape. */
let warnedUnreadable = false;

/** Sockets per owning process name: which program holds the leaking CLOSE_WAIT sockets. */
export const processCollector: TableCollector<typeof PROCESS_FLAGS> = {
  name: 'process',
  defaultEnabled: false,
  description: 'sockets per owning process name (comm), from /proc/<pid>/fd; costs one readlink per open descriptor',
  flags: PROCESS_FLAGS,
  reads: 'socket-tables',
  async prepareTally({ proc, logger }, options) {
    const owners = await findSocketOwners(proc);
    if (owners.unreadableProcesses > 0 && !warnedUnreadable) {
      warnedUnreadable = true;
      logger.warn(
        { collector: 'process', unreadable: owners.unreadableProcesses },
        'some processes could not be inspected, so their sockets count as process="unknown": attributing other users\' sockets needs root with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (see docs/security.md)',
      );
    }
    const tally = new OwnerTally(owners);
    let host: SocketTable | undefined;
    return {
      sinkFor(table) {
        if (table.id !== HOST_TABLE) return undefined;
        host = table;
        return tally;
      },
      report(registry, scans) {
        if (host === undefined || !scans.has(host)) throw new Error('the socket table of this namespace was not dumped');
        report(registry, tally, owners, options.top);
      },
    };
  },
};
