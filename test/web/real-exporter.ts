import { spawn, type ChildProcess } from 'node:child_process';
import { fixtureProcfs, freePort } from '../helpers/exporter-process.js';
import { exporterBin } from '../helpers/netns.js';

export interface SpawnedExporter {
  url: string;
  child: ChildProcess;
  logs(): string;
  /** Resolves once a log line matches, rejects after timeoutMs. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<number | null>;
}

/**
 * The real binary (dist/main.js) over the fixture /proc, HTTP or HTTPS, ready once it logs
 * "listening". `prefix` runs it under another command, such as prlimit.
 */
export async function spawnExporter(flags: readonly string[], options: { https?: boolean; prefix?: readonly string[] } = {}): Promise<SpawnedExporter> {
  const port = await freePort();
  const [program, ...args] = [...(options.prefix ?? []), process.execPath, exporterBin, `--web.listen-address=127.0.0.1:${port}`, `--path.procfs=${fixtureProcfs}`, ...flags];
  const child = spawn(program!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let logs = '';
  const waiters = new Set<() => void>();
  child.stderr!.on('data', (chunk: Buffer) => {
    logs += chunk.toString();
    for (const check of waiters) check();
  });
  const waitForLog = (pattern: RegExp, timeoutMs = 10_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const line = logs.split('\n').find((l) => pattern.test(l));
        if (line === undefined) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(line);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no log line matching ${pattern} within ${timeoutMs} ms; logs: ${logs}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await Promise.race([waitForLog(/msg=listening/, 15_000), exited.then(() => Promise.reject(new Error(`exporter exited: ${logs}`)))]);
  return {
    url: `${options.https ? 'https' : 'http'}://127.0.0.1:${port}`,
    child,
    logs: () => logs,
    waitForLog,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
