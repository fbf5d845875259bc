import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe } from 'vitest';
import { toolOrSkip } from './require-tool.js';

const run = promisify(execFile);

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const exporterBin = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const farmScript = fileURLToPath(new URL('./socket_farm.py', import.meta.url));

const REQUIRED_TOOLS: ReadonlyArray<{ tool: string; debianPackage: string }> = [
  { tool: 'ip', debianPackage: 'iproute2' },
  { tool: 'ss', debianPackage: 'iproute2' },
  { tool: 'iptables', debianPackage: 'iptables' },
  { tool: 'ip6tables', debianPackage: 'iptables' },
  { tool: 'python3', debianPackage: 'python3' },
];

/** Why network-namespace tests cannot run here, or undefined when they can. */
export function netnsUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'network-namespace tests need root (they run `ip netns add`)';
  const missing = REQUIRED_TOOLS.filter(({ tool, debianPackage }) => !toolOrSkip(tool, debianPackage).available);
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((m) => m.debianPackage))].join(' ');
    return `network-namespace tests need ${missing.map((m) => m.tool).join(', ')}: apt-get install -y ${packages}`;
  }
  return undefined;
}

/**
 * describe() for tests that need a network namespace. Outside CI they are skipped, with the
 * reason, when root or a tool is missing; under CI=true a missing prerequisite fails the run.
 */
export function describeWithNetns(name: string, body: () => void): void {
  const reason = netnsUnavailableReason();
  if (reason !== undefined && process.env.CI === 'true') {
    describe(name, () => {
      throw new Error(`CI=true but ${reason}`);
    });
    return;
  }
  if (reason !== undefined) {
    console.warn(`skipping "${name}": ${reason}`);
    describe.skip(name, body);
    return;
  }
  describe(name, body);
}

export interface RunningFarm {
  pid: number;
  children: number[];
  stop(): Promise<void>;
}

/** A network namespace made for one test file, with loopback up; destroy() removes it. */
export class TestNamespace {
  private readonly processes = new Set<ChildProcess>();

  private constructor(readonly name: string) {}

  static async create(): Promise<TestNamespace> {
    const name = `tcpst-${process.pid}-${randomBytes(3).toString('hex')}`;
    await run('ip', ['netns', 'add', name]);
    await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    // With the default 5 SYN-ACK retries a request socket gives up after ~63 s, which a slow test
    // file can outlast; 8 retries (~4 min, per namespace) keep SYN_RECV and SYN_SENT sockets still.
    await run('ip', ['netns', 'exec', name, 'sysctl', '-q', '-w', 'net.ipv4.tcp_synack_retries=8', 'net.ipv4.tcp_syn_retries=8']);
    return new TestNamespace(name);
  }

  /** Runs a command inside the namespace to completion. */
  async exec(command: string, args: readonly string[], timeoutMs = 30_000): Promise<{ stdout: string; stderr: string }> {
    return run('ip', ['netns', 'exec', this.name, command, ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  }

  /** Starts a long-running command inside the namespace; destroy() ends it if still running. */
  spawn(command: string, args: readonly string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, command, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.processes.add(child);
    child.once('exit', () => this.processes.delete(child));
    return child;
  }

  /**
   * Like spawn(), but entering only the network namespace (nsenter --net): `ip netns exec` also
   * remounts /sys, which hides the cgroup2 mount from what runs inside (the cgroup collector).
   */
  spawnNetOnly(command: string, args: readonly string[]): ChildProcess {
    const child = spawn('nsenter', [`--net=/run/netns/${this.name}`, command, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.processes.add(child);
    child.once('exit', () => this.processes.delete(child));
    return child;
  }

  /** Starts socket_farm.py with a spec and resolves when its sockets have reached their states. */
  async startFarm(spec: unknown, timeoutMs = 30_000): Promise<RunningFarm> {
    const child = this.spawn('python3', [farmScript, JSON.stringify(spec)]);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const lines = createInterface({ input: child.stdout! });
    const ready = await new Promise<{ pid: number; children: number[] }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`socket farm not ready after ${timeoutMs} ms: ${stderr}`)), timeoutMs);
      lines.on('line', (line) => {
        if (line.startsWith('READY ')) {
          clearTimeout(timer);
          resolve(JSON.parse(line.slice(6)) as { pid: number; children: number[] });
        } else if (line.startsWith('ERROR ')) {
          clearTimeout(timer);
          reject(new Error(`socket farm: ${line.slice(6)} ${stderr}`));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`socket farm exited with ${code}: ${stderr}`));
      });
    });
    return {
      ...ready,
      stop: async () => {
        if (child.exitCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.stdin!.end('exit\n');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      },
    };
  }

  /** One scrape by the real CLI inside the namespace (no HTTP, so no extra socket). */
  async collect(flags: readonly string[] = []): Promise<string> {
    const { stdout } = await this.exec(process.execPath, [exporterBin, 'collect', ...flags]);
    return stdout;
  }

  async destroy(): Promise<void> {
    for (const child of this.processes) child.kill('SIGKILL');
    await run('ip', ['netns', 'del', this.name]).catch(() => undefined);
  }
}

/** `ss` state names -> our label values. */
export const SS_STATES: Record<string, string> = {
  ESTAB: 'established',
  'SYN-SENT': 'syn_sent',
  'SYN-RECV': 'syn_recv',
  'FIN-WAIT-1': 'fin_wait1',
  'FIN-WAIT-2': 'fin_wait2',
  'TIME-WAIT': 'time_wait',
  UNCONN: 'close',
  'CLOSE-WAIT': 'close_wait',
  'LAST-ACK': 'last_ack',
  LISTEN: 'listen',
  CLOSING: 'closing',
};

/** Counts `ss -tanH` output lines by our state label. */
export function countSsStates(output: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue;
    const ssState = line.trim().split(/\s+/)[0]!;
    const state = SS_STATES[ssState];
    if (state === undefined) throw new Error(`unknown ss state ${ssState}`);
    counts[state] = (counts[state] ?? 0) + 1;
  }
  return counts;
}
