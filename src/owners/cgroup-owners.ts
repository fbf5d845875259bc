import type { CgroupTree } from './cgroup-tree.js';
import type { OwnerLabels, OwnerNamer } from './owner-labels.js';

/**
 * Cgroup ids (INET_DIAG_CGROUP_ID, one scrape's distinct values) -> owner labels: what the socket
 * owner collector calls once per scrape. Undefined for an id no walk has found (a removed cgroup
 * still referenced by its sockets): the caller counts those as owner unknown.
 */
export class CgroupOwners {
  // Per id, the labels and the path they were made for: a re-walk that moves an id to another
  // path (never seen, but cheap to guard) makes the entry stale.
  private readonly byId = new Map<number, { path: string; labels: OwnerLabels }>();

  constructor(
    private readonly tree: CgroupTree,
    private readonly namer: OwnerNamer,
    private readonly maxCached = 20_000,
  ) {}

  async labelsFor(ids: Iterable<number>): Promise<Map<number, OwnerLabels | undefined>> {
    const result = new Map<number, OwnerLabels | undefined>();
    const unknown: number[] = [];
    for (const id of ids) {
      if (this.tree.pathOf(id) === undefined) unknown.push(id);
      result.set(id, undefined);
    }
    // Also when nothing is missing: the tree re-walks once its map is older than its max age.
    await this.tree.resolve(unknown);
    for (const id of result.keys()) {
      const path = this.tree.pathOf(id);
      if (path === undefined) continue;
      const cached = this.byId.get(id);
      if (cached !== undefined && cached.path === path) {
        result.set(id, cached.labels);
        continue;
      }
      const labels = this.namer.cachedLabels(path, { scope: 'socket' }) ?? (await this.namer.labelsForCgroupPath(path, { scope: 'socket' }));
      // Only final labels are kept per id (the namer caches those); id-only ones are asked again.
      if (this.namer.cachedLabels(path, { scope: 'socket' }) !== undefined) {
        if (this.byId.size >= this.maxCached) this.byId.delete(this.byId.keys().next().value!);
        this.byId.set(id, { path, labels });
      }
      result.set(id, labels);
    }
    return result;
  }
}
