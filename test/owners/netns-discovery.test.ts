import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ProcRoot } from '../../src/procfs/proc-root.js';
import { cgroupV2PathOf, NetnsDiscovery, parseNetnsLink, type DiscoveredNetns } from '../../src/owners/netns-discovery.js';
import { OwnerNamer } from '../../src/owners/owner-labels.js';
import { RuntimeState } from '../../src/owners/runtime-state.js';
import { describeWithNetns } from '../helpers/netns.js';
import { TestCgroups } from './cgroup-fixture.js';

const run = promisify(execFile);
const distModule = fileURLToPath(new URL('../../dist/owners/netns-discovery.js', import.meta.url));
const distProcRoot = fileURLToPath(new URL('../../dist/procfs/proc-root.js', import.meta.url));

const SANDBOX = 'a1'.repeat(32);
const APP = 'b2'.repeat(32);
const DOCKER = 'c3'.repeat(32);
const CTR = 'd4'.repeat(32);
const POD_UID = randomUUID();
const POD = `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_UID.replaceAll('-', '_')}.slice`;

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const netnsLink = (pid: number): string | undefined => {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
};

describeWithNetns('NetnsDiscovery on real namespaces', () => {
  const tag = `own${process.pid}${randomBytes(2).toString('hex')}`;
  const names = [0, 1, 2, 3, 4].map((i) => `${tag}-${i}`);
  const hostLink = readlinkSync('/proc/self/ns/net');
  let cgroups: TestCgroups;
  let state: string;
  let dockerNetns: string;
  let dockerMount: string;
  let staleDir: string;
  const extra: ChildProcess[] = [];
  const pids: Record<string, number[]> = {};
  let unsharePid = 0;
  let nobodyPid = 0;

  const startIn = async (key: string, relative: string, netns: string): Promise<void> => {
    const child = cgroups.spawnIn(relative, 'ip', ['netns', 'exec', netns, 'sleep', '120']);
    await until(() => netnsLink(child.pid!) !== undefined && netnsLink(child.pid!) !== hostLink, `pid ${child.pid} to enter ${netns}`);
    (pids[key] ??= []).push(child.pid!);
  };

  beforeAll(async () => {
    cgroups = await TestCgroups.create();
    for (const name of names) await run('ip', ['netns', 'add', name]);
    state = mkdtempSync(join(tmpdir(), 'owners-netns-state-'));
    const write = (file: string, body: unknown): void => {
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, JSON.stringify(body));
    };
    const pod = { 'io.kubernetes.cri.sandbox-name': 'web-0', 'io.kubernetes.cri.sandbox-namespace': 'shop', 'io.kubernetes.cri.sandbox-uid': POD_UID };
    write(join(state, 'tasks/k8s.io', SANDBOX, 'config.json'), { ociVersion: '1.1.0', annotations: { ...pod, 'io.kubernetes.cri.container-type': 'sandbox' } });
    write(join(state, 'tasks/k8s.io', APP, 'config.json'), { ociVersion: '1.1.0', annotations: { ...pod, 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.container-name': 'app' } });
    write(join(state, 'tasks/default', CTR, 'config.json'), { ociVersion: '1.1.0', annotations: {} });
    write(join(state, 'docker', DOCKER, 'config.v2.json'), { ID: DOCKER, Name: '/redis-cache', Config: { Labels: {} } });
    write(join(state, 'docker', CTR, 'config.v2.json'), { ID: CTR, Name: '/batch-runner', Config: { Labels: {} } });

    // A pod: its sandbox (pause) and an app container share the pod's namespace.
    await startIn('pod', `${POD}/cri-containerd-${SANDBOX}.scope`, names[0]!);
    await startIn('pod', `${POD}/cri-containerd-${APP}.scope`, names[0]!);
    // A Docker container, with Docker's own bind mount of its namespace beside the ip-netns one.
    await startIn('docker', `system.slice/docker-${DOCKER}.scope`, names[1]!);
    dockerNetns = mkdtempSync(join(tmpdir(), 'owners-docker-netns-'));
    dockerMount = join(dockerNetns, randomBytes(6).toString('hex'));
    writeFileSync(dockerMount, '');
    await run('mount', ['--bind', `/run/netns/${names[1]}`, dockerMount]);
    // A shell's child in a plain unit: no owner beyond the namespace's name.
    await startIn('unit', 'system.slice/owners-shell.service', names[2]!);
    // No bind mount at all: a process made with unshare -n, in a containerd (ctr) cgroup.
    const unshared = cgroups.spawnIn(`default/${CTR}`, 'unshare', ['-n', 'sleep', '120']);
    await until(() => netnsLink(unshared.pid!) !== undefined && netnsLink(unshared.pid!) !== hostLink, 'unshare -n');
    unsharePid = unshared.pid!;
    // An unprivileged process in a namespace of its own, for the unprivileged view.
    const nobody = spawn('unshare', ['-n', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'sleep', '120'], { stdio: 'ignore' });
    extra.push(nobody);
    await until(() => netnsLink(nobody.pid!) !== undefined && netnsLink(nobody.pid!) !== hostLink, 'the unprivileged namespace');
    nobodyPid = nobody.pid!;
    // A file left in an ip-netns directory without a namespace behind it.
    staleDir = mkdtempSync(join(tmpdir(), 'owners-stale-netns-'));
    writeFileSync(join(staleDir, 'leftover'), '');
  });

  afterAll(async () => {
    for (const child of extra) child.kill('SIGKILL');
    await cgroups?.destroy();
    if (dockerMount !== undefined) await run('umount', [dockerMount]).catch(() => undefined);
    for (const dir of [dockerNetns, staleDir, state]) if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    for (const name of names) await run('ip', ['netns', 'del', name]).catch(() => undefined);
  });

  const discovery = (): NetnsDiscovery => new NetnsDiscovery({ proc: new ProcRoot('/proc'), ipNetnsDirs: ['/run/netns', staleDir], otherBindMountDirs: [dockerNetns] });
  const namer = (): OwnerNamer => new OwnerNamer(new RuntimeState({ roots: { containerdTasks: [join(state, 'tasks')], crioContainers: [], dockerContainers: [join(state, 'docker')] } }));
  const byInode = (list: readonly DiscoveredNetns[], inode: number): DiscoveredNetns | undefined => list.find((ns) => ns.inode === inode);
  const inodeOfName = async (name: string): Promise<number> => Number((await run('stat', ['-L', '-c', '%i', `/run/netns/${name}`])).stdout.trim());

  it('finds every namespace with the inode that stat, readlink and ip netns identify agree on', async () => {
    const d = discovery();
    const runs = [];
    for (let i = 0; i < 7; i++) runs.push(await d.discover());
    const { namespaces, stats } = runs[runs.length - 1]!;
    const times = runs.map((r) => r.stats.durationMs).sort((a, b) => a - b);
    console.log(`netns discovery: ${stats.pids} pids (${stats.unreadable} unreadable), ${namespaces.length} namespaces, median ${times[3]!.toFixed(2)} ms (min ${times[0]!.toFixed(2)}, max ${times[6]!.toFixed(2)})`);
    for (const name of names) {
      const inode = await inodeOfName(name);
      const ns = byInode(namespaces, inode);
      expect(ns, name).toBeDefined();
      expect(ns!.name).toBe(name);
      expect(ns!.bindMounts).toContain(`/run/netns/${name}`);
      expect(ns!.own).toBe(false);
    }
    for (const [key, index] of [['pod', 0], ['docker', 1], ['unit', 2]] as const) {
      const lowest = Math.min(...pids[key]!);
      const inode = await inodeOfName(names[index]!);
      expect(readlinkSync(`/proc/${lowest}/ns/net`)).toBe(`net:[${inode}]`);
      expect((await run('ip', ['netns', 'identify', String(lowest)])).stdout.trim()).toBe(names[index]);
      expect(byInode(namespaces, inode)!.pid).toBe(lowest);
      expect(byInode(namespaces, inode)!.pids).toEqual([...pids[key]!].sort((a, b) => a - b));
    }
    expect(byInode(namespaces, await inodeOfName(names[3]!))!.pid).toBeUndefined();
    expect(byInode(namespaces, await inodeOfName(names[1]!))!.bindMounts).toEqual([`/run/netns/${names[1]}`, dockerMount]);
    const unshared = byInode(namespaces, parseNetnsLink(readlinkSync(`/proc/${unsharePid}/ns/net`))!)!;
    expect(unshared).toMatchObject({ pid: unsharePid, bindMounts: [], own: false });
    expect(unshared.name).toBeUndefined();
    const own = namespaces.filter((ns) => ns.own);
    expect(own.map((ns) => `net:[${ns.inode}]`)).toEqual([hostLink]);
    expect(namespaces.some((ns) => ns.bindMounts.some((m) => m.startsWith(staleDir)))).toBe(false);
    expect(times[3]).toBeLessThan(100);
  });

  it('names each namespace by its owner: the pod, the container, or just its name', async () => {
    const d = discovery();
    const { namespaces } = await d.discover();
    const labelsOf = async (inode: number) => d.ownerLabels(byInode(namespaces, inode)!, namer());
    expect(await labelsOf(await inodeOfName(names[0]!))).toEqual({ netns: names[0], namespace: 'shop', pod: 'web-0', uid: POD_UID });
    expect(await labelsOf(await inodeOfName(names[1]!))).toEqual({ netns: names[1], container: 'redis-cache' });
    expect(await labelsOf(await inodeOfName(names[2]!))).toEqual({ netns: names[2] });
    expect(await labelsOf(await inodeOfName(names[3]!))).toEqual({ netns: names[3] });
    const unsharedInode = parseNetnsLink(readlinkSync(`/proc/${unsharePid}/ns/net`))!;
    expect(await labelsOf(unsharedInode)).toEqual({ netns: String(unsharedInode), container: 'batch-runner' });
    expect(d.cgroupPathOf(unsharePid)).toBe(cgroups.cgroupPath(`default/${CTR}`));
  });

  it('forgets a namespace deleted between discoveries', async () => {
    const inode = await inodeOfName(names[4]!);
    const d = discovery();
    expect(byInode((await d.discover()).namespaces, inode)).toBeDefined();
    await run('ip', ['netns', 'del', names[4]!]);
    expect(byInode((await d.discover()).namespaces, inode)).toBeUndefined();
  });

  it('as an unprivileged user sees bind-mounted namespaces and its own processes, not root-owned pids', async () => {
    expect(existsSync(distModule), 'dist/ is missing: run npm run build first').toBe(true);
    const script = `
      const { NetnsDiscovery } = await import(${JSON.stringify(distModule)});
      const { ProcRoot } = await import(${JSON.stringify(distProcRoot)});
      const r = await new NetnsDiscovery({ proc: new ProcRoot('/proc'), otherBindMountDirs: [] }).discover();
      console.log(JSON.stringify(r));`;
    const { stdout } = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--input-type=module', '-e', script], { timeout: 20_000 });
    const seen = JSON.parse(stdout) as { namespaces: DiscoveredNetns[]; stats: { unreadable: number } };
    expect(seen.stats.unreadable).toBeGreaterThan(0); // root's processes: readlink needs ptrace access
    const pod = byInode(seen.namespaces, await inodeOfName(names[0]!))!;
    expect(pod.name).toBe(names[0]); // the bind mount is stat-able by anyone
    expect(pod.pid).toBeUndefined(); // but the pause process (root) is not visible
    expect(byInode(seen.namespaces, parseNetnsLink(readlinkSync(`/proc/${unsharePid}/ns/net`))!)).toBeUndefined();
    const mine = byInode(seen.namespaces, parseNetnsLink(readlinkSync(`/proc/${nobodyPid}/ns/net`))!)!;
    expect(mine.pid).toBe(nobodyPid);
  });
});

it('parses the link and the cgroup v2 line', () => {
  expect(parseNetnsLink('net:[4026531840]')).toBe(4026531840);
  expect(parseNetnsLink('mnt:[4026531840]')).toBeUndefined();
  expect(parseNetnsLink(undefined)).toBeUndefined();
  expect(cgroupV2PathOf('12:memory:/x\n0::/system.slice/nginx.service\n')).toBe('/system.slice/nginx.service');
  expect(cgroupV2PathOf('4:memory:/x\n')).toBeUndefined();
});
