import type { DiscoveredNetns } from '../owners/netns-discovery.js';
import { hasProcess, parseNetnsLink } from '../owners/netns-discovery.js';
import type { ProcRoot } from '../procfs/proc-root.js';
import type { Kept, NamespaceCounterFiles } from './netns-counter-files.js';
import { claimJob, COMPLETED, OUTCOME, roundMemory, type CounterJob, type CounterReply, type RoundMemory } from './netns-counter-protocol.js';
import type { CounterReadThread } from './netns-counter-thread.js';
import { COUNTER_SLOTS, countersAt, type NamespaceCounters } from './netns-counters.js';
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
/** How long one wait for the worker's next completion lasts before looking again (its failure ends the wait sooner). */
const WAIT_SLICE_MS = 1000;

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
  private readonly memory: RoundMemory;
  private readonly remote: Promise<CounterReply['malformed'] | undefined>;
  private readonly shared: boolean;
  private readonly started = performance.now();
  /** Early jobs claimed by this thread. */
  private readHere = 0;

  constructor(
    private readonly files: NamespaceCounterFiles,
    private readonly thread: CounterReadThread,
  ) {
    this.early = files.openEntries();
    this.memory = roundMemory(this.early.length);
    this.shared = thread.available && this.early.length >= MIN_NAMESPACES_TO_SHARE;
    const jobs = (): CounterJob[] => this.early.map(([inode, kept]) => ({ inode, fds: kept.fds, paths: kept.paths }));
    this.remote = this.shared ? thread.read(jobs, files.generation, this.memory).catch(() => undefined) : Promise.resolve(undefined);
  }

  /** Reads early namespaces on this thread too, claiming each from the index the worker claims from, until none is left. */
  async help(): Promise<void> {
    for (let index = claimJob(this.memory, this.early.length); index !== undefined; index = claimJob(this.memory, this.early.length)) {
      this.readHere++;
      this.readEarly(index);
      if (this.readHere % COUNTERS_PER_TURN === 0) await nextTurn();
    }
  }

  /** The counters of this scrape's namespaces (`namespaces`, as found); the early ones not among them are dropped. */
  async finish(proc: ProcRoot, namespaces: readonly DiscoveredNetns[]): Promise<CounterReadout> {
    await this.workerDone();
    // The counters handed on are views of this round's memory: fresh each round, so nothing writes them later.
    const { outcomes, slots } = this.memory;
    if (outcomes.includes(OUTCOME.malformed)) {
      const malformed = await this.remote;
      throw new Error(malformed?.[0]?.message ?? 'a counter file did not parse');
    }
    const earlyIndex = new Map(this.early.map(([inode], index) => [inode, index]));
    const counted: Counted[] = [];
    let unreadable = 0;
    let read = 0;
    for (const ns of namespaces) {
      if (!hasProcess(ns)) continue;
      const index = earlyIndex.get(ns.inode);
      let counters: NamespaceCounters | null;
      if (index !== undefined && Atomics.load(outcomes, index) !== OUTCOME.pending) counters = outcomes[index] === OUTCOME.read ? countersAt(slots, index * COUNTER_SLOTS) : null;
      else {
        // Found new: opened through its lowest pid, which must still be inside once the files are
        // open. Or left unread: no worker, or one that failed.
        if (index === undefined) {
          const stillThere = (): boolean => parseNetnsLink(proc.readLinkSyncIfPresent(String(ns.pid), 'ns', 'net')) === ns.inode;
          const row = new Float64Array(COUNTER_SLOTS);
          counters = this.files.read(ns.inode, proc.path(String(ns.pid), 'net'), stillThere, row, 0) ? row : null;
        } else counters = this.readEarly(index) ? countersAt(slots, index * COUNTER_SLOTS) : null;
        if (++read % COUNTERS_PER_TURN === 0) await nextTurn();
      }
      if (counters === null) unreadable++;
      else counted.push({ ns, counters });
    }
    // Unreadable early: closed now that no thread reads them (opened afresh next time).
    this.early.forEach(([inode], index) => {
      if (outcomes[index] === OUTCOME.unreadable) this.files.forget(inode);
    });
    // Enough namespaces now to share the next scrape's reads, and no worker yet (the first scrape
    // had nothing open): it loads meanwhile (a few hundred ms on a small machine), ready for the
    // next. With fewer, no thread is started at all.
    if (counted.length >= MIN_NAMESPACES_TO_SHARE) this.thread.prestart();
    return { counted, unreadable, readMs: performance.now() - this.started };
  }

  /**
   * Until the worker has finished every early job this thread did not claim, as counted in
   * shared memory (no message round trip); or until it has replied or failed, whatever it left
   * pending then being read here.
   */
  private async workerDone(): Promise<void> {
    if (!this.shared) return;
    const { control } = this.memory;
    const replied = this.remote.then(() => 'replied' as const);
    for (;;) {
      const completed = Atomics.load(control, COMPLETED);
      if (completed >= this.early.length - this.readHere) return;
      const wait = Atomics.waitAsync(control, COMPLETED, completed, WAIT_SLICE_MS);
      if (wait.async && (await Promise.race([wait.value, replied])) === 'replied') return;
    }
  }

  /** Reads an early namespace on this thread into its slots; false when unreadable. */
  private readEarly(index: number): boolean {
    const [inode] = this.early[index]!;
    const read = this.files.readOpen(inode, this.memory.slots, index * COUNTER_SLOTS);
    this.memory.outcomes[index] = read ? OUTCOME.read : OUTCOME.unreadable;
    return read;
  }
}
