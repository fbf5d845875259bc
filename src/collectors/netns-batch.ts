import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ScanResult, SocketSink } from '../kernel/socket-record.js';
import type { NamespaceTableSource } from './netns-sources.js';
import type { TableBudget } from './netns-tables.js';

/** Most namespaces in one command to a dump thread: bounds how far a chunk can overrun the budget, and holds a node of the kubelet's default 110 pods (a second command's round trip cost 1 to 2 ms). */
const MAX_CHUNK = 128;
/**
 * A chunk expected to take at least this long is shared among the dump threads. Below it (the
 * namespaces have hashes of their own: 110 dumps in 4 to 9 ms), a second thread's wake-up and
 * round trip cost about what it would take over, and the counter reader has the other CPU then.
 */
const MIN_SHARED_CHUNK_MS = 10;

/** The scan of one member of a chunk: a result, an error (its sink got part of a dump), or nothing (never begun: scan it alone). */
type MemberOutcome = { result: ScanResult } | { error: unknown } | undefined;

/** Per-dump cost on one thread, measured across scrapes, that sizes the chunks against the budget and shares them among threads. */
export class DumpPace {
  private perDumpMs: number | undefined;

  /** How many dumps fit in `remainingMs` on `threads` threads at once: 1 until a dump has been timed. */
  chunkSize(remainingMs: number, threads = 1): number {
    if (this.perDumpMs === undefined) return 1;
    const perThread = Math.max(1, Math.min(MAX_CHUNK, Math.floor(remainingMs / this.perDumpMs)));
    return this.threadsFor(perThread, threads) > 1 ? perThread * threads : perThread;
  }

  /** On how many of `threads` threads a chunk of `dumps` runs: more than one only when it is expected to take long enough to be worth sharing. */
  threadsFor(dumps: number, threads: number): number {
    if (this.perDumpMs === undefined || this.perDumpMs * dumps < MIN_SHARED_CHUNK_MS) return 1;
    return Math.max(1, Math.min(threads, dumps));
  }

  record(dumps: number, ms: number): void {
    const per = ms / dumps;
    this.perDumpMs = this.perDumpMs === undefined ? per : 0.7 * this.perDumpMs + 0.3 * per;
  }
}

/**
 * One scrape's namespace dumps over netlink, gathered into chunks: when the scan stage asks for
 * a namespace's table, that namespace and the next ones in dump order (as many as the budget's
 * remainder allows at the measured pace) go out as one command per dump thread, each parsed into
 * its own table, and the next asks are answered from it. A chunk long enough to share (the
 * namespaces share the host's hash, so each dump walks all of it) is split into contiguous shares,
 * one per thread, run at once. A namespace whose dump began inside the budget is never cut off;
 * the budget is checked between chunks, so it is overrun by at most one chunk, sized to fit.
 */
export class NamespaceDumpBatch {
  private readonly order: NamespaceTableSource[] = [];
  private readonly chunked = new Map<NamespaceTableSource, Promise<MemberOutcome>>();
  /** Members whose dump went out in a chunk (a socket was had for them). */
  private readonly begun = new Set<NamespaceTableSource>();
  private usable = true;
  /** The dump threads a chunk may use; down to 1 once a further one could not start (this scrape). */
  private threads: number;

  constructor(
    private readonly pace: DumpPace,
    private readonly budget: TableBudget,
    private readonly receiveTimeoutMs: number,
    threads = 1,
  ) {
    this.threads = Math.max(1, threads);
  }

  /** Registers a namespace, in dump order. */
  add(source: NamespaceTableSource): void {
    this.order.push(source);
  }

  /** Whether the namespace's dump was begun by a chunk (so the budget must let it through). */
  began(source: NamespaceTableSource): boolean {
    return this.begun.has(source);
  }

  /** Whether a chunk took the namespace along (its outcome may be that it was never begun). */
  inChunk(source: NamespaceTableSource): boolean {
    return this.chunked.has(source);
  }

  /** The namespace's table from a chunk; undefined: not batched (scan it alone). */
  async scan(source: NamespaceTableSource): Promise<ScanResult | undefined> {
    if (!this.usable) return undefined;
    const outcome = await (this.chunked.get(source) ?? this.runChunk(source));
    if (outcome === undefined) return undefined;
    if ('error' in outcome) throw outcome.error;
    return outcome.result;
  }

  private runChunk(first: NamespaceTableSource): Promise<MemberOutcome> {
    const start = this.order.indexOf(first);
    const size = this.pace.chunkSize(this.budget.remainingMs(), this.threads);
    const members = this.order.slice(start, start + size).filter((member, i) => i === 0 || (!this.chunked.has(member) && member.batchable));
    const chunk = this.dump(members);
    members.forEach((member, i) => this.chunked.set(member, chunk.then((outcomes) => outcomes[i])));
    return this.chunked.get(first)!;
  }

  private async dump(members: readonly NamespaceTableSource[]): Promise<MemberOutcome[]> {
    const outcomes: MemberOutcome[] = members.map(() => undefined);
    // Loaded on first use, like the rest of the netlink path: a procfs-only exporter never needs them.
    const [{ dumpThreadAt, DumpThreadUnusable, WORKER_FILE }, { dumpNamespaces }] = await Promise.all([import('../netlink/dump-thread.js'), import('../netlink/netns-dumps.js')]);
    // Untranspiled sources have no worker to run: each namespace is dumped alone, inline.
    if (!existsSync(fileURLToPath(WORKER_FILE))) {
      this.usable = false;
      return outcomes;
    }
    // Sockets first (a new namespace's is opened inside it, on this thread); the chunk stops at
    // the first that cannot be had, which is then scanned alone and reports its own error.
    const jobs: { fd: number; sink: SocketSink }[] = [];
    const kept: Array<Awaited<ReturnType<NamespaceTableSource['keptSocket']>>> = [];
    for (const member of members) {
      try {
        const socket = await member.keptSocket();
        jobs.push({ fd: socket.socket.acquire(this.receiveTimeoutMs), sink: member.ownSink });
        kept.push(socket);
        this.begun.add(member);
      } catch {
        break;
      }
    }
    if (jobs.length === 0) return outcomes;
    const shape = { families: kept[0]!.source.families, singleWalk: kept[0]!.source.singleWalk };
    const threads = this.pace.threadsFor(jobs.length, this.threads);
    const share = Math.ceil(jobs.length / threads);
    const runShare = async (thread: number): Promise<void> => {
      const from = thread * share;
      const to = Math.min(jobs.length, from + share);
      if (from >= to) return;
      const started = performance.now();
      const outcome = await dumpNamespaces(dumpThreadAt(thread), jobs.slice(from, to), shape, this.receiveTimeoutMs);
      if (outcome.error instanceof DumpThreadUnusable) {
        // Nothing of this share reached a sink: its namespaces are scanned alone. The first
        // thread unusable: every namespace is dumped alone (inline) from now on; a further one:
        // not used again this scrape.
        if (thread === 0) this.usable = false;
        else this.threads = 1;
        return;
      }
      // Each share times its own thread's dumps: the pace stays the cost of a dump on one thread.
      const done = outcome.completed.filter(Boolean).length;
      if (done > 0) this.pace.record(done, performance.now() - started);
      outcome.completed.forEach((completed, i) => {
        if (completed) outcomes[from + i] = { result: { families: [...shape.families], listenQueueLimitKnown: true } };
      });
      if (outcome.brokenJob !== undefined) {
        const broken = from + outcome.brokenJob;
        kept[broken]!.socket.release(jobs[broken]!.fd, true);
        outcomes[broken] = { error: outcome.error };
      }
    };
    await Promise.all(Array.from({ length: threads }, (_, thread) => runShare(thread)));
    return outcomes;
  }
}
