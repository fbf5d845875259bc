/**
 * What the install tests share: a copy of the working tree to pack from (so a test never writes
 * into the checkout), npm run with a throw-away cache, and the installed command started on a free
 * loopback port and scraped.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { freePort } from '../helpers/exporter-process.js';
import { parseExposition, select, valueOf } from '../helpers/exposition.js';
import { repoRoot } from '../helpers/netns.js';

export const run = promisify(execFile);

export const packageVersion: string = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

/** A scratch directory under the system tmpdir, and a function that removes it. */
export function scratchDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `tcpstate-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Copies the files git knows about (tracked, and new files not ignored) into `dest`: the working
 * tree as a fresh clone would have it, without dist/ or node_modules/. The checkout's node_modules
 * is linked in so the copy can build without a download.
 */
export function copyWorkingTree(dest: string): void {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\0')
    .filter((file) => file !== '' && !file.startsWith('node_modules/'));
  for (const file of files) {
    mkdirSync(join(dest, dirname(file)), { recursive: true });
    try {
      cpSync(join(repoRoot, file), join(dest, file));
    } catch (error) {
      // A file deleted in the working tree but still in the index is not part of the tree.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  symlinkSync(join(repoRoot, 'node_modules'), join(dest, 'node_modules'));
}

/** The environment for npm: its cache inside `scratch`, no update check, audit or funding talk. */
export function npmEnv(scratch: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    npm_config_cache: join(scratch, 'npm-cache'),
    npm_config_update_notifier: 'false',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_loglevel: 'error',
  };
}

/** Runs `npm pack` in `dir` and returns the tarball's path. */
export async function npmPack(dir: string, env: NodeJS.ProcessEnv): Promise<string> {
  const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: dir, env, maxBuffer: 16 << 20 });
  const name = stdout.trim().split('\n').pop()!;
  return join(dir, name);
}

export interface Started {
  url: string;
  port: number;
  child: ChildProcess;
  logs(): string;
  /** SIGTERM by PID, SIGKILL after 8 s; the exit code, or null when killed by a signal. */
  stop(): Promise<number | null>;
}

/** Starts `program args… --web.listen-address=127.0.0.1:<free port>` and waits for /-/healthy. */
export async function startListening(program: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Started> {
  const port = await freePort();
  const child = spawn(program, [...args, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env, cwd: options.cwd });
  let logs = '';
  child.stdout!.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${program} exited with ${child.exitCode}: ${logs}`);
    if (await fetch(`${url}/-/healthy`).then((r) => r.ok, () => false)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${program} not healthy after 60 s: ${logs}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { url, port, child, logs: () => logs, stop };
}

/** One /metrics body from `exporter`. */
export async function scrape(exporter: Started): Promise<string> {
  const response = await fetch(`${exporter.url}/metrics`);
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  return response.text();
}

/**
 * The scrape is the real host's socket table read over netlink: every default collector succeeded,
 * and the exporter's own listening port is there with its accept-queue limit (which only the
 * netlink source reports, so koffi's native part loaded from the installed tree).
 */
export function expectRealScrape(body: string, port: number): void {
  const samples = parseExposition(body);
  for (const collector of ['sockets', 'sockstat', 'netstat', 'sysctl']) {
    expect(valueOf(samples, 'tcpstate_scrape_collector_success', { collector }), `collector ${collector}`).toBe(1);
  }
  expect(valueOf(samples, 'tcpstate_port_sockets', { port: String(port), state: 'listen' }), 'its own listening socket').toBe(1);
  expect(valueOf(samples, 'tcpstate_listen_queue_max', { port: String(port) }), 'accept-queue limit from netlink').toBeGreaterThan(0);
  const established = select(samples, 'tcpstate_sockets', { state: 'established' }).reduce((sum, s) => sum + s.value, 0);
  expect(established, 'the scrape connection itself is established').toBeGreaterThan(0);
}
