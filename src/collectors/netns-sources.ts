import type { Logger } from 'pino';
import { oneLine } from '../errors.js';
import type { ScanResult, SocketSink, SocketSource, SocketSourceName } from '../kernel/socket-record.js';
import { ProcRoot } from '../procfs/proc-root.js';
import { ProcfsSource } from '../sources/procfs.js';
import { DumpPace, NamespaceDumpBatch } from './netns-batch.js';
import type { NamespaceTable, TableBudget } from './netns-tables.js';

/** A pid inside the namespace, or the path of a bind mount of it. */
export type NamespacePlace = { pid: number } | { bindMount: string };

/** How a namespace's table is read: --collector.netns.tables, less `off`. */
export type TableMethod = 'auto' | 'netlink' | 'procfs';

/** Read size for a namespace's /proc/<pid>/net/tcp: ~150 bytes a socket, so 100 sockets a read. */
const NAMESPACE_READ_BYTES = 16 * 1024;

// The netlink modules load koffi; a procfs-only exporter never loads them.
type NetlinkModules = {
  source: typeof import('../netlink/source.js');
  probe: typeof import('../netlink/probe.js');
  socket: typeof import('../netlink/netns-socket.js');
  errors: typeof import('../netlink/errors.js');
};
let netlinkModules: Promise<NetlinkModules> | undefined;
const loadNetlink = (): Promise<NetlinkModules> =>
  (netlinkModules ??= Promise.all([import('../netlink/source.js'), import('../netlink/probe.js'), import('../netlink/netns-socket.js'), import('../netlink/errors.js')]).then(([source, probe, socket, errors]) => ({ source, probe, socket, errors })));

interface Kept {
  socket: import('../netlink/netns-socket.js').NamespaceSocket;
  source: import('../netlink/source.js').NetlinkSource;
}

/** As the netlink source's default: a recv() waiting longer fails the dump. */
const RECEIVE_TIMEOUT_MS = 5000;

/** Refusals that mean "no privilege for this here", not "this namespace broke": setns without CAP_SYS_ADMIN, an unreadable ns link. */
function isRefusal(error: unknown, modules: NetlinkModules): boolean {
  if (error instanceof modules.errors.SyscallError) return error.syscall === 'setns' && (error.errno === 1 || error.errno === 13);
  if (error instanceof modules.errors.NetlinkUnavailableError) return true;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EACCES' || code === 'EPERM';
}

/**
 * The sources of the namespaces' tables across scrapes: over netlink, one sock_diag socket per
 * namespace opened inside it and kept while it lives; through /proc/<pid>/net/tcp{,6} otherwise.
 * In `auto`, the first refusal (no CAP_SYS_ADMIN) switches to procfs for good, logged once.
 */
export class NamespaceTableSources {
  private readonly kept = new Map<number, Kept>();
  private netlinkRefused: string | undefined;
  private readonly pace = new DumpPace();
  private shape: { families: readonly import('../kernel/tcp.js').Family[]; singleWalk: boolean } | undefined;

  /**
   * One namespace's source for this scrape; `name` and `ownHash` say what the last scan used and
   * found. `where` is a pid inside it, or, for a namespace that only a bind mount keeps alive
   * (`ip netns add` with no process), the bind mount: entered over netlink, with no procfs table.
   */
  sourceFor(proc: ProcRoot, inode: number, where: NamespacePlace, method: TableMethod, logger: Logger, sink: NamespaceTable, batch: NamespaceDumpBatch | undefined): NamespaceTableSource {
    return new NamespaceTableSource(this, proc, inode, where, method, logger, sink, batch);
  }

  /** This scrape's batch of netlink dumps on up to `threads` threads, paced by what earlier chunks took; undefined for procfs. */
  batchFor(method: TableMethod, budget: TableBudget, threads: number): NamespaceDumpBatch | undefined {
    return method === 'procfs' ? undefined : new NamespaceDumpBatch(this.pace, budget, RECEIVE_TIMEOUT_MS, threads);
  }

  /** Closes the kept sockets of namespaces not in `alive` (a kept socket holds its namespace alive). */
  retain(alive: ReadonlySet<number>): void {
    for (const [inode, kept] of this.kept) {
      if (alive.has(inode)) continue;
      kept.socket.close();
      this.kept.delete(inode);
    }
  }

  /** @internal */
  async netlinkFor(nsPath: string, inode: number): Promise<Kept> {
    const modules = await loadNetlink();
    let kept = this.kept.get(inode);
    if (kept === undefined) {
      // The host's probe tells the request shape and families; every namespace runs the same
      // kernel, so it is made once, not once per namespace.
      const shape = (this.shape ??= modules.probe.createNetlinkSource({ thread: 'inline' }));
      const socket = new modules.socket.NamespaceSocket(nsPath, inode);
      // thread 'auto': the dumps run on the process's one dump thread (the socket, opened inside
      // the namespace on this thread, is handed over by descriptor); inline where it cannot run.
      kept = { socket, source: new modules.source.NetlinkSource(shape.families, { thread: 'auto', sockets: socket }, shape.singleWalk) };
      this.kept.set(inode, kept);
    }
    kept.socket.nsPath = nsPath;
    return kept;
  }

  /** @internal */
  refused(error: unknown, logger: Logger): void {
    if (this.netlinkRefused !== undefined) return;
    this.netlinkRefused = oneLine(error);
    logger.warn({ err: this.netlinkRefused, source: 'procfs' }, 'cannot open sock_diag sockets inside other network namespaces (needs CAP_SYS_ADMIN); reading their /proc/<pid>/net/tcp instead');
  }

  /** Whether a table can be read through a bind mount alone (netlink only): `method` allows it and netlink was not refused. */
  readsBindMounts(method: TableMethod | 'off'): boolean {
    return method === 'netlink' || (method === 'auto' && this.useNetlinkInAuto);
  }

  /** @internal */
  get useNetlinkInAuto(): boolean {
    return this.netlinkRefused === undefined;
  }

  /** @internal */
  async isRefusal(error: unknown): Promise<boolean> {
    return isRefusal(error, await loadNetlink());
  }
}

export class NamespaceTableSource implements SocketSource {
  name: SocketSourceName = 'procfs';
  /** 'true', 'false' or 'unknown': whether the namespace has a TCP hash table of its own. */
  ownHash = 'unknown';
  private kept: Kept | undefined;

  constructor(
    private readonly sources: NamespaceTableSources,
    private readonly proc: ProcRoot,
    private readonly inode: number,
    private readonly where: NamespacePlace,
    private readonly method: TableMethod,
    private readonly logger: Logger,
    /** The table the collector tallies this namespace into; a batch dumps straight into it. */
    readonly ownSink: NamespaceTable,
    private readonly batch: NamespaceDumpBatch | undefined,
  ) {}

  private get usesNetlink(): boolean {
    return this.method === 'netlink' || (this.method === 'auto' && this.sources.useNetlinkInAuto);
  }

  /** Whether a batch may take this namespace's dump along with another's. */
  get batchable(): boolean {
    return this.usesNetlink;
  }

  /** The kept socket and source of this namespace (opened on first use). */
  async keptSocket(): Promise<Kept> {
    const nsPath = 'pid' in this.where ? this.proc.path(String(this.where.pid), 'ns', 'net') : this.where.bindMount;
    return (this.kept = await this.sources.netlinkFor(nsPath, this.inode));
  }

  async scan(sink: SocketSink): Promise<ScanResult> {
    if (this.usesNetlink) {
      try {
        let result: ScanResult | undefined;
        if (this.batch !== undefined) {
          if (sink === this.ownSink) result = await this.batch.scan(this);
          else if (this.batch.began(this) || this.batch.inChunk(this)) {
            // Another collector shares the table: what the batch put in ours is dropped, and
            // the namespace is dumped again into every sink.
            await this.batch.scan(this).catch(() => undefined);
            this.ownSink.clear();
          }
        }
        result ??= await (await this.keptSocket()).source.scan(sink);
        this.name = 'netlink';
        const ownHash = this.kept?.socket.ownHash;
        this.ownHash = ownHash === undefined ? 'unknown' : String(ownHash);
        return result;
      } catch (error) {
        // A refusal comes before any socket reached the sink, so procfs can take over cleanly.
        if (this.method === 'netlink' || !(await this.sources.isRefusal(error))) throw error;
        this.sources.refused(error, this.logger);
      }
    }
    if (!('pid' in this.where)) throw new Error(`network namespace ${this.inode} has no process, so no /proc/<pid>/net/tcp: its table can be read only over netlink`);
    const result = await new ProcfsSource(new ProcRoot(this.proc.path(String(this.where.pid))), NAMESPACE_READ_BYTES).scan(sink);
    this.name = 'procfs';
    return result;
  }
}
