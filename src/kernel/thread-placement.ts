/**
 * Where a woken helper thread runs. When the event loop wakes one of its helper threads (the
 * counter reader, the netlink dump thread) to work beside it, Linux may queue the helper on the
 * waker's own CPU, or on the CPU of the other busy helper, even with a CPU idle: after a second or
 * more of idle its hint of which CPUs are worth scanning for an idle one is stale, and the two
 * threads then share one CPU until the next scheduler tick balances them (4 ms at HZ=250). On a
 * 2-CPU node that made a round of counter reads take ~1.7× as long after an idle second as back
 * to back. Two C threads, one waking the other the same way, showed the same; steered as below,
 * they took the back-to-back time every round.
 *
 * So the waker narrows the helper's CPUs, just before waking it, to those that no thread of this
 * scrape is busy on (its own, and the other helper's while that one works), and the helper, first
 * thing once awake, widens them back to what it had at start. It is a placement hint for one
 * wake-up, never a pin: the kernel still chooses among the CPUs left. Best effort: where the calls
 * are missing or refused, threads are placed as before.
 *
 * Each helper has a HelperCell, shared memory it writes and the main thread reads: its thread id,
 * and the CPU it is busy on (-1 while it waits for work). libc through koffi (libc.ts).
 */
import { libcFunctions } from './libc.js';

/** Room for 1024 CPUs (glibc's cpu_set_t). */
const MASK_BYTES = 128;
const MAX_CPUS = MASK_BYTES * 8;
const TID = 0;
const BUSY_CPU = 1;
const IDLE = -1;

/** [thread id (0 until it runs), the CPU it is busy on or -1], over a SharedArrayBuffer. */
export type HelperCell = Int32Array;

interface PlacementCalls {
  gettid: () => number;
  sched_getcpu: () => number;
  sched_getaffinity: (tid: number, size: number, mask: Uint8Array) => number;
  sched_setaffinity: (tid: number, size: number, mask: Uint8Array) => number;
}

let calls: PlacementCalls | null | undefined;

function load(): PlacementCalls | null {
  if (calls !== undefined) return calls;
  try {
    calls = libcFunctions<PlacementCalls>({
      gettid: 'int gettid(void)',
      sched_getcpu: 'int sched_getcpu(void)',
      // Plain `void *`: koffi hands the kernel the typed array's own memory, both ways.
      sched_getaffinity: 'int sched_getaffinity(int tid, size_t size, void *mask)',
      sched_setaffinity: 'int sched_setaffinity(int tid, size_t size, void *mask)',
    });
  } catch {
    calls = null;
  }
  return calls;
}

const hasCpu = (mask: Uint8Array, cpu: number): boolean => ((mask[cpu >> 3] ?? 0) >> (cpu & 7)) % 2 === 1;
const dropCpu = (mask: Uint8Array, cpu: number): void => {
  if (cpu >= 0 && cpu < MAX_CPUS) mask[cpu >> 3] = (mask[cpu >> 3] ?? 0) & ~(1 << (cpu & 7));
};
const isEmpty = (mask: Uint8Array): boolean => mask.every((byte) => byte === 0);

/** A fresh cell for a helper about to start: no thread id yet, not busy. */
export function helperCell(): HelperCell {
  const cell = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
  cell[BUSY_CPU] = IDLE;
  return cell;
}

/** The helpers of this process, by cell: whose busy CPUs a waking helper is steered off. */
const helpers = new Set<HelperCell>();

/** Counts a helper in (once started) or out (once it has exited: its thread id may be reused). */
export function registerHelper(cell: HelperCell): void {
  helpers.add(cell);
}
export function forgetHelper(cell: HelperCell): void {
  helpers.delete(cell);
  Atomics.store(cell, TID, 0);
  Atomics.store(cell, BUSY_CPU, IDLE);
}

/** The helper's side, in its own thread: its id for the waker, and the CPUs it started with. */
export class WokenThread {
  private constructor(
    private readonly c: PlacementCalls,
    private readonly cell: HelperCell,
    private readonly startMask: Uint8Array,
  ) {}

  /** This thread, made known through `cell`; undefined where its CPUs cannot be read. */
  static here(cell: HelperCell): WokenThread | undefined {
    const c = load();
    if (c === null) return undefined;
    const mask = new Uint8Array(MASK_BYTES);
    if (c.sched_getaffinity(0, MASK_BYTES, mask) !== 0) return undefined;
    Atomics.store(cell, TID, c.gettid());
    return new WokenThread(c, cell, mask);
  }

  /** First thing once woken: back to the CPUs it started with, and busy on the one it runs on. */
  woken(): void {
    this.c.sched_setaffinity(0, MASK_BYTES, this.startMask);
    Atomics.store(this.cell, BUSY_CPU, this.c.sched_getcpu());
  }

  /** Once its work is done, before it waits for more. */
  idle(): void {
    Atomics.store(this.cell, BUSY_CPU, IDLE);
  }
}

/**
 * The waker's side, just before it wakes the helper of `cell`: limits that helper to the CPUs
 * this thread may run on but no thread of ours is busy on (this one, the other helpers at work);
 * with none such, to those no other helper is busy on. Unchanged when nothing is left, when the
 * helper has not told its id yet, or where the calls are missing. True when narrowed.
 */
export function steerHelper(cell: HelperCell): boolean {
  const tid = Atomics.load(cell, TID);
  const c = tid > 0 ? load() : null;
  if (c === null) return false;
  const allowed = new Uint8Array(MASK_BYTES);
  if (c.sched_getaffinity(0, MASK_BYTES, allowed) !== 0) return false;
  for (const other of helpers) if (other !== cell) dropCpu(allowed, Atomics.load(other, BUSY_CPU));
  const offThisCpu = allowed.slice();
  dropCpu(offThisCpu, c.sched_getcpu());
  const mask = isEmpty(offThisCpu) ? allowed : offThisCpu;
  if (isEmpty(mask)) return false;
  return c.sched_setaffinity(tid, MASK_BYTES, mask) === 0;
}

/** The CPUs thread `tid` (0: this one) may run on, ascending; undefined where unreadable. For tests and diagnosis. */
export function allowedCpus(tid = 0): number[] | undefined {
  const c = load();
  if (c === null) return undefined;
  const mask = new Uint8Array(MASK_BYTES);
  if (c.sched_getaffinity(tid, MASK_BYTES, mask) !== 0) return undefined;
  const cpus: number[] = [];
  for (let cpu = 0; cpu < MAX_CPUS; cpu++) if (hasCpu(mask, cpu)) cpus.push(cpu);
  return cpus;
}

/** The CPU this thread runs on now; undefined where unknown. For tests and diagnosis. */
export function currentCpu(): number | undefined {
  const c = load();
  const cpu = c === null ? -1 : c.sched_getcpu();
  return cpu < 0 ? undefined : cpu;
}
