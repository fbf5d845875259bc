import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { exporterBin } from './netns.js';

export const fixtureProcfs = new URL('../fixtures/proc', import.meta.url).pathname;

/** A free TCP port on loopback (the kernel picks it; a race with another binder is unlikely). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

export interface RunningExporter {
  url: string;
  port: number;
  child: ChildProcess;
  logs(): string;
  stop(): Promise<number | null>;
}

/**
 * Starts the real CLI (dist/main.js) on a free loopback port and resolves once /-/healthy
 * answers. `command` runs it some other way, e.g. inside a namespace with `ip netns exec`.
 */
export async function startExporter(flags: readonly string[], command: readonly string[] = [process.execPath], env: NodeJS.ProcessEnv = process.env): Promise<RunningExporter> {
  const port = await freePort();
  const [program, ...prefix] = command;
  const child = spawn(program!, [...prefix, exporterBin, `--web.listen-address=127.0.0.1:${port}`, ...flags], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let logs = '';
  child.stdout!.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exporter exited with ${child.exitCode}: ${logs}`);
    const healthy = await fetch(`${url}/-/healthy`).then((r) => r.ok, () => false);
    if (healthy) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`exporter not healthy after 15 s: ${logs}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    port,
    child,
    logs: () => logs,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
