import { classifyCgroupPath, trimCgroupPath, type CgroupOwner } from './classify.js';
import type { ContainerNames, RuntimeState } from './runtime-state.js';

/**
 * The owner labels every attributing collector shares (design "Owners"): the cgroup collector
 * labels sockets by the cgroup that owns them, the namespace collector labels a network namespace
 * by the pod or container that holds it. One function names both, so a pod is spelt the same way
 * in both families of series.
 */
export const OWNER_LABEL_NAMES = ['netns', 'namespace', 'pod', 'uid', 'container', 'unit'] as const;
export type OwnerLabelName = (typeof OWNER_LABEL_NAMES)[number];
export type OwnerLabels = Partial<Record<OwnerLabelName, string>>;

/**
 * 'socket': the owner of sockets in one cgroup; a pod's containers are told apart, and the pause
 * container is container="POD" (kubelet's historical name for the sandbox).
 * 'netns': the owner of a network namespace, which a pod's containers share: the pod, without a
 * container; outside Kubernetes, the container.
 */
export type OwnerScope = 'socket' | 'netns';

export interface OwnerLabelOptions {
  readonly scope: OwnerScope;
  /** The namespace's stable id (its nsfs inode, decimal), for per-namespace series. */
  readonly netns?: string;
}

/** Docker's and containerd's short form of a container id. */
export function shortContainerId(id: string): string {
  return id.slice(0, 12);
}

function podLabels(uid: string | undefined, names: ContainerNames | undefined): OwnerLabels {
  const labels: OwnerLabels = {};
  if (names?.podNamespace !== undefined) labels.namespace = names.podNamespace;
  if (names?.podName !== undefined) labels.pod = names.podName;
  const podUid = names?.podUid ?? uid;
  if (podUid !== undefined) labels.uid = podUid;
  return labels;
}

/**
 * Pure: the labels for one classified cgroup and what the runtime state says about its container
 * (undefined when unreadable). Degrades to the pod uid and the short container id; never invents.
 * A cgroup that is neither unit, container nor pod carries its trimmed path in `unit`, so its
 * sockets stay separable from a neighbour's and the value (starting with "/") says what it is.
 */
export function ownerLabels(owner: CgroupOwner, names: ContainerNames | undefined, options: OwnerLabelOptions): OwnerLabels {
  const base: OwnerLabels = options.netns === undefined ? {} : { netns: options.netns };
  switch (owner.kind) {
    case 'unit':
      return { ...base, unit: owner.unit! };
    case 'pod':
      return { ...base, ...podLabels(owner.podUid, undefined) };
    case 'other':
      return { ...base, unit: trimCgroupPath(owner.path) };
    case 'container': {
      const inPod = owner.podUid !== undefined || names?.podUid !== undefined || names?.podName !== undefined;
      const id = owner.containerId!;
      if (!inPod) return { ...base, container: names?.containerName ?? shortContainerId(id) };
      const pod = podLabels(owner.podUid, names);
      if (options.scope === 'netns') return { ...base, ...pod };
      const container = names?.containerType === 'sandbox' ? 'POD' : (names?.containerName ?? shortContainerId(id));
      return { ...base, ...pod, container };
    }
  }
}

/**
 * Every owner label, '' where the owner has none. Series must be written this way: under
 * honor_labels a label the series leaves out is filled from the target, i.e. the exporter's own
 * DaemonSet pod (`namespace`, `pod`, `container`), whereas an explicit '' keeps it out and is then
 * dropped as empty (checked against a real Prometheus in test/owners/honor-labels.test.ts).
 */
export function completeOwnerLabels(labels: OwnerLabels): Record<OwnerLabelName, string> {
  return { netns: labels.netns ?? '', namespace: labels.namespace ?? '', pod: labels.pod ?? '', uid: labels.uid ?? '', container: labels.container ?? '', unit: labels.unit ?? '' };
}

/** The values in the order of `names`, '' for a label the owner lacks (see completeOwnerLabels). */
export function ownerLabelValues(labels: OwnerLabels, names: readonly OwnerLabelName[] = OWNER_LABEL_NAMES): string[] {
  return names.map((name) => labels[name] ?? '');
}

/**
 * Cgroup path -> owner labels, reading the runtime state for containers. Both collectors hold one,
 * sharing one RuntimeState (and so its cache). Labels are cached per path once final: a container
 * still named only by its id is asked again, so names appear when its state becomes readable.
 */
export class OwnerNamer {
  private readonly cache = new Map<string, OwnerLabels>();

  constructor(
    private readonly runtime: RuntimeState,
    private readonly maxCached = 8192,
  ) {}

  /** The cached labels of a path, without I/O or awaiting; undefined when not cached. */
  cachedLabels(path: string, options: OwnerLabelOptions): OwnerLabels | undefined {
    return this.cache.get(cacheKey(path, options));
  }

  async labelsForCgroupPath(path: string, options: OwnerLabelOptions): Promise<OwnerLabels> {
    const key = cacheKey(path, options);
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const owner = classifyCgroupPath(path);
    const names = owner.kind === 'container' ? await this.runtime.lookup(owner.containerId!, owner.runtime) : undefined;
    const labels = ownerLabels(owner, names, options);
    if (owner.kind !== 'container' || names !== undefined) {
      if (this.cache.size >= this.maxCached) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, labels);
    }
    return labels;
  }
}

function cacheKey(path: string, options: OwnerLabelOptions): string {
  return `${options.scope}\0${options.netns ?? ''}\0${path}`;
}
