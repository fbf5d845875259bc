import type { Registry } from 'prom-client';
import type { CgroupTally } from '../aggregate/cgroup-tally.js';
import { topN } from '../aggregate/top-n.js';
import { STATE_SLOTS, stateName } from '../kernel/tcp.js';
import { ownerLabelValues, type OwnerLabelName, type OwnerLabels } from '../owners/owner-labels.js';
import { scrapeGauge } from './metric-helpers.js';

/**
 * The owner labels every owner series carries, all of them, '' where the owner has none (under
 * honor_labels a missing one would be filled from the exporter's own pod: see completeOwnerLabels).
 * No netns: a cgroup id names its owner across namespaces, and the counts are summed over them.
 */
export const OWNER_SERIES_LABELS = ['namespace', 'pod', 'uid', 'container', 'unit'] as const satisfies readonly OwnerLabelName[];
type SeriesLabel = (typeof OWNER_SERIES_LABELS)[number];

/** Sockets whose owners fell beyond the cap, and sockets with no nameable owner. */
export const OTHER_OWNER: OwnerLabels = { unit: 'other' };
export const UNKNOWN_OWNER: OwnerLabels = { unit: 'unknown' };

/** The owner series' rows: one per distinct label set (several cgroups may name one owner). */
export interface OwnerGroup {
  readonly labels: OwnerLabels;
  readonly key: string;
  readonly rows: number[];
  total: number;
}

export interface OwnerCaps {
  /** Owners given their own labels; the rest are summed into unit="other". */
  readonly top: number;
  /** (owner, listening port) pairs given their own port label; the rest go to port="other" per owner. */
  readonly maxPorts: number;
}

/** One owner's label values, by name, for a gauge. */
function labelSet(labels: OwnerLabels): Record<SeriesLabel, string> {
  const values = ownerLabelValues(labels, OWNER_SERIES_LABELS);
  return Object.fromEntries(OWNER_SERIES_LABELS.map((name, i) => [name, values[i]!])) as Record<SeriesLabel, string>;
}

/**
 * Groups the tally's rows by owner: rows whose cgroup was named (labels from CgroupOwners) by their
 * label set, the rest (no id, or an id no walk of the cgroup tree found) into "unknown".
 */
export function groupByOwner(tally: CgroupTally, labelsOfId: ReadonlyMap<number, OwnerLabels | undefined>): { named: OwnerGroup[]; unknown: OwnerGroup } {
  const unknown: OwnerGroup = { labels: UNKNOWN_OWNER, key: '\0unknown', rows: [0], total: tally.total(0) };
  const byKey = new Map<string, OwnerGroup>();
  for (let row = 1; row < tally.ids.length; row++) {
    const labels = labelsOfId.get(tally.ids[row]!);
    const total = tally.total(row);
    if (labels === undefined) {
      unknown.rows.push(row);
      unknown.total += total;
      continue;
    }
    const key = ownerLabelValues(labels, OWNER_SERIES_LABELS).join('\0');
    let group = byKey.get(key);
    if (group === undefined) {
      group = { labels, key, rows: [], total: 0 };
      byKey.set(key, group);
    }
    group.rows.push(row);
    group.total += total;
  }
  return { named: [...byKey.values()].filter((group) => group.total > 0), unknown };
}

/** Registers the owner series from a finished tally. */
export function reportOwners(registry: Registry, tally: CgroupTally, labelsOfId: ReadonlyMap<number, OwnerLabels | undefined>, caps: OwnerCaps, listenQueueLimitKnown: boolean): void {
  const { named, unknown } = groupByOwner(tally, labelsOfId);
  const selection = topN(named, (group) => group.total, caps.top, (a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const emitted: OwnerGroup[] = [...selection.kept];
  if (selection.folded.length > 0) {
    emitted.push({ labels: OTHER_OWNER, key: '\0other', rows: selection.folded.flatMap((group) => group.rows), total: 0 });
  }
  emitted.push(unknown);

  const sockets = scrapeGauge(
    registry,
    'tcpstate_owner_sockets',
    'Sockets by owning cgroup (systemd unit, container, Kubernetes pod and container) and state; the top --collector.cgroup.top owners, the rest in unit="other", sockets without a nameable cgroup (TIME_WAIT, request sockets, removed cgroups) in unit="unknown".',
    [...OWNER_SERIES_LABELS, 'state'],
  );
  for (const group of emitted) {
    const labels = labelSet(group.labels);
    for (let slot = 1; slot < STATE_SLOTS; slot++) {
      let count = 0;
      for (const row of group.rows) count += tally.counts[row * STATE_SLOTS + slot]!;
      sockets.set({ ...labels, state: stateName(slot) }, count);
    }
  }
  reportOwnerPorts(registry, tally, emitted, caps, listenQueueLimitKnown);
}

interface PortEntry {
  readonly group: number;
  readonly port: number;
  listeners: number;
  closeWait: number;
  queueLength: number;
  queueMax: number;
}

/** Per owner and listening port: listeners, CLOSE_WAIT, the accept queue; capped, then port="other". */
function reportOwnerPorts(registry: Registry, tally: CgroupTally, groups: readonly OwnerGroup[], caps: OwnerCaps, listenQueueLimitKnown: boolean): void {
  const groupOfRow = new Map<number, number>();
  groups.forEach((group, index) => group.rows.forEach((row) => groupOfRow.set(row, index)));
  const entries = new Map<number, PortEntry>();
  for (const stats of tally.portStats) {
    // Server ports only: a CLOSE_WAIT on an ephemeral port (a client's pool) would be a series per
    // connection; it is counted in tcpstate_owner_sockets.
    if (!tally.listeningPorts.has(stats.port)) continue;
    const group = groupOfRow.get(stats.row)!;
    const key = group * 65536 + stats.port;
    let entry = entries.get(key);
    if (entry === undefined) {
      entry = { group, port: stats.port, listeners: 0, closeWait: 0, queueLength: 0, queueMax: 0 };
      entries.set(key, entry);
    }
    entry.listeners += stats.listeners;
    entry.closeWait += stats.closeWait;
    entry.queueLength += stats.queueLength;
    entry.queueMax += stats.queueMax;
  }
  const selection = topN(
    entries.values(),
    (entry) => entry.closeWait + entry.queueLength + entry.listeners,
    caps.maxPorts,
    (a, b) => a.group - b.group || a.port - b.port,
  );
  const rows: Array<{ group: number; port: string; entries: PortEntry[] }> = selection.kept
    .sort((a, b) => a.group - b.group || a.port - b.port)
    .map((entry) => ({ group: entry.group, port: String(entry.port), entries: [entry] }));
  const foldedByGroup = new Map<number, PortEntry[]>();
  for (const entry of selection.folded) foldedByGroup.set(entry.group, [...(foldedByGroup.get(entry.group) ?? []), entry]);
  for (const [group, folded] of [...foldedByGroup].sort((a, b) => a[0] - b[0])) rows.push({ group, port: 'other', entries: folded });

  const names = [...OWNER_SERIES_LABELS, 'port'] as const;
  const portSockets = scrapeGauge(registry, 'tcpstate_owner_port_sockets', 'LISTEN and CLOSE_WAIT sockets by owning cgroup and listening local port; pairs beyond --collector.cgroup.max-ports are summed into port="other" per owner.', [...names, 'state']);
  const queueLength = scrapeGauge(registry, 'tcpstate_owner_listen_queue_length', 'Connections waiting in the accept queue, by owning cgroup and port, summed over that owner\'s listeners on the port.', names);
  const queueMax = listenQueueLimitKnown
    ? scrapeGauge(registry, 'tcpstate_owner_listen_queue_max', 'Accept-queue limit (listen backlog), by owning cgroup and port, summed over that owner\'s listeners on the port.', names)
    : undefined;
  for (const { group, port, entries: list } of rows) {
    const labels = { ...labelSet(groups[group]!.labels), port };
    const sum = (field: 'listeners' | 'closeWait' | 'queueLength' | 'queueMax'): number => list.reduce((total, entry) => total + entry[field], 0);
    portSockets.set({ ...labels, state: 'listen' }, sum('listeners'));
    portSockets.set({ ...labels, state: 'close_wait' }, sum('closeWait'));
    if (sum('listeners') === 0) continue; // CLOSE_WAIT on another owner's port: no queue of its own
    queueLength.set(labels, sum('queueLength'));
    queueMax?.set(labels, sum('queueMax'));
  }
}
