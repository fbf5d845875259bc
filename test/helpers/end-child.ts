import type { ChildProcess } from 'node:child_process';

/**
 * Ends a child the test started that holds something until its stdin closes (a socket farm, a
 * namespace holder): closes stdin, and kills it by PID if it has not exited within `graceMs`.
 */
export async function endChild(child: ChildProcess | undefined, graceMs = 5000): Promise<void> {
  child?.stdin?.end();
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
