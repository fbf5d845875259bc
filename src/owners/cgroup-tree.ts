import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserFacingError } from '../errors.js';
import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Maps a cgroup id to its path. The id that sock_diag reports (INET_DIAG_CGROUP_ID) is the inode
 * number of the socket's cgroup v2 directory, so one walk of the mount that stats each directory
 * gives the whole map. Ids are JavaScript numbers: exact up to 2^53, far above the kernfs ids a
 * running kernel hands out (the netlink parser combines the u64's halves as hi * 2^32 + lo).
 */
export interface CgroupTreeOptions {
  /** The cgroup2 mount point to walk (from readCgroup2Mount). */
  readonly mountPoint: string;
  /** Prepended to every path, for a mount that shows a subtree of the hierarchy; '' by default. */
  readonly pathPrefix?: string;
  /** A miss re-walks at most this often (ms). */
  readonly minWalkIntervalMs?: number;
  /** Even without a miss, re-walk on the next lookup after this long (ms), so removed cgroups leave. */
  readonly maxAgeMs?: number;
  /** Stop the walk after this many directories; the rest stay unknown until a later walk. */
  readonly maxEntries?: number;
  /** Directories walked between two turns of the event loop. */
  readonly directoriesPerTurn?: number;
  /** The clock, in ms; tests move it. */
  readonly now?: () => number;
}

export interface CgroupWalkStats {
  readonly directories: number;
  readonly durationMs: number;
  /** True when maxEntries stopped the walk early. */
  readonly truncated: boolean;
  /** When the walk finished, by the tree's clock. */
  readonly at: number;
}

export const CGROUP_TREE_DEFAULTS = {
  minWalkIntervalMs: 10_000,
  maxAgeMs: 300_000,
  maxEntries: 20_000,
  directoriesPerTurn: 256,
} as const;

export class CgroupWalkError extends UserFacingError {
  override readonly name = 'CgroupWalkError';
}

export class CgroupTree {
  private paths = new Map<number, string>();
  private walking: Promise<CgroupWalkStats> | undefined;
  private last: CgroupWalkStats | undefined;
  private readonly options: Required<Omit<CgroupTreeOptions, 'now'>> & { now: () => number };

  constructor(options: CgroupTreeOptions) {
    this.options = {
      pathPrefix: '',
      ...CGROUP_TREE_DEFAULTS,
      ...options,
      now: options.now ?? (() => performance.now()),
    };
  }

  /** The cached path of one id, without any I/O; undefined when not (yet) known. */
  pathOf(id: number): string | undefined {
    return this.paths.get(id);
  }

  get size(): number {
    return this.paths.size;
  }

  /** The last completed walk, if any. */
  get lastWalk(): CgroupWalkStats | undefined {
    return this.last;
  }

  /**
   * Paths for a batch of ids (one scrape's distinct cgroup ids). Hits cost a Map lookup. A miss,
   * or a map older than maxAgeMs, triggers one walk, unless the last walk is younger than
   * minWalkIntervalMs; ids still unknown after that map to undefined.
   */
  async resolve(ids: Iterable<number>): Promise<Map<number, string | undefined>> {
    const result = new Map<number, string | undefined>();
    let missed = false;
    for (const id of ids) {
      const path = this.paths.get(id);
      if (path === undefined) missed = true;
      result.set(id, path);
    }
    const age = this.last === undefined ? Infinity : this.options.now() - this.last.at;
    const due = age >= this.options.maxAgeMs || (missed && age >= this.options.minWalkIntervalMs);
    if (!due) return result;
    await this.refresh();
    for (const id of result.keys()) result.set(id, this.paths.get(id));
    return result;
  }

  /** Walks the mount now (sharing a walk already in flight) and replaces the map. */
  refresh(): Promise<CgroupWalkStats> {
    this.walking ??= this.walk().finally(() => {
      this.walking = undefined;
    });
    return this.walking;
  }

  private async walk(): Promise<CgroupWalkStats> {
    const { mountPoint, pathPrefix, maxEntries, directoriesPerTurn, now } = this.options;
    const started = performance.now();
    const paths = new Map<number, string>();
    let rootIno: number;
    try {
      rootIno = statSync(mountPoint).ino;
    } catch (error) {
      throw new CgroupWalkError(`cannot walk the cgroup2 mount ${mountPoint}: ${(error as Error).message.replace(/^[A-Z]+: /, '').replace(/, \w+ '[^']*'$/, '')}`);
    }
    paths.set(rootIno, pathPrefix === '' ? '/' : pathPrefix);
    // Breadth first with an explicit queue: no recursion however deep, and a truncated walk keeps
    // the upper levels (slices, pods) rather than one deep branch.
    const queue: string[] = [''];
    let truncated = false;
    let sinceYield = 0;
    for (let head = 0; head < queue.length; head++) {
      const relative = queue[head]!;
      queue[head] = '';
      let children;
      try {
        children = readdirSync(join(mountPoint, relative), { withFileTypes: true });
      } catch {
        continue; // removed during the walk, or not readable: it simply is not in this map
      }
      for (const child of children) {
        if (!child.isDirectory()) continue;
        if (paths.size >= maxEntries) {
          truncated = true;
          break;
        }
        const childRelative = `${relative}/${child.name}`;
        let stats;
        try {
          stats = statSync(join(mountPoint, childRelative));
        } catch {
          continue;
        }
        paths.set(stats.ino, pathPrefix + childRelative);
        // kernfs keeps a directory's link count at 2 + its subdirectories, so nlink 2 is a leaf
        // and its readdir (the costlier call, ~25 µs on cgroupfs) can be skipped. Filesystems that
        // report 1 for every directory are still read.
        if (stats.nlink !== 2) queue.push(childRelative);
        if (++sinceYield >= directoriesPerTurn) {
          sinceYield = 0;
          await nextTurn();
        }
      }
      if (truncated) break;
    }
    this.paths = paths;
    this.last = { directories: paths.size, durationMs: performance.now() - started, truncated, at: now() };
    return this.last;
  }
}
