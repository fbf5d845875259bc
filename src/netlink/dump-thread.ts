/**
 * The main thread's side of the dump thread (worker.ts): starts the worker, hands it a dump,
 * and delivers each datagram the worker read, in order, to a callback. The protocol is in
 * shared-memory.ts.
 */
import { Worker } from 'node:worker_threads';
import { THREAD_NAMES } from '../kernel/thread-name.js';
import { forgetHelper, helperCell, registerHelper, steerHelper, type HelperCell } from '../kernel/thread-placement.js';
import { SyscallError } from './errors.js';
import {
  ABORT_INDEX,
  COMPLETED_INDEX,
  CONTROL_WORDS,
  SLOT_BYTES,
  SLOT_COUNT,
  SLOT_FREE,
  SLOT_STRIDE,
  SLOT_WORDS_PER_DATAGRAM,
  type DumpCommand,
  type WorkerData,
  type WorkerReply,
} from './shared-memory.js';

export const WORKER_FILE = new URL('./worker.js', import.meta.url);

/** The dump thread could not start (or died before it answered): nothing reached the sink. */
export class DumpThreadUnusable extends Error {}

/**
 * Called for every datagram, in order, with its place in `bytes` and the index of its request.
 * It returns true once that datagram ended the request's dump (the parser saw NLMSG_DONE), which
 * tells the worker to move on; throwing aborts the dump and rejects with that error.
 */
export type DatagramHandler = (start: number, length: number, request: number) => boolean;

/**
 * The worker thread and the shared memory it fills. One dump at a time (run() queues the rest);
 * created on the first scan, kept for the next ones, and unref'd between scans so it never keeps
 * the process alive.
 */
export class DumpThread {
  /** Dumps run one after the other: one worker, one set of slots, whichever source asks. */
  private queue: Promise<unknown> = Promise.resolve();
  private worker: Worker | null = null;
  /** The worker's placement cell, kept for each worker in turn (cleared when one exits). */
  private readonly placement: HelperCell = helperCell();
  private readonly data = new SharedArrayBuffer(SLOT_COUNT * SLOT_BYTES);
  private readonly control = new SharedArrayBuffer(CONTROL_WORDS * 4);
  readonly bytes = new Uint8Array(this.data);
  readonly words = new Uint32Array(this.data);
  private readonly ctrl = new Int32Array(this.control);

  /** Whether the worker ever answered; a worker that never did is not tried again. */
  private answered = false;

  private start(): Worker {
    if (this.worker !== null) return this.worker;
    const placement = this.placement;
    const workerData: WorkerData = { data: this.data, control: this.control, placement };
    let worker: Worker;
    try {
      // The worker allocates almost nothing (it fills shared memory): keep V8's heap for it small.
      worker = new Worker(WORKER_FILE, { workerData, name: THREAD_NAMES.netlinkDump, resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32 } });
    } catch (error) {
      throw new DumpThreadUnusable(`netlink: cannot start the dump thread: ${(error as Error).message}`);
    }
    worker.unref();
    // A worker that dies is replaced at the next scan.
    registerHelper(placement);
    worker.once('exit', () => {
      forgetHelper(placement);
      if (this.worker === worker) this.worker = null;
    });
    this.worker = worker;
    return worker;
  }

  private reset(): void {
    for (let slot = 0; slot < SLOT_COUNT; slot++) this.ctrl[slot * SLOT_STRIDE] = SLOT_FREE;
    Atomics.store(this.ctrl, ABORT_INDEX, 0);
    Atomics.store(this.ctrl, COMPLETED_INDEX, 0);
  }

  /** Runs one dump after those already queued; `silenceMs` without a word from the worker fails it. */
  run(command: DumpCommand, silenceMs: number, onDatagram: DatagramHandler): Promise<void> {
    const next = this.queue.then(
      () => this.runNow(command, silenceMs, onDatagram),
      () => this.runNow(command, silenceMs, onDatagram),
    );
    this.queue = next.catch(() => undefined);
    return next;
  }

  private runNow(command: DumpCommand, silenceMs: number, onDatagram: DatagramHandler): Promise<void> {
    this.reset();
    const worker = this.start();
    const ctrl = this.ctrl;
    return new Promise<void>((resolve, reject) => {
      let failure: unknown = null;
      let watchdog: NodeJS.Timeout;
      const arm = (): void => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => {
          finish(new Error(`netlink: no data from the dump thread for ${silenceMs} ms`));
          void worker.terminate();
        }, silenceMs);
      };
      const finish = (error: unknown): void => {
        clearTimeout(watchdog);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        worker.unref();
        this.reset();
        if (error === null) resolve();
        else reject(error);
      };
      const onMessage = (reply: WorkerReply): void => {
        this.answered = true;
        arm();
        if (reply.type === 'slot') {
          const at = reply.slot * SLOT_STRIDE;
          if (failure === null) {
            try {
              const count = ctrl[at + 1]!;
              for (let i = 0; i < count; i++) {
                const entry = at + 2 + SLOT_WORDS_PER_DATAGRAM * i;
                const request = ctrl[entry + 2]!;
                if (onDatagram(ctrl[entry]!, ctrl[entry + 1]!, request)) {
                  Atomics.store(ctrl, COMPLETED_INDEX, request + 1);
                  Atomics.notify(ctrl, COMPLETED_INDEX);
                }
              }
            } catch (error) {
              failure = error;
              Atomics.store(ctrl, ABORT_INDEX, 1);
              Atomics.notify(ctrl, COMPLETED_INDEX);
            }
          }
          Atomics.store(ctrl, at, SLOT_FREE);
          Atomics.notify(ctrl, at);
        } else if (reply.type === 'end' || reply.type === 'aborted') {
          finish(failure);
        } else {
          finish(failure ?? (reply.errno !== undefined && reply.syscall !== undefined ? new SyscallError(reply.syscall, reply.errno, 'netlink') : new Error(reply.message)));
        }
      };
      const died = (why: string): Error => (this.answered ? new Error(`netlink: ${why}`) : new DumpThreadUnusable(`netlink: ${why}`));
      const onError = (error: Error): void => finish(died(`the dump thread failed: ${error.message}`));
      const onExit = (code: number): void => finish(died(`the dump thread exited (code ${code})`));
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.ref(); // a scan in flight keeps the process alive (e.g. `collect`)
      arm();
      // Off the CPUs this thread and the counter reader are busy on: it is meant to run beside them.
      steerHelper(this.placement);
      worker.postMessage(command);
    });
  }
}

let shared: DumpThread | undefined;

/**
 * The process's main dump thread, shared by every netlink source (the host's table, each other
 * namespace's, the tcp_info dump), which queue on it.
 */
export function sharedDumpThread(): DumpThread {
  return (shared ??= new DumpThread());
}

const sideThreads: DumpThread[] = [];

/**
 * Dump thread `index` of those that may run at once: 0 is the shared one; the others are made on
 * first use, only by namespace dumps that each walk the host's whole hash (netns-batch.ts), and
 * cost a worker and 1 MiB of slots each.
 */
export function dumpThreadAt(index: number): DumpThread {
  if (index === 0) return sharedDumpThread();
  return (sideThreads[index - 1] ??= new DumpThread());
}
