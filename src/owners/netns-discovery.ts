import { readdirSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { ProcRoot } from '../procfs/proc-root.js';
import { classifyCgroupPath } from './classify.js';
import type { OwnerLabels, OwnerNamer } from './owner-labels.js';
import type { PidNamespaceCache } from './pid-netns-cache.js';
import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Every network namespace on the host: the distinct namespaces behind /proc/<pid>/ns/net, plus
 * the ones kept alive only by a bind mount (`ip netns add` in /run/netns, Docker's sandboxes in
 * /run/docker/netns). A namespace is identified by its nsfs inode, the number in "net:[N]" and
 * the st_ino of a bind mount of it: stable for the namespace's life and unique on the host.
 */
export interface DiscoveredNetns {
  readonly inode: number;
  /** The lowest pid inside, when a visible process is inside. */
  readonly pid?: number;
  /** Up to MAX_PIDS_KEPT of the pids inside, ascending (owner lookup tries them in order). */
  readonly pids: readonly number[];
  /** Bind mounts of it, as full paths. */
  readonly bindMounts: readonly string[];
  /** Its `ip netns` name: the file name of a bind mount in an ip-netns directory. */
  readonly name?: string;
  /** The exporter's own namespace (the host's, with hostNetwork). */
  readonly own: boolean;
}

export interface NetnsDiscoveryOptions {
  readonly proc: ProcRoot;
  /** Directories `ip netns` uses; their file names are namespace names. */
  readonly ipNetnsDirs?: readonly string[];
  /** Other bind-mount directories (Docker's sandboxes); their file names are not shown. */
  readonly otherBindMountDirs?: readonly string[];
  /** readlinks between two turns of the event loop. */
  readonly pidsPerTurn?: number;
  /** The namespaces of the processes seen by earlier discoveries, kept by the caller across them; without it every link is read. */
  readonly pidNamespaces?: PidNamespaceCache;
}

export interface NetnsDiscoveryResult {
  readonly namespaces: DiscoveredNetns[];
  /** Whether /proc could be listed; pids looked at, pids whose link could not be read (gone, or not permitted), and the time taken. */
  readonly stats: { readonly procListed: boolean; readonly pids: number; readonly unreadable: number; readonly linksRead: number; readonly durationMs: number };
}

export const MAX_PIDS_KEPT = 16;

/** A namespace with a visible process inside: one whose /proc/<pid>/net can be read. */
export const hasProcess = (ns: DiscoveredNetns): ns is DiscoveredNetns & { pid: number } => ns.pid !== undefined;

/** "net:[4026531840]" -> 4026531840; undefined for anything else. */
export function parseNetnsLink(link: string | undefined): number | undefined {
  const match = link === undefined ? null : /^net:\[(\d+)\]$/.exec(link);
  return match === null ? undefined : Number(match[1]);
}

/** The cgroup v2 path from /proc/<pid>/cgroup (its "0::/path" line); undefined on a v1-only host. */
export function cgroupV2PathOf(procCgroupText: string): string | undefined {
  for (const line of procCgroupText.split('\n')) if (line.startsWith('0::')) return line.slice(3);
  return undefined;
}

interface Collected {
  pids: number[];
  bindMounts: string[];
  name?: string;
}

export class NetnsDiscovery {
  private readonly proc: ProcRoot;
  private readonly ipNetnsDirs: readonly string[];
  private readonly otherBindMountDirs: readonly string[];
  private readonly pidsPerTurn: number;
  private readonly pidNamespaces: PidNamespaceCache | undefined;

  constructor(options: NetnsDiscoveryOptions) {
    this.proc = options.proc;
    this.ipNetnsDirs = options.ipNetnsDirs ?? ['/run/netns'];
    this.otherBindMountDirs = options.otherBindMountDirs ?? ['/run/docker/netns'];
    this.pidsPerTurn = options.pidsPerTurn ?? 1024;
    this.pidNamespaces = options.pidNamespaces;
  }

  async discover(): Promise<NetnsDiscoveryResult> {
    const started = performance.now();
    const found = new Map<number, Collected>();
    const entry = (inode: number): Collected => {
      let collected = found.get(inode);
      if (collected === undefined) found.set(inode, (collected = { pids: [], bindMounts: [] }));
      return collected;
    };
    const own = parseNetnsLink(this.proc.readLinkSyncIfPresent('self', 'ns', 'net'));

    // Sync readlinks in batches: through the thread pool each would cost more than the syscall.
    const listed = this.proc.listEntriesSyncIfPresent();
    const processes = (listed ?? []).filter(({ name }) => /^\d+$/.test(name)).map(({ name, ino }) => ({ pid: Number(name), ino }));
    processes.sort((a, b) => a.pid - b.pid);
    const readLink = (pid: number): number | undefined => parseNetnsLink(this.proc.readLinkSyncIfPresent(String(pid), 'ns', 'net'));
    const cache = this.pidNamespaces;
    cache?.begin();
    const inodes: Array<number | undefined> = [];
    let linksRead = 0;
    for (let i = 0; i < processes.length; i++) {
      const listedProcess = processes[i]!;
      if (cache === undefined) {
        inodes.push(readLink(listedProcess.pid));
        linksRead++;
      } else inodes.push(cache.namespaceOf(listedProcess, readLink));
      if ((i + 1) % this.pidsPerTurn === 0) await nextTurn();
    }
    if (cache !== undefined) linksRead = cache.linksRead;
    let unreadable = 0;
    processes.forEach(({ pid }, i) => {
      const inode = inodes[i];
      if (inode === undefined) unreadable++;
      else {
        const collected = entry(inode);
        if (collected.pids.length < MAX_PIDS_KEPT) collected.pids.push(pid);
      }
    });

    const nsfsDevice = this.nsfsDevice();
    for (const [dirs, named] of [[this.ipNetnsDirs, true], [this.otherBindMountDirs, false]] as const) {
      for (const dir of dirs) {
        for (const file of listIfPresent(dir)) {
          const path = join(dir, file);
          const stats = statIfPresent(path);
          // A leftover file whose namespace is gone is a plain empty file on tmpfs, not nsfs.
          if (stats === undefined || nsfsDevice === undefined || stats.dev !== nsfsDevice) continue;
          const collected = entry(stats.ino);
          collected.bindMounts.push(path);
          if (named && collected.name === undefined) collected.name = file;
        }
      }
    }

    const namespaces = [...found].map(([inode, c]): DiscoveredNetns => ({
      inode,
      ...(c.pids[0] === undefined ? {} : { pid: c.pids[0] }),
      pids: c.pids,
      bindMounts: c.bindMounts,
      ...(c.name === undefined ? {} : { name: c.name }),
      own: inode === own,
    }));
    namespaces.sort((a, b) => a.inode - b.inode);
    return { namespaces, stats: { procListed: listed !== undefined, pids: processes.length, unreadable, linksRead, durationMs: performance.now() - started } };
  }

  /** st_dev of nsfs, from the reader's own namespace link (stat follows it to the nsfs inode). */
  private nsfsDevice(): number | undefined {
    return statIfPresent(this.proc.path('self', 'ns', 'net'))?.dev;
  }

  /** The cgroup v2 path of a process, or undefined when it is gone or the host has no cgroup v2. */
  cgroupPathOf(pid: number): string | undefined {
    const text = this.proc.readTextSyncIfPresent(String(pid), 'cgroup');
    return text === undefined ? undefined : cgroupV2PathOf(text);
  }

  /**
   * The owner labels of one namespace: from the cgroup of the first of its pids that sits in a
   * container or pod (else the lowest pid), through the runtime state. The `netns` label is the
   * `ip netns` name when the namespace has one, else its inode. The exporter's own namespace and a
   * namespace without a visible process carry `netns` alone.
   */
  async ownerLabels(ns: DiscoveredNetns, namer: OwnerNamer): Promise<OwnerLabels> {
    const netns = ns.name ?? String(ns.inode);
    if (ns.own) return { netns };
    let chosen: string | undefined;
    for (const pid of ns.pids) {
      const path = this.cgroupPathOf(pid);
      if (path === undefined) continue;
      chosen ??= path;
      const kind = classifyCgroupPath(path).kind;
      if (kind === 'container' || kind === 'pod') {
        chosen = path;
        break;
      }
    }
    if (chosen === undefined) return { netns };
    const labels = await namer.labelsForCgroupPath(chosen, { scope: 'netns', netns });
    // A process in a plain unit or an unknown cgroup (ip netns exec from a shell) names no owner.
    return labels.unit === undefined ? labels : { netns };
  }
}

function listIfPresent(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function statIfPresent(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
