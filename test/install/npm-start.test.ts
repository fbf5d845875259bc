/**
 * `npm start` behaves as one process: it builds (prestart), then npm's shell execs the server,
 * so a SIGTERM to npm's PID reaches the exporter, which shuts down and frees its port.
 * Runs in a copy of the working tree, so the build does not rewrite the dist/ other tests use.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyWorkingTree, npmEnv, run, scratchDir, startListening } from './helpers.js';

/** Whether 127.0.0.1:port can be bound right now. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A failed run leaves the server orphaned: end it, found by the port it holds (ss -ltnp). */
async function killListener(port: number): Promise<void> {
  const { stdout } = await run('ss', ['-Hltnp', `sport = :${port}`]);
  for (const [, pid] of stdout.matchAll(/pid=(\d+)/g)) process.kill(Number(pid), 'SIGKILL');
}

describe('npm start', () => {
  const scratch = scratchDir('npm-start');
  afterAll(scratch.remove);

  it('builds, serves, and on SIGTERM to npm’s PID stops the exporter and frees the port', async () => {
    const tree = join(scratch.dir, 'tree');
    copyWorkingTree(tree);
    const started = await startListening('npm', ['start', '--'], { cwd: tree, env: npmEnv(scratch.dir) });
    expect(await fetch(`${started.url}/metrics`).then((r) => r.status)).toBe(200);

    const exited = new Promise<number | null>((resolve) => started.child.once('exit', (code) => resolve(code)));
    process.kill(started.child.pid!, 'SIGTERM');
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 10_000).unref());
    const code = await Promise.race([exited, timeout]);
    if (code === 'timeout') await started.stop();
    const free = await portIsFree(started.port);
    if (!free) await killListener(started.port);
    expect(free, 'the exporter outlived npm and still holds the port').toBe(true);
    expect(code).toBe(0);
    expect(started.logs()).toMatch(/shutting down.*SIGTERM/);
  }, 180_000);
});
