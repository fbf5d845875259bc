import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import { afterAll, describe, expect, it } from 'vitest';
import { THREAD_NAME_MAX, THREAD_NAMES } from '../../src/kernel/thread-name.js';

// The helper threads run from dist/ (their worker files are compiled JavaScript), which
// `npm test` builds first.
const dist = (path: string): string => fileURLToPath(new URL(`../../dist/${path}`, import.meta.url));

/** The names of this process's threads, as top -H shows them. */
const threadNames = (): string[] =>
  readdirSync('/proc/self/task').flatMap((tid) => {
    try {
      return [readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim()];
    } catch {
      return []; // a thread that ended meanwhile
    }
  });

async function until(found: () => boolean, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 20))) if (found()) return true;
  return found();
}

describe('helper thread names', () => {
  const cleanups: Array<() => unknown> = [];
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it('fit the kernel name length, so none is cut short', () => {
    for (const name of Object.values(THREAD_NAMES)) expect(Buffer.byteLength(name)).toBeLessThanOrEqual(THREAD_NAME_MAX);
    expect(new Set(Object.values(THREAD_NAMES)).size).toBe(Object.values(THREAD_NAMES).length);
  });

  it('name the netlink dump thread once it has run a dump', async () => {
    const { sharedDumpThread } = (await import(dist('netlink/dump-thread.js'))) as typeof import('../../src/netlink/dump-thread.js');
    expect(threadNames()).not.toContain(THREAD_NAMES.netlinkDump);
    await sharedDumpThread().run({ type: 'dump', requests: [], receiveTimeoutMs: 1000 }, 5000, () => true);
    expect(threadNames()).toContain(THREAD_NAMES.netlinkDump);
  });

  it('name the namespace counter reader once it has started', async () => {
    const { CounterReadThread } = (await import(dist('collectors/netns-counter-thread.js'))) as typeof import('../../src/collectors/netns-counter-thread.js');
    const thread = new CounterReadThread();
    expect(thread.available).toBe(true);
    thread.prestart();
    expect(await until(() => threadNames().includes(THREAD_NAMES.counterReader), 10_000)).toBe(true);
  });

  it('name the password checker once it has checked a password', async () => {
    const { BcryptWorker } = (await import(dist('web/bcrypt-worker.js'))) as typeof import('../../src/web/bcrypt-worker.js');
    const verifier = new BcryptWorker();
    cleanups.push(() => verifier.close());
    const hash = bcrypt.hashSync('right', 4);
    expect(await verifier.compare('right', hash)).toBe(true);
    expect(threadNames()).toContain(THREAD_NAMES.passwordCheck);
  });
});
