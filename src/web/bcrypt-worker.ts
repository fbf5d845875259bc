import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { THREAD_NAMES } from '../kernel/thread-name.js';

/**
 * bcrypt comparisons on a worker thread, so that a flood of wrong passwords costs that thread's
 * time and never the event loop's (which serves /metrics and /-/healthy).
 *
 * The worker's code is inline rather than a file of its own so that it runs the same from dist/
 * and from the TypeScript sources under test. It names its thread (top -H shows it) and lowers its own thread's priority (nice 19, by
 * its thread id) so that on a busy host the hashing yields the CPU to the scrapes.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const bcrypt = require(workerData.bcryptPath);
try { require('node:fs').writeFileSync('/proc/thread-self/comm', workerData.threadName); } catch {}
try {
  const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
  if (Number.isInteger(tid)) require('node:os').setPriority(tid, 19);
} catch {}
parentPort.on('message', ({ id, password, hash }) => {
  let ok = false;
  try { ok = bcrypt.compareSync(password, hash); } catch {}
  parentPort.postMessage({ id, ok });
});
`;

interface Reply {
  id: number;
  ok: boolean;
}

export interface PasswordVerifier {
  /** Pending plus running comparisons; the caller bounds it. */
  readonly pending: number;
  compare(password: string, hash: string): Promise<boolean>;
  close(): Promise<void>;
}

/** One worker thread, started on first use and kept; a crashed worker fails its callers and is replaced. */
export class BcryptWorker implements PasswordVerifier {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly waiting = new Map<number, (ok: boolean) => void>();

  get pending(): number {
    return this.waiting.size;
  }

  compare(password: string, hash: string): Promise<boolean> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      worker.postMessage({ id, password, hash });
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.failAll();
    if (worker !== undefined) await worker.terminate();
  }

  private start(): Worker {
    if (this.worker !== undefined) return this.worker;
    const bcryptPath = createRequire(import.meta.url).resolve('bcryptjs');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcryptPath, threadName: THREAD_NAMES.passwordCheck }, name: THREAD_NAMES.passwordCheck });
    worker.unref();
    worker.on('message', ({ id, ok }: Reply) => {
      const resolve = this.waiting.get(id);
      this.waiting.delete(id);
      resolve?.(ok);
    });
    const lost = (): void => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll();
    };
    worker.on('error', lost);
    worker.on('exit', lost);
    this.worker = worker;
    return worker;
  }

  private failAll(): void {
    for (const resolve of this.waiting.values()) resolve(false);
    this.waiting.clear();
  }
}
