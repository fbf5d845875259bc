import { constants } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { oneLine } from '../errors.js';
import type { ContainerRuntime } from './classify.js';

/**
 * Container id -> the names a person knows, read from the runtimes' own state on disk, read-only:
 * the OCI bundle's config.json that containerd and CRI-O write for every running container (its
 * annotations carry the pod's name, namespace and uid and the container's name), and Docker's
 * config.v2.json. No runtime API socket: no gRPC client, the same code for every runtime, and a
 * read-only hostPath is all a DaemonSet needs.
 */
export interface ContainerNames {
  readonly containerId: string;
  readonly runtime: ContainerRuntime;
  /** Kubernetes container name, or the Docker/containerd name; undefined when the state has none. */
  readonly containerName?: string;
  /** 'sandbox' for a pod's pause container, which holds the pod's network namespace. */
  readonly containerType?: 'sandbox' | 'container';
  readonly podName?: string;
  readonly podNamespace?: string;
  readonly podUid?: string;
}

export interface RuntimeStateRoots {
  /** containerd v2 shim task dirs: <root>/<namespace>/<id>/config.json (Docker 23+ uses namespace "moby"). */
  readonly containerdTasks: readonly string[];
  /** CRI-O and podman: <root>/<id>/userdata/config.json. */
  readonly crioContainers: readonly string[];
  /** Docker: <root>/<id>/config.v2.json. */
  readonly dockerContainers: readonly string[];
}

export const DEFAULT_RUNTIME_ROOTS: RuntimeStateRoots = {
  containerdTasks: ['/run/containerd/io.containerd.runtime.v2.task', '/run/docker/containerd/daemon/io.containerd.runtime.v2.task'],
  crioContainers: ['/run/containers/storage/overlay-containers'],
  dockerContainers: ['/var/lib/docker/containers'],
};

export interface RuntimeStateOptions {
  readonly roots?: Partial<RuntimeStateRoots>;
  /** Most containers remembered; the least recently used go first. */
  readonly maxEntries?: number;
  /** Larger state files are refused (real ones are a few tens of kB). */
  readonly maxFileBytes?: number;
  /** An id found nowhere is not looked up again for this long (ms). */
  readonly missTtlMs?: number;
  /** Told once per refused or unreadable file, one line. */
  readonly onProblem?: (message: string) => void;
  readonly now?: () => number;
}

const ANNOTATIONS = {
  // containerd's CRI plugin
  criContainerType: 'io.kubernetes.cri.container-type',
  criContainerName: 'io.kubernetes.cri.container-name',
  criSandboxName: 'io.kubernetes.cri.sandbox-name',
  criSandboxNamespace: 'io.kubernetes.cri.sandbox-namespace',
  criSandboxUid: 'io.kubernetes.cri.sandbox-uid',
  // CRI-O (and cri-dockerd's Docker labels)
  podName: 'io.kubernetes.pod.name',
  podNamespace: 'io.kubernetes.pod.namespace',
  podUid: 'io.kubernetes.pod.uid',
  containerName: 'io.kubernetes.container.name',
  crioContainerType: 'io.kubernetes.cri-o.ContainerType',
  dockerType: 'io.kubernetes.docker.type',
  manager: 'io.container.manager',
} as const;

const stringMap = z.record(z.string(), z.unknown()).transform((record) => {
  const strings: Record<string, string> = {};
  for (const [key, value] of Object.entries(record)) if (typeof value === 'string') strings[key] = value;
  return strings;
});
const ociConfig = z.object({ annotations: stringMap.optional() });
const dockerConfig = z.object({ Name: z.string().optional(), Config: z.object({ Labels: stringMap.nullish() }).nullish() });

function sandboxOrContainer(value: string | undefined): 'sandbox' | 'container' | undefined {
  if (value === 'sandbox' || value === 'podsandbox') return 'sandbox';
  return value === 'container' ? 'container' : undefined;
}

function defined<T extends object>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== '')) as T;
}

/** Names from an OCI bundle's annotations, as containerd's CRI plugin or CRI-O writes them. */
export function namesFromOciAnnotations(containerId: string, runtime: ContainerRuntime, a: Readonly<Record<string, string>>): ContainerNames {
  if (a[ANNOTATIONS.criContainerType] !== undefined || a[ANNOTATIONS.criSandboxName] !== undefined) {
    return defined({
      containerId,
      runtime,
      containerType: sandboxOrContainer(a[ANNOTATIONS.criContainerType]),
      containerName: a[ANNOTATIONS.criContainerName],
      podName: a[ANNOTATIONS.criSandboxName],
      podNamespace: a[ANNOTATIONS.criSandboxNamespace],
      podUid: a[ANNOTATIONS.criSandboxUid],
    });
  }
  const crioType = sandboxOrContainer(a[ANNOTATIONS.crioContainerType]);
  return defined({
    containerId,
    runtime: a[ANNOTATIONS.manager] === 'libpod' ? 'podman' : runtime,
    containerType: crioType,
    // CRI-O names the infra container "POD"; the sandbox type says what it is.
    containerName: crioType === 'sandbox' ? undefined : a[ANNOTATIONS.containerName],
    podName: a[ANNOTATIONS.podName],
    podNamespace: a[ANNOTATIONS.podNamespace],
    podUid: a[ANNOTATIONS.podUid],
  });
}

/** Names from Docker's config.v2.json: "Name" ("/web"), plus cri-dockerd's Kubernetes labels. */
export function namesFromDockerConfig(containerId: string, name: string | undefined, labels: Readonly<Record<string, string>>): ContainerNames {
  const type = sandboxOrContainer(labels[ANNOTATIONS.dockerType]);
  const kubernetesName = labels[ANNOTATIONS.containerName];
  return defined({
    containerId,
    runtime: 'docker' as const,
    containerType: type,
    containerName: kubernetesName !== undefined ? (type === 'sandbox' ? undefined : kubernetesName) : name?.replace(/^\//, ''),
    podName: labels[ANNOTATIONS.podName],
    podNamespace: labels[ANNOTATIONS.podNamespace],
    podUid: labels[ANNOTATIONS.podUid],
  });
}

class RefusedFile extends Error {}

/**
 * Reads a small regular file without ever blocking on it: O_NONBLOCK so a FIFO cannot stall the
 * open, O_NOFOLLOW so a planted symlink is not followed, fstat to refuse anything but a regular
 * file, and at most maxBytes read. Resolves undefined when the file does not exist.
 */
async function readSmallFile(file: string, maxBytes: number): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (code === 'ELOOP') throw new RefusedFile(`${file}: a symbolic link, refused`);
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new RefusedFile(`${file}: not a regular file, refused`);
    if (stats.size > maxBytes) throw new RefusedFile(`${file}: ${stats.size} bytes, more than the ${maxBytes} allowed`);
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > maxBytes) throw new RefusedFile(`${file}: grew past the ${maxBytes} bytes allowed`);
    }
    return buffer.toString('utf8', 0, length);
  } finally {
    await handle.close();
  }
}

type Candidate = { file: string; runtime: ContainerRuntime; parse: (json: unknown) => ContainerNames };

export class RuntimeState {
  private readonly roots: RuntimeStateRoots;
  private readonly cache = new Map<string, { names: ContainerNames | undefined; at: number }>();
  private readonly maxEntries: number;
  private readonly maxFileBytes: number;
  private readonly missTtlMs: number;
  private readonly onProblem: (message: string) => void;
  private readonly now: () => number;

  constructor(options: RuntimeStateOptions = {}) {
    this.roots = { ...DEFAULT_RUNTIME_ROOTS, ...options.roots };
    this.maxEntries = options.maxEntries ?? 4096;
    this.maxFileBytes = options.maxFileBytes ?? 1024 * 1024;
    this.missTtlMs = options.missTtlMs ?? 30_000;
    this.onProblem = options.onProblem ?? (() => undefined);
    this.now = options.now ?? (() => performance.now());
  }

  get size(): number {
    return this.cache.size;
  }

  /**
   * The names of one container, or undefined when no runtime state for it is readable (the
   * caller then labels by id and pod uid). `runtime` (from the cgroup path) orders the search.
   */
  async lookup(containerId: string, runtime?: ContainerRuntime): Promise<ContainerNames | undefined> {
    const cached = this.cache.get(containerId);
    if (cached !== undefined && (cached.names !== undefined || this.now() - cached.at < this.missTtlMs)) {
      this.cache.delete(containerId); // re-insert: Map order is the LRU order
      this.cache.set(containerId, cached);
      return cached.names;
    }
    const names = /^[0-9a-zA-Z_.-]+$/.test(containerId) ? await this.search(containerId, runtime) : undefined;
    this.cache.set(containerId, { names, at: this.now() });
    while (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    return names;
  }

  /** Forgets a container (its cgroup went away). */
  forget(containerId: string): void {
    this.cache.delete(containerId);
  }

  private async candidates(id: string): Promise<Candidate[]> {
    const oci = (runtime: ContainerRuntime) => (json: unknown): ContainerNames => namesFromOciAnnotations(id, runtime, ociConfig.parse(json).annotations ?? {});
    const docker = (json: unknown): ContainerNames => {
      const parsed = dockerConfig.parse(json);
      return namesFromDockerConfig(id, parsed.Name, parsed.Config?.Labels ?? {});
    };
    const list: Candidate[] = [];
    for (const root of this.roots.containerdTasks) {
      const namespaces = await readdir(root).catch(() => [] as string[]);
      for (const namespace of namespaces) list.push({ file: join(root, namespace, id, 'config.json'), runtime: namespace === 'moby' ? 'docker' : 'containerd', parse: oci(namespace === 'moby' ? 'docker' : 'containerd') });
    }
    for (const root of this.roots.crioContainers) list.push({ file: join(root, id, 'userdata', 'config.json'), runtime: 'crio', parse: oci('crio') });
    // Docker's own config (it has the name) before the moby bundle (which has none).
    for (const root of this.roots.dockerContainers) list.unshift({ file: join(root, id, 'config.v2.json'), runtime: 'docker', parse: docker });
    return list;
  }

  private async search(id: string, hint: ContainerRuntime | undefined): Promise<ContainerNames | undefined> {
    const candidates = await this.candidates(id);
    // podman keeps its bundles where CRI-O does.
    const preferred = (c: Candidate): number => Number(c.runtime === hint || (hint === 'podman' && c.runtime === 'crio'));
    if (hint !== undefined) candidates.sort((a, b) => preferred(b) - preferred(a));
    for (const candidate of candidates) {
      let text: string | undefined;
      try {
        text = await readSmallFile(candidate.file, this.maxFileBytes);
      } catch (error) {
        this.onProblem(oneLine(error));
        continue;
      }
      if (text === undefined) continue;
      try {
        return candidate.parse(JSON.parse(text));
      } catch (error) {
        this.onProblem(`${candidate.file}: not a container state file: ${oneLine(error instanceof z.ZodError ? error.issues[0]?.message ?? error : error)}`);
      }
    }
    return undefined;
  }
}
