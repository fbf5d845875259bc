import { isAbsolute, join } from 'node:path';
import { stringFlag, stringListFlag, type FlagValues } from '../config/flag.js';
import { DEFAULT_RUNTIME_ROOTS, type RuntimeStateRoots } from './runtime-state.js';

/**
 * Where the owners layer reads the host's files: the container runtimes' state (for pod and
 * container names) and the bind mounts that keep network namespaces alive. One set of flags for
 * every collector that names owners (cgroup, netns), in node_exporter's --path.* style: a
 * DaemonSet or a compose service mounts the host's directories under one root and says so once.
 */
const absoluteDir = (value: string): string | undefined => (isAbsolute(value) ? undefined : `expected an absolute directory, got ${JSON.stringify(value)}`);

/** The directories read when no flag says otherwise, as host paths (under --path.rootfs). */
export const DEFAULT_NETNS_BIND_DIRS = {
  /** `ip netns add` keeps its namespaces here; the file names are the namespaces' names. */
  ipNetns: ['/run/netns'],
  /** Docker keeps its sandboxes' namespaces here; the file names mean nothing to a person. */
  other: ['/run/docker/netns'],
} as const;

const overrideHelp = (what: string, defaults: readonly string[]): string =>
  `${what}, taken as given instead of ${defaults.map((path) => `<rootfs>${path}`).join(' and ')}`;

export const OWNER_FLAGS = {
  rootfs: stringFlag('path.rootfs', {
    help:
      "the host's root file system as the exporter sees it: the container runtimes' state (/run/containerd, /run/containers/storage, /var/lib/docker/containers) and the namespaces bind-mounted in /run/netns and /run/docker/netns are read under it; point it at the host's / mounted into a container",
    default: '/',
    defaultText: '/',
    valueName: '<dir>',
    example: '/host',
    check: absoluteDir,
  }),
  containerdTasks: stringListFlag('path.containerd.tasks', {
    help: overrideHelp('containerd task state directories holding <namespace>/<id>/config.json (k3s: /run/k3s/containerd/io.containerd.runtime.v2.task)', DEFAULT_RUNTIME_ROOTS.containerdTasks),
    valueName: '<dir>',
    example: '/run/k3s/containerd/io.containerd.runtime.v2.task',
    check: absoluteDir,
  }),
  crioContainers: stringListFlag('path.crio.containers', {
    help: overrideHelp('CRI-O and podman container directories holding <id>/userdata/config.json', DEFAULT_RUNTIME_ROOTS.crioContainers),
    valueName: '<dir>',
    example: '/var/run/containers/storage/overlay-containers',
    check: absoluteDir,
  }),
  dockerContainers: stringListFlag('path.docker.containers', {
    help: overrideHelp('Docker container directories holding <id>/config.v2.json', DEFAULT_RUNTIME_ROOTS.dockerContainers),
    valueName: '<dir>',
    example: '/data/docker/containers',
    check: absoluteDir,
  }),
};

export type OwnerFlagValues = FlagValues<typeof OWNER_FLAGS>;

/** The owners layer's host paths, resolved from its flags: what the collectors are handed. */
export interface OwnerPaths {
  readonly runtimeState: RuntimeStateRoots;
  /** Directories of `ip netns` bind mounts (their file names are namespace names). */
  readonly ipNetnsDirs: readonly string[];
  /** Other directories of namespace bind mounts (Docker's sandboxes). */
  readonly otherNetnsDirs: readonly string[];
}

/** Pure: the defaults re-rooted under --path.rootfs, except where a --path.<runtime>.* flag names its own. */
export function resolveOwnerPaths(values: OwnerFlagValues): OwnerPaths {
  const under = (paths: readonly string[]): string[] => paths.map((path) => join(values.rootfs, path));
  const chosen = (given: readonly string[], defaults: readonly string[]): readonly string[] => (given.length > 0 ? given : under(defaults));
  return {
    runtimeState: {
      containerdTasks: chosen(values.containerdTasks, DEFAULT_RUNTIME_ROOTS.containerdTasks),
      crioContainers: chosen(values.crioContainers, DEFAULT_RUNTIME_ROOTS.crioContainers),
      dockerContainers: chosen(values.dockerContainers, DEFAULT_RUNTIME_ROOTS.dockerContainers),
    },
    ipNetnsDirs: under(DEFAULT_NETNS_BIND_DIRS.ipNetns),
    otherNetnsDirs: under(DEFAULT_NETNS_BIND_DIRS.other),
  };
}

/** The paths a process gets with no flags: the host's own directories. */
export const DEFAULT_OWNER_PATHS: OwnerPaths = resolveOwnerPaths({ rootfs: '/', containerdTasks: [], crioContainers: [], dockerContainers: [] });
