/**
 * The main thread's side of netns-counter-worker.ts: hands it the kept descriptors of every
 * namespace and gets back the parsed counters of those it claimed, while this thread claims and
 * reads the others. Both take the next namespace from one shared index, so the thread that is
 * held up (by the event loop's other work, or by the scheduler) simply reads fewer. One worker
 * for the process, started on first use and unref'd so it never keeps the process alive; where it
 * cannot run (its compiled file is missing, as when the sources run untranspiled, or it died),
 * this thread reads everything, as before.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { THREAD_NAMES } from '../kernel/thread-name.js';
import { forgetHelper, helperCell, registerHelper, steerHelper } from '../kernel/thread-placement.js';
import type { CounterJob, CounterReply, CounterRequest, CounterWorkerData, RoundMemory } from './netns-counter-protocol.js';

const WORKER_FILE = new URL('./netns-counter-worker.js', import.meta.url);
/** A reply later than this means the worker is stuck: its namespaces count as unreadable this scrape. */
const REPLY_TIMEOUT_MS = 10_000;

export class CounterReadThread {
  private worker: Worker | undefined;
  private usable = availableParallelism() > 1 && existsSync(fileURLToPath(WORKER_FILE));
  private nextId = 0;
  /** The generation of the jobs the worker holds (netns-counter-protocol.ts: CounterRequest). */
  private sentGeneration: number | undefined;
  /** The worker's placement cell, kept for each worker in turn (cleared when one exits). */
  private readonly placement = helperCell();

  /** Whether a second thread can take a share of the reads. */
  get available(): boolean {
    return this.usable;
  }

  /**
   * Reads and parses, on the worker, the jobs it claims through `memory`, until none is left,
   * into `memory`; resolves with its parse errors once it has claimed its last, and rejects if the
   * worker cannot (the caller then reads whatever it left pending).
   */
  read(jobs: () => readonly CounterJob[], generation: number, memory: RoundMemory): Promise<CounterReply['malformed']> {
    const worker = this.start();
    const sameJobs = generation === this.sentGeneration;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const done = (error: Error | undefined, malformed?: CounterReply['malformed']): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        worker.unref();
        if (error === undefined) resolve(malformed!);
        else reject(error);
      };
      const onMessage = (reply: CounterReply): void => {
        if (reply.id === id) done(undefined, reply.malformed);
      };
      const onError = (error: Error): void => done(error);
      const onExit = (code: number): void => done(new Error(`the counter reader exited (code ${code})`));
      const timer = setTimeout(() => {
        done(new Error(`the counter reader did not answer in ${REPLY_TIMEOUT_MS} ms`));
        void worker.terminate();
      }, REPLY_TIMEOUT_MS);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.ref();
      const request: CounterRequest = { id, jobs: sameJobs ? undefined : jobs(), memory };
      // Off the CPUs this thread and the dump thread are busy on: its reads are meant to run beside them.
      steerHelper(this.placement);
      worker.postMessage(request);
      this.sentGeneration = generation;
    });
  }

  /** Starts the worker ahead of its first job (loading it takes a few hundred ms on a small machine), if it can run. */
  prestart(): void {
    if (this.usable) this.start();
  }

  private start(): Worker {
    if (this.worker !== undefined) return this.worker;
    // Its heap holds one scrape's texts (a few hundred KiB): a small young generation keeps V8 from
    // growing the default semi-spaces for it, which shows as RSS.
    const placement = this.placement;
    const workerData: CounterWorkerData = { placement };
    const worker = new Worker(WORKER_FILE, { workerData, name: THREAD_NAMES.counterReader, resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32 } });
    worker.unref();
    registerHelper(placement);
    worker.once('exit', () => {
      forgetHelper(placement);
      if (this.worker === worker) this.worker = undefined;
    });
    worker.once('error', () => {
      // One that fails to load will fail again: read on the main thread from now on.
      this.usable = false;
    });
    this.worker = worker;
    this.sentGeneration = undefined;
    return worker;
  }
}
