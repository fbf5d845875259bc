/**
 * The pod-network-namespaces component's view, reproduced with real mounts and namespaces: the
 * exporter runs with the args the rendered DaemonSet passes (--path.rootfs=/host pointed at a
 * scratch /host), in a mount namespace holding the component's read-only binds (the node's
 * cgroup2 tree, containerd's task state, /run/netns as a slave so later namespaces appear) and, as
 * a pod does, in a cgroup namespace of its own with its own cgroup2 mount showing only its subtree.
 * Then:
 *   - an `ip netns` namespace made after the mounts were set up is found and named;
 *   - a "pod" (a process in a kubelet+containerd cgroup, in a namespace of its own) is named by pod;
 *   - a "hostNetwork pod"'s listener in the node's namespace is named by the cgroup collector
 *     through the bind of the node's tree, and is unit="unknown" without that bind.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseExposition, select, type Sample } from '../helpers/exposition.js';
import { describeWithNetns, exporterBin, TestNamespace, type RunningFarm } from '../helpers/netns.js';
import { toolOrSkip } from '../helpers/require-tool.js';
import { podSpec, renderComposition } from '../install/kubernetes.js';
import { cgroup2MountPoint, firstLine, LISTENER_PY, TestCgroups } from '../owners/cgroup-fixture.js';

const run = promisify(execFile);
const farmScript = fileURLToPath(new URL('../helpers/socket_farm.py', import.meta.url));
const POD_UID = '5f3c1a2b-0d4e-4f60-8a7b-9c0d1e2f3a4b';
const HOST_POD_UID = '6a4d2b3c-1e5f-4071-9b8c-0d1e2f3a4b5c';
const APP = 'a1'.repeat(32);
const HOST_APP = 'b2'.repeat(32);
const SPEC = { listeners: [{ name: 'svc', host: '127.0.0.1', port: 8091 }], groups: [{ kind: 'close_wait', to: 'svc', count: 3 }] };
const podCgroup = (uid: string, id: string): string => `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid.replaceAll('-', '_')}.slice/cri-containerd-${id}.scope`;

describeWithNetns('the pod-network-namespaces view, with real mounts, namespaces and cgroups', () => {
  const kubectl = toolOrSkip('kubectl', 'kubectl');
  let cgroups: TestCgroups;
  let scratch: string;
  let hostRoot: string;
  let holder: ChildProcess | undefined;
  let pod: ChildProcess | undefined;
  let hostPod: ChildProcess | undefined;
  let ipNetns: TestNamespace | undefined;
  let ipFarm: RunningFarm | undefined;
  let args: string[];
  let hostPodPort: string;

  beforeAll(async () => {
    expect(kubectl.available, 'kubectl renders the component').toBe(true);
    const rendered = podSpec(await renderComposition(kubectl.path!, ['deploy/kubernetes/base'], ['deploy/kubernetes/components/pod-network-namespaces']));
    const exporter = rendered.containers.find((c) => c.name === 'tcpstate-exporter')!;
    expect(exporter.args).toContain('--path.rootfs=/host');

    cgroups = await TestCgroups.create();
    scratch = mkdtempSync(join(tmpdir(), 'pod-view-'));
    hostRoot = join(scratch, 'host');
    // The runtime's state on the "node", as containerd's CRI plugin writes it.
    const cri = (name: string, uid: string) => ({ 'io.kubernetes.cri.sandbox-name': name, 'io.kubernetes.cri.sandbox-namespace': 'shop', 'io.kubernetes.cri.sandbox-uid': uid, 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.container-name': 'app' });
    for (const [id, name, uid] of [[APP, 'web-0', POD_UID], [HOST_APP, 'edge-0', HOST_POD_UID]] as const) {
      mkdirSync(join(scratch, 'tasks', 'k8s.io', id), { recursive: true });
      writeFileSync(join(scratch, 'tasks', 'k8s.io', id, 'config.json'), JSON.stringify({ ociVersion: '1.1.0', annotations: cri(name, uid) }));
    }
    // The component's hostPath mounts, each at /host<path> and read-only, in a mount namespace
    // that receives the host's later mounts (HostToContainer is a slave mount).
    const binds: [string, string][] = [[await cgroup2MountPoint(), 'sys/fs/cgroup'], [join(scratch, 'tasks'), 'run/containerd/io.containerd.runtime.v2.task'], ['/run/netns', 'run/netns']];
    for (const [, target] of binds) mkdirSync(join(hostRoot, target), { recursive: true });
    const script = [...binds.map(([source, target]) => `mount --bind "${source}" "${join(hostRoot, target)}" && mount -o remount,bind,ro "${join(hostRoot, target)}"`), 'echo READY', 'exec cat'].join(' && ');
    holder = spawn('unshare', ['--mount', '--propagation', 'slave', 'sh', '-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    expect(await firstLine(holder, 15_000)).toBe('READY');

    // After the mounts: an ip netns namespace, a pod in a namespace of its own, a hostNetwork pod.
    ipNetns = await TestNamespace.create();
    ipFarm = await ipNetns.startFarm(SPEC);
    pod = cgroups.spawnIn(podCgroup(POD_UID, APP), 'unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec /usr/bin/python3 "$0" "$1"', farmScript, JSON.stringify(SPEC)]);
    expect((await firstLine(pod, 30_000)).startsWith('READY ')).toBe(true);
    hostPod = cgroups.spawnIn(podCgroup(HOST_POD_UID, HOST_APP), '/usr/bin/python3', LISTENER_PY);
    hostPodPort = await firstLine(hostPod, 15_000);

    args = exporter.args!.filter((arg) => !arg.startsWith('--web.listen-address') && !arg.startsWith('--log.format')).map((arg) => (arg === '--path.rootfs=/host' ? `--path.rootfs=${hostRoot}` : arg));
    cgroups.mkdir('exporter');
    mkdirSync(join(scratch, 'pod-cgroup'));
  }, 120_000);

  afterAll(async () => {
    holder?.stdin?.end();
    pod?.stdin?.end('exit\n');
    hostPod?.stdin?.end();
    await ipFarm?.stop().catch(() => undefined);
    await ipNetns?.destroy();
    await cgroups?.destroy();
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  }, 60_000);

  /**
   * The exporter as a pod: in the holder's mount namespace, moved into a cgroup of its own, then
   * in a new cgroup namespace with its own cgroup2 mount over the node's (what a container gets).
   */
  async function collectAsPod(options: { withoutCgroupBind?: boolean } = {}): Promise<Sample[]> {
    // The container's view of cgroups: not the node's mount, only its own (the kernel refuses the
    // same cgroup2 on top of itself, so it goes beside) and, unless told, the hostPath bind.
    const unbind = options.withoutCgroupBind ? ` && umount "${join(hostRoot, 'sys/fs/cgroup')}"` : '';
    const inner = `umount "${await cgroup2MountPoint()}"${unbind} && mount -t cgroup2 cgroup2 "${join(scratch, 'pod-cgroup')}" && exec "$@"`;
    const outer = 'echo $$ > "$0/cgroup.procs" && inner=$1 && shift && exec unshare --cgroup --mount --propagation slave sh -c "$inner" sh "$@"';
    const command = ['--mount', `--target=${holder!.pid}`, '--', 'sh', '-c', outer, cgroups.dir('exporter'), inner,
      process.execPath, exporterBin, 'collect', ...args, '--collector.netns.table-budget=30', '--collector.netns.max-namespaces=100000'];
    const { stdout, stderr } = await run('nsenter', command, { maxBuffer: 64 * 1024 * 1024, timeout: 90_000 });
    const samples = parseExposition(stdout);
    for (const collector of ['netns', 'cgroup']) expect(select(samples, 'tcpstate_scrape_collector_success', { collector })[0]?.value, `${collector}: ${stderr}`).toBe(1);
    return samples;
  }

  it('finds the ip netns namespace made after the mounts, by name, and names the pod in its own namespace', async () => {
    const samples = await collectAsPod();
    expect(select(samples, 'tcpstate_netns_close_wait_sockets', { netns: ipNetns!.name, port: '8091' })[0]?.value).toBe(3);
    const named = select(samples, 'tcpstate_netns_close_wait_sockets', { namespace: 'shop', pod: 'web-0', uid: POD_UID, port: '8091' });
    expect(named.map((s) => s.value)).toEqual([3]);
  }, 120_000);

  it('names the owner of a node socket through the bind of the node\'s cgroup tree, and not without it', async () => {
    const listening = (samples: Sample[], labels: Record<string, string>): number =>
      select(samples, 'tcpstate_owner_sockets', { state: 'listen', ...labels }).reduce((sum, s) => sum + s.value, 0);
    const withBind = await collectAsPod();
    expect(listening(withBind, { namespace: 'shop', pod: 'edge-0', container: 'app' })).toBeGreaterThanOrEqual(1);
    const withoutBind = await collectAsPod({ withoutCgroupBind: true });
    expect(listening(withoutBind, { pod: 'edge-0' })).toBe(0);
    expect(listening(withoutBind, { unit: 'unknown' })).toBeGreaterThanOrEqual(1);
    expect(Number(hostPodPort)).toBeGreaterThan(0);
  }, 180_000);
});
