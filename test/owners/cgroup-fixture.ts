import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe } from 'vitest';
import { ProcRoot } from '../../src/procfs/proc-root.js';
import { readCgroup2Mount } from '../../src/owners/mountinfo.js';

/** Why real-cgroup tests cannot run here, or undefined when they can. */
export async function cgroupUnavailableReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'cgroup tests need root (they mkdir in the cgroup2 mount and move processes)';
  const mount = await readCgroup2Mount(new ProcRoot('/proc')).catch(() => undefined);
  if (mount === undefined) return 'cgroup tests need a cgroup2 mount (mount -t cgroup2 none /sys/fs/cgroup)';
  return undefined;
}

/** describe() for tests that make real cgroups: skipped outside CI when impossible, failing under CI=true. */
export async function describeWithCgroups(name: string, body: () => void): Promise<void> {
  const reason = await cgroupUnavailableReason();
  if (reason !== undefined && process.env.CI === 'true') {
    describe(name, () => {
      throw new Error(`CI=true but ${reason}`);
    });
  } else if (reason !== undefined) {
    console.warn(`skipping "${name}": ${reason}`);
    describe.skip(name, body);
  } else {
    describe(name, body);
  }
}

export async function cgroup2MountPoint(): Promise<string> {
  const mount = await readCgroup2Mount(new ProcRoot('/proc'));
  if (mount === undefined) throw new Error('no cgroup2 mount');
  return mount.mountPoint;
}

/**
 * A subtree of real cgroup v2 directories for one test file, below `<mount>/owners-test-<pid>-<hex>`.
 * destroy() ends the processes it started (by PID) and removes the directories, children first.
 */
export class TestCgroups {
  private readonly made: string[] = [];
  private readonly processes = new Set<ChildProcess>();

  private constructor(
    readonly mountPoint: string,
    /** Path of the subtree's top below the mount, e.g. "/owners-test-123-abcdef". */
    readonly base: string,
  ) {}

  static async create(): Promise<TestCgroups> {
    const mountPoint = await cgroup2MountPoint();
    const tree = new TestCgroups(mountPoint, `/owners-test-${process.pid}-${randomBytes(3).toString('hex')}`);
    tree.mkdir('');
    return tree;
  }

  /** Absolute directory of a cgroup given relative to the subtree's top. */
  dir(relative: string): string {
    return join(this.mountPoint, this.base, relative);
  }

  /** Its path as the kernel names it (from the hierarchy's root). */
  cgroupPath(relative: string): string {
    return join(this.base, relative).replace(/\/$/, '');
  }

  /** mkdir -p, remembering every directory it made for cleanup. */
  mkdir(relative: string): string {
    const parts = relative.split('/').filter((p) => p !== '');
    for (let i = 0; i <= parts.length; i++) {
      const dir = this.dir(parts.slice(0, i).join('/'));
      try {
        mkdirSync(dir);
        this.made.push(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    return this.dir(relative);
  }

  /** rmdir one cgroup now (it must be empty of processes and children). */
  rmdir(relative: string): void {
    const dir = this.dir(relative);
    rmdirSync(dir);
    this.made.splice(this.made.indexOf(dir), 1);
  }

  ino(relative: string): number {
    return statSync(this.dir(relative)).ino;
  }

  /** Starts `command` already inside the cgroup: a shell writes its own PID to cgroup.procs, then execs. */
  spawnIn(relative: string, command: string, args: readonly string[], wrapper: readonly string[] = []): ChildProcess {
    const procs = join(this.mkdir(relative), 'cgroup.procs');
    const child = spawn(...spawnArgs(wrapper, ['sh', '-c', 'echo $$ > "$0" && exec "$@"', procs, command, ...args]), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.processes.add(child);
    child.once('exit', () => this.processes.delete(child));
    return child;
  }

  /** The cgroup v2 path a process is in, from /proc/<pid>/cgroup. */
  static cgroupOf(pid: number): string {
    const line = readFileSync(`/proc/${pid}/cgroup`, 'latin1').split('\n').find((l) => l.startsWith('0::'));
    return line?.slice(3) ?? '';
  }

  async destroy(): Promise<void> {
    const exits = [...this.processes].map((child) => new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve(undefined);
      else child.once('exit', resolve);
    }));
    for (const child of this.processes) child.kill('SIGKILL');
    await Promise.race([Promise.all(exits), new Promise((resolve) => setTimeout(resolve, 5000))]);
    // Children first: deepest paths first.
    for (const dir of [...this.made].sort((a, b) => b.length - a.length)) {
      for (let attempt = 0; attempt < 50; attempt++) {
        try {
          rmdirSync(dir);
          break;
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') break;
          if (code !== 'EBUSY' || attempt === 49) throw error;
          await new Promise((resolve) => setTimeout(resolve, 20)); // a killed process leaves its cgroup shortly after exit
        }
      }
    }
    this.made.length = 0;
  }
}

function spawnArgs(wrapper: readonly string[], command: readonly string[]): [string, string[]] {
  const all = [...wrapper, ...command];
  return [all[0]!, all.slice(1)];
}

/** A python3 listener on 127.0.0.1 that prints its port and sleeps; stdin EOF ends it. */
export const LISTENER_PY = [
  '-c',
  'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); sys.stdin.read()',
];

/** The first line a child prints, within a timeout. */
export function firstLine(child: ChildProcess, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no output after ${timeoutMs} ms: ${err}`)), timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const newline = out.indexOf('\n');
      if (newline >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, newline));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before printing: ${err}`));
    });
  });
}

export function writeProcs(dir: string, pid: number): void {
  writeFileSync(join(dir, 'cgroup.procs'), String(pid));
}
