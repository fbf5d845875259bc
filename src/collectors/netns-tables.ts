import type { Registry } from 'prom-client';
import { topN } from '../aggregate/top-n.js';
import type { ScanResult, SocketRecord, SocketSink, SocketSource } from '../kernel/socket-record.js';
import { FAMILIES, STATE_SLOTS, TCP_LISTEN, stateName, stateSlot } from '../kernel/tcp.js';
import { NO_LABELS, SeriesFamily } from './series-family.js';

const TCP_CLOSE_WAIT = 8;

/**
 * One namespace's socket table, tallied small: per-state counts by family, and per local port
 * CLOSE_WAIT sockets and the accept-queue length of listeners. Not the host's 3 MB per-port
 * tables: a hundred namespaces each hold a few sockets.
 */
export class NamespaceTable implements SocketSink {
  /** [family * STATE_SLOTS + state] */
  readonly stateCounts = new Float64Array(2 * STATE_SLOTS);
  readonly closeWaitByPort = new Map<number, number>();
  readonly listenQueueByPort = new Map<number, number>();
  /** The listeners' backlog limits, where the source knows them (netlink). */
  readonly listenQueueLimitByPort = new Map<number, number>();

  /** Back to empty (a batch's dump into it is being replaced). */
  clear(): void {
    this.stateCounts.fill(0);
    this.closeWaitByPort.clear();
    this.listenQueueByPort.clear();
    this.listenQueueLimitByPort.clear();
  }

  add(socket: SocketRecord): void {
    const slot = stateSlot(socket.state);
    if (slot < 0) return;
    this.stateCounts[socket.family * STATE_SLOTS + slot]! += 1;
    if (slot === TCP_LISTEN) {
      this.listenQueueByPort.set(socket.localPort, (this.listenQueueByPort.get(socket.localPort) ?? 0) + socket.rxQueue);
      this.listenQueueLimitByPort.set(socket.localPort, (this.listenQueueLimitByPort.get(socket.localPort) ?? 0) + socket.txQueue);
    } else if (slot === TCP_CLOSE_WAIT) this.closeWaitByPort.set(socket.localPort, (this.closeWaitByPort.get(socket.localPort) ?? 0) + 1);
  }
}

/** Thrown by a table's source when the scrape's budget is spent before its dump starts. */
export class BudgetSpent extends Error {
  constructor(budgetSeconds: number) {
    super(`the per-scrape budget of ${budgetSeconds} s for namespace tables is spent`);
  }
}

/**
 * The per-scrape time budget the namespace tables share. The first dump always runs (so every
 * scrape makes progress); a later one starts only while the time since the first began is under
 * the budget. A dump that has started is never cut short: the budget can be overrun by one dump.
 */
export class TableBudget {
  private started: number | undefined;

  constructor(readonly seconds: number) {}

  /**
   * Wraps a namespace's source so that it refuses to start once the budget is spent; `began`
   * says its dump already started within the budget (a batch took it along with another's).
   */
  guard(source: SocketSource, onSkipped: () => void, began: () => boolean = () => false): SocketSource {
    return {
      name: source.name,
      scan: (sink: SocketSink): Promise<ScanResult> => {
        const now = performance.now();
        this.started ??= now;
        if (now - this.started > this.seconds * 1000 && !began()) {
          onSkipped();
          return Promise.reject(new BudgetSpent(this.seconds));
        }
        return source.scan(sink);
      },
    };
  }

  /** What is left of the budget (ms); all of it before the first dump. */
  remainingMs(): number {
    return this.seconds * 1000 - (this.started === undefined ? 0 : performance.now() - this.started);
  }

  /** Seconds from the first dump to now; 0 when nothing was dumped. */
  elapsedSeconds(): number {
    return this.started === undefined ? 0 : (performance.now() - this.started) / 1000;
  }
}

/** The last good dump of a namespace, kept so a namespace skipped this scrape still reports (with its age). */
export interface TableSnapshot {
  readonly table: NamespaceTable;
  readonly scan: ScanResult;
  readonly method: string;
  /** 'true', 'false' or 'unknown' (see NamespaceTableSource.ownHash). */
  readonly ownHash: string;
  /** performance.now() at the dump. */
  readonly at: number;
}

/**
 * Snapshots across scrapes, by namespace inode. A namespace no longer discovered is forgotten, so
 * its series vanish with it; the order of dumps puts the stalest first, so namespaces skipped for
 * the budget are the first dumped next scrape (a rotation).
 */
export class TableSnapshots {
  private readonly byInode = new Map<number, TableSnapshot>();

  get(inode: number): TableSnapshot | undefined {
    return this.byInode.get(inode);
  }

  set(inode: number, snapshot: TableSnapshot): void {
    this.byInode.set(inode, snapshot);
  }

  delete(inode: number): void {
    this.byInode.delete(inode);
  }

  /** Keeps only the given namespaces. */
  retain(inodes: ReadonlySet<number>): void {
    for (const inode of this.byInode.keys()) if (!inodes.has(inode)) this.byInode.delete(inode);
  }

  /** Never-dumped first (by inode), then the oldest dump first. */
  dumpOrder(inodes: readonly number[]): number[] {
    const at = (inode: number): number => this.byInode.get(inode)?.at ?? -Infinity;
    return [...inodes].sort((a, b) => at(a) - at(b) || a - b);
  }
}

export interface TableRow {
  readonly labels: Record<string, string>;
  readonly snapshot: TableSnapshot;
}

/** The (family, state) label objects by [family][slot], made once: every namespace's series share them (slot 0 is no state). */
const STATE_LABELS: ReadonlyArray<ReadonlyArray<Readonly<Record<string, string>>>> = FAMILIES.map((family) => Array.from({ length: STATE_SLOTS }, (_, slot) => (slot === 0 ? NO_LABELS : { family, state: stateName(slot) })));
const OTHER_PORT: Readonly<Record<string, string>> = { port: 'other' };

/**
 * Registers the per-namespace table series: states, CLOSE_WAIT and accept queues per port, age
 * and method. Each row's `labels` (its owner's) is one object shared by all of its series.
 */
export function reportTables(registry: Registry, rows: readonly TableRow[], maxPorts: number, now: number): void {
  // No namespace, no family: an empty HELP/TYPE block says nothing.
  if (rows.length === 0) return;
  const sockets = new SeriesFamily(registry, 'tcpstate_netns_sockets', "TCP sockets in each state in another network namespace (a pod's, a container's), by family; request sockets count as syn_recv.", 'gauge');
  const closeWait = new SeriesFamily(registry, 'tcpstate_netns_close_wait_sockets', 'CLOSE_WAIT sockets in the namespace by local port: listening ports under --collector.netns.max-ports, the rest in port="other".', 'gauge');
  const queue = new SeriesFamily(registry, 'tcpstate_netns_listen_queue_length', 'Connections waiting in the accept queue, summed over the listeners on the port, in the namespace.', 'gauge');
  const limit = rows.some((row) => row.snapshot.scan.listenQueueLimitKnown)
    ? new SeriesFamily(registry, 'tcpstate_netns_listen_queue_max', 'Accept-queue limit (the listen backlog), summed over the listeners on the port, in the namespace; known only when read over netlink.', 'gauge')
    : undefined;
  const age = new SeriesFamily(registry, 'tcpstate_netns_table_age_seconds', "Age of the namespace's table series: 0 when dumped in this scrape, more when the budget skipped it and the last dump is shown.", 'gauge');
  const info = new SeriesFamily(registry, 'tcpstate_netns_table_info', 'Always 1; how the namespace table was read (method) and whether the namespace has its own TCP hash table (own_hash: true, false, or unknown).', 'gauge');
  for (const { labels, snapshot } of rows) {
    const { table, scan } = snapshot;
    for (const family of scan.families) {
      for (let slot = 1; slot < STATE_SLOTS; slot++) sockets.add(labels, STATE_LABELS[family]![slot]!, table.stateCounts[family * STATE_SLOTS + slot]!);
    }
    const listening = [...table.listenQueueByPort.keys()];
    const kept = new Set(topN(listening, (port) => (table.closeWaitByPort.get(port) ?? 0) * 65536 + (table.listenQueueByPort.get(port) ?? 0), maxPorts, (a, b) => a - b).kept);
    let otherCloseWait = 0;
    let otherQueue: number | undefined;
    let otherLimit = 0;
    const limits = scan.listenQueueLimitKnown ? limit : undefined;
    for (const [port, count] of table.closeWaitByPort) if (!kept.has(port)) otherCloseWait += count;
    for (const [port, length] of table.listenQueueByPort) {
      if (kept.has(port)) continue;
      otherQueue = (otherQueue ?? 0) + length;
      otherLimit += table.listenQueueLimitByPort.get(port) ?? 0;
    }
    for (const port of [...kept].sort((a, b) => a - b)) {
      const portLabel = { port: String(port) };
      closeWait.add(labels, portLabel, table.closeWaitByPort.get(port) ?? 0);
      queue.add(labels, portLabel, table.listenQueueByPort.get(port)!);
      limits?.add(labels, portLabel, table.listenQueueLimitByPort.get(port)!);
    }
    closeWait.add(labels, OTHER_PORT, otherCloseWait);
    if (otherQueue !== undefined) {
      queue.add(labels, OTHER_PORT, otherQueue);
      limits?.add(labels, OTHER_PORT, otherLimit);
    }
    age.add(labels, NO_LABELS, Math.max(0, (now - snapshot.at) / 1000));
    // Whether the namespace shares the host's hash (tcp_ehash_entries < 0 inside it) is readable
    // only from inside the namespace (/proc/sys shows the reader's, whatever the path): netlink
    // knows, procfs says unknown.
    info.add(labels, { method: snapshot.method, own_hash: snapshot.ownHash }, 1);
  }
}
