/**
 * What a cgroup v2 path means to an operator: a systemd unit, a container, a Kubernetes pod, or
 * nothing we know (the path itself). Pure: the names come from the path alone, the way systemd,
 * kubelet and the container runtimes write them; runtime-state.ts adds the human names.
 */

export type OwnerKind = 'unit' | 'container' | 'pod' | 'other';
export type ContainerRuntime = 'docker' | 'containerd' | 'crio' | 'podman';
export type QosClass = 'guaranteed' | 'burstable' | 'besteffort';

export interface CgroupOwner {
  readonly kind: OwnerKind;
  /** The systemd unit (`nginx.service`, `session-3.scope`) when kind is 'unit'. */
  readonly unit?: string;
  /** The full container id as the runtime names it (usually 64 hex digits). */
  readonly containerId?: string;
  /** Which runtime's naming the path follows, when the path says so. */
  readonly runtime?: ContainerRuntime;
  /** The Kubernetes pod UID, with its dashes (kubelet's systemd driver writes them as "_"). */
  readonly podUid?: string;
  readonly qosClass?: QosClass;
  /** The path, normalised (no leading "..", no empty segments); trimCgroupPath makes it a label value. */
  readonly path: string;
}

/** Longest `path` value, so an odd hierarchy cannot make one label value kilobytes long. */
export const MAX_PATH_LABEL_LENGTH = 128;

// Container scopes, innermost wins. Ids are hex; the lower bound admits short test ids.
const SCOPE_PATTERNS: ReadonlyArray<{ pattern: RegExp; runtime: ContainerRuntime }> = [
  { pattern: /^cri-containerd-([0-9a-f]{8,64})\.scope$/, runtime: 'containerd' },
  { pattern: /^docker-([0-9a-f]{8,64})\.scope$/, runtime: 'docker' },
  { pattern: /^crio-([0-9a-f]{8,64})(?:\.scope)?$/, runtime: 'crio' },
  { pattern: /^libpod-([0-9a-f]{8,64})(?:\.scope)?$/, runtime: 'podman' },
  { pattern: /^nerdctl-([0-9a-f]{8,64})\.scope$/, runtime: 'containerd' },
];
const BARE_ID = /^[0-9a-f]{64}$/;
const SHORT_OR_FULL_ID = /^[0-9a-f]{8,64}$/;
// containerd with SystemdCgroup=false under kubelet's systemd driver names the directory
// "<pod slice>:cri-containerd:<id>" literally.
const COLON_FORM = /^(.*):cri-containerd:([0-9a-f]{8,64})$/;

// kubelet's systemd driver: kubepods[-<qos>]-pod<uid with _>.slice, optionally under a
// --cgroup-root prefix (kind nodes write kubelet-kubepods-...).
const SYSTEMD_POD = /(?:^|-)kubepods(?:-(burstable|besteffort))?-pod([0-9a-f_]+)\.slice$/;
const CGROUPFS_POD = /^pod([0-9a-f-]+)$/;
const POD_UID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/;
const UNIT = /\.(?:service|scope|socket|mount|swap|slice)$/;

interface PodMatch {
  readonly index: number;
  readonly uid: string;
  readonly qosClass: QosClass;
}

interface ContainerMatch {
  readonly index: number;
  readonly id: string;
  readonly runtime?: ContainerRuntime;
}

function matchSystemdPod(segment: string): { uid: string; qosClass: QosClass } | undefined {
  const match = SYSTEMD_POD.exec(segment);
  if (match === null) return undefined;
  const uid = match[2]!.replaceAll('_', '-');
  if (!POD_UID.test(uid)) return undefined;
  return { uid, qosClass: (match[1] as QosClass | undefined) ?? 'guaranteed' };
}

function findPod(segments: readonly string[]): PodMatch | undefined {
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const colon = COLON_FORM.exec(segment);
    const systemd = matchSystemdPod(colon === null ? segment : colon[1]!);
    if (systemd !== undefined) return { index: i, ...systemd };
    // cgroupfs driver: kubepods/[burstable|besteffort/]pod<uid>
    const cgroupfs = CGROUPFS_POD.exec(segment);
    if (cgroupfs === null || !POD_UID.test(cgroupfs[1]!)) continue;
    const parent = segments[i - 1];
    const grandparent = segments[i - 2];
    if (parent === 'kubepods') return { index: i, uid: cgroupfs[1]!, qosClass: 'guaranteed' };
    if ((parent === 'burstable' || parent === 'besteffort') && grandparent === 'kubepods') {
      return { index: i, uid: cgroupfs[1]!, qosClass: parent };
    }
  }
  return undefined;
}

function matchContainer(segments: readonly string[], i: number, pod: PodMatch | undefined): ContainerMatch | undefined {
  const segment = segments[i]!;
  for (const { pattern, runtime } of SCOPE_PATTERNS) {
    const match = pattern.exec(segment);
    if (match !== null) return { index: i, id: match[1]!, runtime };
  }
  const colon = COLON_FORM.exec(segment);
  if (colon !== null) return { index: i, id: colon[2]!, runtime: 'containerd' };
  const parent = segments[i - 1];
  // cgroupfs drivers name the container directory by its bare id: /docker/<id>, containerd's
  // /<namespace>/<id>, and kubelet's /kubepods/<qos>/pod<uid>/<id> (runtime not said).
  if (pod !== undefined && i === pod.index + 1 && SHORT_OR_FULL_ID.test(segment)) return { index: i, id: segment };
  if (BARE_ID.test(segment)) return parent === 'docker' ? { index: i, id: segment, runtime: 'docker' } : { index: i, id: segment };
  return undefined;
}

function findContainer(segments: readonly string[], pod: PodMatch | undefined): ContainerMatch | undefined {
  // Innermost: docker-in-docker nests /docker/<outer>/docker/<inner>, and the inner one is the owner.
  for (let i = segments.length - 1; i >= 0; i--) {
    const match = matchContainer(segments, i, pod);
    if (match !== undefined) return match;
  }
  return undefined;
}

function findUnit(segments: readonly string[]): string | undefined {
  for (let i = segments.length - 1; i >= 0; i--) {
    const segment = segments[i]!;
    if (!UNIT.test(segment)) continue;
    // A user manager's own process sits in user@<uid>.service/init.scope; "init.scope" alone
    // would read as PID 1.
    const parent = segments[i - 1];
    if (segment === 'init.scope' && parent !== undefined && /^user@\d+\.service$/.test(parent)) return parent;
    return segment;
  }
  return undefined;
}

/**
 * Splits a cgroup path into segments. Leading ".." segments are what /proc/<pid>/cgroup shows for a
 * process outside the reader's cgroup namespace; dropping them gives the path from the hierarchy's
 * root when the reader sits in a namespace rooted at a cgroup the path passes through.
 */
export function cgroupPathSegments(path: string): string[] {
  const segments = path.split('/').filter((segment) => segment !== '' && segment !== '.');
  let first = 0;
  while (segments[first] === '..') first++;
  return segments.slice(first);
}

/** The path as a label value: normalised, and beyond `max` characters its tail behind ".../". */
export function trimCgroupPath(path: string, max = MAX_PATH_LABEL_LENGTH): string {
  const normalised = `/${cgroupPathSegments(path).join('/')}`;
  if (normalised.length <= max) return normalised;
  return `.../${normalised.slice(normalised.length - (max - 4)).replace(/^[^/]*\//, '')}`;
}

/** Names the owner of one cgroup path. Never throws: anything unknown is kind 'other'. */
export function classifyCgroupPath(path: string): CgroupOwner {
  const segments = cgroupPathSegments(path);
  const normalised = `/${segments.join('/')}`;
  const pod = findPod(segments);
  const container = findContainer(segments, pod);
  const podFields = pod === undefined ? {} : { podUid: pod.uid, qosClass: pod.qosClass };
  if (container !== undefined && (pod === undefined || container.index >= pod.index)) {
    const runtime = container.runtime === undefined ? {} : { runtime: container.runtime };
    return { kind: 'container', containerId: container.id, ...runtime, ...podFields, path: normalised };
  }
  if (pod !== undefined) return { kind: 'pod', ...podFields, path: normalised };
  const unit = findUnit(segments);
  if (unit !== undefined) return { kind: 'unit', unit, path: normalised };
  return { kind: 'other', path: normalised };
}
