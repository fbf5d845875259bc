/**
 * What the main thread and the counter worker (netns-counter-thread.ts, netns-counter-worker.ts)
 * share for one round: the jobs, an index both claim them by, and the parsed counters, written
 * by whichever thread read them. The counters go through shared memory rather than a reply
 * message: cloning a hundred namespaces' results cost the main thread a millisecond a scrape.
 */
import type { HelperCell } from '../kernel/thread-placement.js';
import { COUNTER_SLOTS } from './netns-counters.js';

export interface CounterJob {
  readonly inode: number;
  readonly fds: ReadonlyArray<number | undefined>;
  readonly paths: readonly string[];
}

/** A job's outcome in RoundMemory.outcomes. */
export const OUTCOME = { pending: 0, read: 1, unreadable: 2, malformed: 3 } as const;

/** control[CLAIMED] is the next unclaimed job; control[COMPLETED] counts the jobs the worker has finished. */
export const CLAIMED = 0;
export const COMPLETED = 1;

export interface RoundMemory {
  readonly control: Int32Array;
  /** Per job, an OUTCOME, stored (atomically) after its slots. */
  readonly outcomes: Int32Array;
  /** Per job, COUNTER_SLOTS values from job × COUNTER_SLOTS (netns-counters.ts: countersAt). */
  readonly slots: Float64Array;
}

/** Fresh shared memory for a round of `jobs` jobs. */
export function roundMemory(jobs: number): RoundMemory {
  return {
    control: new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT)),
    outcomes: new Int32Array(new SharedArrayBuffer(Math.max(1, jobs) * Int32Array.BYTES_PER_ELEMENT)),
    slots: new Float64Array(new SharedArrayBuffer(Math.max(1, jobs) * COUNTER_SLOTS * Float64Array.BYTES_PER_ELEMENT)),
  };
}

/** Claims the next job; undefined once all are taken. */
export function claimJob(memory: RoundMemory, jobs: number): number | undefined {
  const index = Atomics.add(memory.control, CLAIMED, 1);
  return index < jobs ? index : undefined;
}

/**
 * What the worker is sent: the round's shared memory, and every job, unless the jobs are the
 * same list as in the last request it was sent (the same `generation`): cloning a hundred
 * namespaces' descriptors and paths each scrape would delay the worker's start.
 */
export interface CounterRequest {
  id: number;
  jobs: readonly CounterJob[] | undefined;
  memory: RoundMemory;
}

/** The worker's start data: its placement cell (src/kernel/thread-placement.ts), which it fills in. */
export interface CounterWorkerData {
  readonly placement: HelperCell;
}

/** Sent once the worker has claimed its last job: the parse errors of the jobs it found malformed. */
export interface CounterReply {
  id: number;
  malformed: Array<{ index: number; message: string }>;
}
