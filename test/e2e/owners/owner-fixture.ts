import { execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { firstLine, TestCgroups } from '../../owners/cgroup-fixture.js';
import { exporterBin, SS_STATES, type TestNamespace } from '../../helpers/netns.js';

const run = promisify(execFile);
const socketsScript = fileURLToPath(new URL('../../helpers/cgroup_sockets.py', import.meta.url));

/** Enters only the test's network namespace: `ip netns exec` also remounts /sys, hiding the cgroup2 mount. */
export function inNamespace(ns: TestNamespace): string[] {
  return ['nsenter', `--net=/run/netns/${ns.name}`];
}

/** Spec of test/helpers/cgroup_sockets.py. */
export interface SocketsSpec {
  listen?: number;
  backlog?: number;
  accept?: boolean;
  pairs?: number;
  close_wait?: number;
  connect?: ReadonlyArray<{ port: number; count: number; shutdown?: boolean }>;
}

/** Starts cgroup_sockets.py in a cgroup (relative to the test subtree) and the namespace; resolves when its sockets are in place. */
export async function holdSockets(cgroups: TestCgroups, ns: TestNamespace, relative: string, spec: SocketsSpec): Promise<ChildProcess> {
  const child = cgroups.spawnIn(relative, 'python3', [socketsScript, JSON.stringify(spec)], inNamespace(ns));
  const line = await firstLine(child, 15_000);
  if (!line.startsWith('READY')) throw new Error(`${relative}: ${line}`);
  return child;
}

/** Ends a cgroup_sockets.py process (it closes its sockets) and waits, bounded, for its exit. */
export async function release(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.stdin!.end('exit\n');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** A temporary runtime-state root with containerd CRI bundles and Docker configs, for --path.rootfs. */
export class RuntimeStateDir {
  readonly root = mkdtempSync(join(tmpdir(), 'tcpstate-runtime-'));

  /** An OCI bundle config.json as containerd's CRI plugin writes it for a pod's container. */
  criContainer(id: string, pod: { namespace: string; name: string; uid: string }, container: string): void {
    const dir = join(this.root, 'run/containerd/io.containerd.runtime.v2.task/k8s.io', id);
    mkdirSync(dir, { recursive: true });
    const annotations = {
      'io.kubernetes.cri.container-type': 'container',
      'io.kubernetes.cri.container-name': container,
      'io.kubernetes.cri.sandbox-name': pod.name,
      'io.kubernetes.cri.sandbox-namespace': pod.namespace,
      'io.kubernetes.cri.sandbox-uid': pod.uid,
      'io.kubernetes.cri.sandbox-id': 'f'.repeat(64),
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ociVersion: '1.1.0', process: { args: ['/app'] }, annotations }));
  }

  /** Docker's config.v2.json for a plain container. */
  dockerContainer(id: string, name: string): void {
    const dir = join(this.root, 'var/lib/docker/containers', id);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.v2.json'), JSON.stringify({ ID: id, Name: `/${name}`, Config: { Labels: {} } }));
  }

  destroy(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

const MARK = '=====';

export interface Reading {
  /** `ss -tanH --cgroup` before and after the scrape. */
  before: string;
  after: string;
  metrics: string;
}

/** ss, the exporter's `collect` and ss again, back to back in one shell in the namespace. */
export async function readTogether(ns: TestNamespace, flags: readonly string[]): Promise<Reading> {
  const script = [`ss -tanH --cgroup; echo ${MARK}`, `"${process.execPath}" "${exporterBin}" collect ${flags.join(' ')}; echo ${MARK}`, 'ss -tanH --cgroup'].join('; ');
  const { stdout } = await run(inNamespace(ns)[0]!, [...inNamespace(ns).slice(1), 'sh', '-c', script], { timeout: 30_000, maxBuffer: 64 * 1024 * 1024 });
  const [before, metrics, after] = stdout.split(`${MARK}\n`);
  return { before: before!, metrics: metrics!, after: after! };
}

/** `ss -tanH --cgroup` lines counted per cgroup path ('' for a socket without one) and state label. */
export function ssCountsByCgroup(output: string): Map<string, Record<string, number>> {
  const counts = new Map<string, Record<string, number>>();
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.trim().split(/\s+/);
    const state = SS_STATES[fields[0]!];
    if (state === undefined) throw new Error(`unknown ss state in ${line}`);
    const path = fields.find((field) => field.startsWith('cgroup:'))?.slice('cgroup:'.length) ?? '';
    const row = counts.get(path) ?? {};
    row[state] = (row[state] ?? 0) + 1;
    counts.set(path, row);
  }
  return counts;
}

/** One `collect` (or `diagnose`) in the namespace, with its log (stderr). */
export async function collectWithLog(ns: TestNamespace, flags: readonly string[], command = 'collect'): Promise<{ stdout: string; stderr: string }> {
  return run(inNamespace(ns)[0]!, [...inNamespace(ns).slice(1), process.execPath, exporterBin, command, ...flags], { timeout: 30_000, maxBuffer: 64 * 1024 * 1024 });
}

/** Runs a command to completion in the network namespace only (see inNamespace). */
export async function execInNamespace(ns: TestNamespace, command: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  return run(inNamespace(ns)[0]!, [...inNamespace(ns).slice(1), ...command], { timeout: 30_000, maxBuffer: 64 * 1024 * 1024 });
}
