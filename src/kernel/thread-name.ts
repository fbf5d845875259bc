/**
 * Names the calling thread, as `top -H`, `ps -L`, `perf` and /proc/<pid>/task/<tid>/comm show it.
 * Node leaves every thread named "node", so an operator looking at where the exporter spends its
 * CPU cannot tell the event loop from the dump thread, the counter reader or V8's own helpers.
 */
import { writeFileSync } from 'node:fs';

/** The kernel keeps the first 15 bytes of a thread's name (TASK_COMM_LEN, less its NUL). */
export const THREAD_NAME_MAX = 15;

/** The helper threads' names, each within THREAD_NAME_MAX. */
export const THREAD_NAMES = {
  netlinkDump: 'tcpstate-dump',
  counterReader: 'tcpstate-counts',
  passwordCheck: 'tcpstate-bcrypt',
} as const;

/**
 * Sets this thread's name through /proc/thread-self/comm; best effort: without /proc, or where a
 * sandbox refuses the write, the thread keeps its name and nothing else changes.
 */
export function nameThisThread(name: string): boolean {
  try {
    writeFileSync('/proc/thread-self/comm', name.slice(0, THREAD_NAME_MAX));
    return true;
  } catch {
    return false;
  }
}
