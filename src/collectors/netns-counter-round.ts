import type { DiscoveredNetns } from '../owners/netns-discovery.js';
import { parseNetnsLink } from '../owners/netns-discovery.js';
import type { ProcRoot } from '../procfs/proc-root.js';
import type { CounterTexts, Kept, NamespaceCounterFiles } from './netns-counter-files.js';
import { claimJob, sharedIndex, type CounterResult } from './netns-counter-protocol.js';
import type { CounterReadThread } from './netns-counter-thread.js';
import { parseNamespaceCounters, type NamespaceCounters } from './netns-counters.js';
import { setImmediate as nextTurn } from 'node:timers/promises';

export interface Counted {
  readonly ns: DiscoveredNetns & { pid: number };
  readonly counters: NamespaceCounters;
}

export interface CounterReadout {
  readonly counted: Counted[];
  /** Namespaces with a pid whose files could not be opened or read (permission, or the process left). */
  readonly unreadable: number;
  /** From the round's first read to its last. */
  readonly readMs: number;
}

/** Below this many namespaces, the second thread's round trip costs more than the reads it takes over. */
const MIN_NAMESPACES_TO_SHARE = 16;
/** Namespaces read on this thread between two turns of the event loop (~2 ms). */
const COUNTERS_PER_TURN = 16;

/**
 * One scrape's reading of every namespace's counters, begun before this scrape's namespaces are
 * found. The files of the namespaces read last scrape are still open, and an open file goes on
 * showing its namespace's counters whatever became of the pid it was opened through; so the
 * worker starts on them at once, while this thread runs the discovery (a readlink per pid). This
 * thread may then help through the same shared index (help()), and finish() reads the namespaces
 * found new, drops those gone, and reads here whatever a failed worker left.
 *
 * Files are closed (retain, forget) only after finish(): never under the worker's reads.
 */
export class CounterRound {
  private readonly early: ReadonlyArray<readonly [number, Kept]>;
  private readonly next = sharedIndex();
  private readonly remote: Promise<CounterResult[] | undefined>;
  private readonly started = performance.now();
  /** By index into `early`: counters, null when unreadable, undefined while unread. */
  private readonly earlyOutcomes: Array<NamespaceCounters | null | undefined>;

  constructor(
    private readonly files: NamespaceCounterFiles,
    private readonly thread: CounterReadThread,
  ) {
    this.early = files.openEntries();
    this.earlyOutcomes = new Array<undefined>(this.early.length);
    const shared = thread.available && this.early.length >= MIN_NAMESPACES_TO_SHARE;
    this.remote = shared ? thread.read(this.early.map(([inode, kept]) => ({ inode, fds: kept.fds, paths: kept.paths })), this.next).catch(() => undefined) : Promise.resolve(undefined);
  }

  /** Reads early namespaces on this thread too, claiming each from the index the worker claims from, until none is left. */
  async help(): Promise<void> {
    let read = 0;
    for (let index = claimJob(this.next, this.early.length); index !== undefined; index = claimJob(this.next, this.early.length)) {
      this.readEarly(index);
      if (++read % COUNTERS_PER_TURN === 0) await nextTurn();
    }
  }

  /** The counters of this scrape's namespaces (`namespaces`, as found); the early ones not among them are dropped. */
  async finish(proc: ProcRoot, namespaces: readonly DiscoveredNetns[]): Promise<CounterReadout> {
    for (const result of (await this.remote) ?? []) {
      if (result.outcome === 'malformed') throw new Error(result.message);
      this.earlyOutcomes[result.index] = result.outcome === 'read' ? result.counters : null;
    }
    const earlyIndex = new Map(this.early.map(([inode], index) => [inode, index]));
    const counted: Counted[] = [];
    let unreadable = 0;
    let read = 0;
    for (const ns of namespaces) {
      if (ns.pid === undefined) continue;
      const pid = ns.pid;
      const index = earlyIndex.get(ns.inode);
      let counters: NamespaceCounters | null;
      const known = index === undefined ? undefined : this.earlyOutcomes[index];
      if (known !== undefined) counters = known;
      else {
        // Found new: opened through its lowest pid, which must still be inside once the files are
        // open. Or left unread: no worker, or one that failed.
        counters =
          index === undefined
            ? this.parsed(ns.inode, this.files.read(ns.inode, proc.path(String(pid), 'net'), () => parseNetnsLink(proc.readLinkSyncIfPresent(String(pid), 'ns', 'net')) === ns.inode))
            : this.readEarly(index);
        if (++read % COUNTERS_PER_TURN === 0) await nextTurn();
      }
      if (counters === null) unreadable++;
      else counted.push({ ns: { ...ns, pid }, counters });
    }
    // Read unreadable by the worker: closed now that no thread reads them (opened afresh next time).
    this.early.forEach(([inode], index) => {
      if (this.earlyOutcomes[index] === null) this.files.forget(inode);
    });
    // Enough namespaces now to share the next scrape's reads, and no worker yet (the first scrape
    // had nothing open): it loads meanwhile (a few hundred ms on a small machine), ready for the
    // next. With fewer, no thread is started at all.
    if (counted.length >= MIN_NAMESPACES_TO_SHARE) this.thread.prestart();
    return { counted, unreadable, readMs: performance.now() - this.started };
  }

  private readEarly(index: number): NamespaceCounters | null {
    const [inode] = this.early[index]!;
    return (this.earlyOutcomes[index] = this.parsed(inode, this.files.readOpen(inode)));
  }

  /** The counters of a namespace's texts; null when they could not be read. */
  private parsed(inode: number, texts: CounterTexts | undefined): NamespaceCounters | null {
    return texts === undefined ? null : parseNamespaceCounters(texts, (file) => this.files.pathOf(inode, file));
  }
}
