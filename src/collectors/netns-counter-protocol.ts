/**
 * What the main thread and the counter worker (netns-counter-thread.ts, netns-counter-worker.ts)
 * say to each other, and the shared index both claim namespaces by.
 */
import type { NamespaceCounters } from './netns-counters.js';

export interface CounterJob {
  readonly inode: number;
  readonly fds: ReadonlyArray<number | undefined>;
  readonly paths: readonly string[];
}

/** The outcome for jobs[index]. */
export type CounterResult =
  | { index: number; outcome: 'read'; counters: NamespaceCounters }
  | { index: number; outcome: 'unreadable' }
  | { index: number; outcome: 'malformed'; message: string };

/** What the worker is sent: every job, and the shared index both threads claim jobs by. */
export interface CounterRequest {
  id: number;
  jobs: readonly CounterJob[];
  /** Int32Array over a SharedArrayBuffer: [0] is the next unclaimed job. */
  next: Int32Array;
}

/** Claims the next job through the shared index; undefined once all are taken. */
export function claimJob(next: Int32Array, jobs: number): number | undefined {
  const index = Atomics.add(next, 0, 1);
  return index < jobs ? index : undefined;
}

/** A fresh shared index, at 0. */
export function sharedIndex(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4));
}

export interface CounterReply {
  id: number;
  results: CounterResult[];
}
