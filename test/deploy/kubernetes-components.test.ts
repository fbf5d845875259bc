/**
 * The node-view components, rendered by the real `kubectl kustomize` on the Operator-free base:
 * each adds exactly the read-only mounts, capabilities and flags docs/kubernetes.md documents,
 * every mount is a directory the exporter reads with the flags the component passes (and every
 * runtime directory it reads on Kubernetes is mounted), and the base keeps none of it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../src/cli.js';
import { COLLECTORS } from '../../src/collectors/index.js';
import { parseConfig } from '../../src/config/config.js';
import { resolveOwnerPaths, type OwnerPaths } from '../../src/owners/flags.js';
import { podSpec, renderComposition, type Container, type K8sObject, type PodSpec } from '../install/kubernetes.js';
import { repoRoot } from '../helpers/netns.js';
import { toolOrSkip } from '../helpers/require-tool.js';

const kubectl = toolOrSkip('kubectl', 'kubectl');
const COMPONENTS = 'deploy/kubernetes/components';

interface Mount {
  host: string;
  container: string;
  propagation?: string;
}

/** What each component adds to the base, as docs/kubernetes.md tells it. */
const NODE_CGROUPS = {
  mounts: [
    { host: '/sys/fs/cgroup', container: '/host/sys/fs/cgroup' },
    { host: '/run/containerd/io.containerd.runtime.v2.task', container: '/host/run/containerd/io.containerd.runtime.v2.task' },
    { host: '/run/containers/storage/overlay-containers', container: '/host/run/containers/storage/overlay-containers' },
  ] as Mount[],
  capabilities: [] as string[],
  args: ['--path.rootfs=/host'],
  hostPID: undefined as boolean | undefined,
};
const POD_NETWORK_NAMESPACES = {
  mounts: [
    ...NODE_CGROUPS.mounts,
    { host: '/run/netns', container: '/host/run/netns', propagation: 'HostToContainer' },
    { host: '/run/docker/netns', container: '/host/run/docker/netns', propagation: 'HostToContainer' },
  ] as Mount[],
  capabilities: ['SYS_ADMIN', 'SYS_PTRACE'],
  args: NODE_CGROUPS.args,
  hostPID: true as boolean | undefined,
};

const exporterOf = (pod: PodSpec): Container => pod.containers.find((c) => c.name === 'tcpstate-exporter')!;

function mountsOf(pod: PodSpec): Mount[] {
  const exporter = exporterOf(pod);
  return (exporter.volumeMounts ?? []).map((mount) => {
    const volume = pod.volumes?.find((v) => v.name === mount.name);
    expect(volume?.hostPath, `volume ${mount.name} is a hostPath`).toBeDefined();
    expect(mount.readOnly, `${mount.mountPath} is mounted read-only`).toBe(true);
    return { host: volume!.hostPath!.path, container: mount.mountPath, ...(mount.mountPropagation === undefined ? {} : { propagation: mount.mountPropagation }) };
  });
}

/** The owner paths the exporter reads with these args, through the real parser; throws on a flag it refuses. */
function ownerPathsFor(args: readonly string[]): OwnerPaths {
  const expanded = args.map((arg) => arg.replaceAll('$(HOST_IP)', '10.0.0.7'));
  return resolveOwnerPaths(parseConfig(parseCommandLine(expanded, COLLECTORS, () => undefined).flags, COLLECTORS).owners);
}

const within = (path: string, dir: string): boolean => path === dir || path.startsWith(`${dir}/`);

describe.skipIf(!kubectl.available)('the node-view components on the base', () => {
  const rendered = new Map<string, Promise<K8sObject[]>>();
  const renderOnce = (components: string[]): Promise<K8sObject[]> => {
    const key = components.join(',');
    if (!rendered.has(key)) rendered.set(key, renderComposition(kubectl.path ?? 'kubectl', ['deploy/kubernetes/base'], components.map((c) => `${COMPONENTS}/${c}`)));
    return rendered.get(key)!;
  };

  it('the base alone: no hostPath, no hostPID, no capability, no --path.rootfs', async () => {
    const pod = podSpec(await renderOnce([]));
    expect(pod.volumes ?? []).toEqual([]);
    expect(pod.hostPID).toBeUndefined();
    expect(exporterOf(pod).securityContext?.capabilities).toEqual({ drop: ['ALL'], add: [] });
    expect(exporterOf(pod).args!.filter((arg) => arg.startsWith('--path.'))).toEqual([]);
  });

  describe.each([
    ['node-cgroups', NODE_CGROUPS],
    ['pod-network-namespaces', POD_NETWORK_NAMESPACES],
  ] as const)('%s', (component, expected) => {
    it('adds exactly the documented read-only hostPath mounts, capabilities, hostPID and flags', async () => {
      const base = podSpec(await renderOnce([]));
      const pod = podSpec(await renderOnce([component]));
      const byContainer = (a: Mount, b: Mount): number => a.container.localeCompare(b.container);
      expect(mountsOf(pod).sort(byContainer)).toEqual([...expected.mounts].sort(byContainer));
      expect([...(exporterOf(pod).securityContext?.capabilities?.add ?? [])].sort()).toEqual(expected.capabilities);
      expect(exporterOf(pod).securityContext?.capabilities?.drop).toEqual(['ALL']);
      expect(pod.hostPID).toBe(expected.hostPID);
      const added = exporterOf(pod).args!.filter((arg) => !exporterOf(base).args!.includes(arg));
      expect(added).toEqual(expected.args);
      // Root (the runtimes' state is root's, mode 0700), but nothing else given up.
      expect(pod.securityContext).toEqual({ runAsNonRoot: false, runAsUser: 0, runAsGroup: 0, seccompProfile: { type: 'RuntimeDefault' } });
      expect(exporterOf(pod).securityContext).toMatchObject({ allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true });
      expect(pod.automountServiceAccountToken).toBe(false);
    });

    it('mounts only what the exporter reads with the flags it passes, and every Kubernetes runtime directory it reads', async () => {
      const pod = podSpec(await renderOnce([component]));
      const paths = ownerPathsFor(exporterOf(pod).args!);
      const read = [...paths.runtimeState.containerdTasks, ...paths.runtimeState.crioContainers, ...paths.ipNetnsDirs, ...paths.otherNetnsDirs];
      const mounts = mountsOf(pod);
      for (const mount of mounts) {
        // The node's /sys/fs/cgroup is found through mountinfo, wherever it is mounted.
        if (mount.host === '/sys/fs/cgroup') continue;
        expect(read, `${mount.container} is mounted but not read`).toContain(mount.container);
        expect(mount.container, 'mounted under --path.rootfs at the host path').toBe(`/host${mount.host}`);
      }
      // containerd's and CRI-O's state, the Kubernetes runtimes (Docker's is for cri-dockerd only).
      expect(mounts.map((m) => m.container)).toEqual(expect.arrayContaining([paths.runtimeState.containerdTasks[0], paths.runtimeState.crioContainers[0]]));
      if (expected.hostPID) for (const dir of [...paths.ipNetnsDirs, ...paths.otherNetnsDirs]) expect(mounts.some((m) => within(dir, m.container) && m.propagation === 'HostToContainer'), dir).toBe(true);
    });

    it('is documented: docs/kubernetes.md names each of its hostPaths and capabilities', () => {
      const doc = readFileSync(join(repoRoot, 'docs', 'kubernetes.md'), 'utf8');
      const section = new RegExp(`\`${component}\``).exec(doc);
      expect(section, `docs/kubernetes.md mentions ${component}`).not.toBeNull();
      for (const mount of expected.mounts) expect(doc, mount.host).toContain(`\`${mount.host}\``);
      for (const capability of expected.capabilities) expect(doc, capability).toContain(`CAP_${capability}`);
    });
  });

  it('pod-network-namespaces: AppArmor unconfined for the exporter (the runtimes\' default profile limits ptrace read to its own peers)', async () => {
    expect(exporterOf(podSpec(await renderOnce(['pod-network-namespaces']))).securityContext?.appArmorProfile).toEqual({ type: 'Unconfined' });
    expect(exporterOf(podSpec(await renderOnce(['node-cgroups']))).securityContext?.appArmorProfile).toBeUndefined();
  });

  it('combined with process-collector, in either order, the pod holds every capability either needs', async () => {
    for (const order of [['process-collector', 'pod-network-namespaces'], ['pod-network-namespaces', 'process-collector']]) {
      const pod = podSpec(await renderOnce(order));
      expect(new Set(exporterOf(pod).securityContext?.capabilities?.add), order.join(' + ')).toEqual(new Set(['SYS_ADMIN', 'SYS_PTRACE', 'DAC_READ_SEARCH']));
      expect(exporterOf(pod).args).toEqual(expect.arrayContaining(['--collector.process', '--path.rootfs=/host']));
    }
  });
});
