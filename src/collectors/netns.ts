import { availableParallelism } from 'node:os';
import { topN } from '../aggregate/top-n.js';
import { choiceFlag, integerFlag, numberFlag } from '../config/flag.js';
import type { ScanResult } from '../kernel/socket-record.js';
import { hasProcess, NetnsDiscovery, type DiscoveredNetns } from '../owners/netns-discovery.js';
import { NetnsOwnerCache } from '../owners/netns-owner-cache.js';
import { PidNamespaceCache } from '../owners/pid-netns-cache.js';
import { OWNER_LABEL_NAMES, OwnerNamer, ownerLabelValues, type OwnerLabels } from '../owners/owner-labels.js';
import type { OwnerPaths } from '../owners/flags.js';
import { RuntimeState } from '../owners/runtime-state.js';
import type { ScrapeContext, SocketTable, TableCollector } from './collector.js';
import { scrapeGauge } from './metric-helpers.js';
import { NamespaceCounterFiles } from './netns-counter-files.js';
import { CounterRound, type CounterReadout } from './netns-counter-round.js';
import { CounterReadThread } from './netns-counter-thread.js';
import { addCounters, namespaceWeight, reportCounters, type NamespaceCounters } from './netns-counters.js';
import { NamespaceTableSources, type NamespacePlace, type NamespaceTableSource } from './netns-sources.js';
import { NamespaceTable, reportTables, TableBudget, TableSnapshots, type TableRow } from './netns-tables.js';

export const NETNS_FLAGS = {
  maxNamespaces: integerFlag('collector.netns.max-namespaces', {
    help: 'most network namespaces given their own series (the busiest by sockets); the rest are summed into netns="other"',
    default: 128,
    min: 1,
    example: '32',
  }),
  tables: choiceFlag('collector.netns.tables', {
    help: "how each namespace's socket table is read: netlink (a sock_diag socket inside it; needs CAP_SYS_ADMIN), procfs (/proc/<pid>/net/tcp{,6}), auto (netlink, else procfs), or off",
    choices: ['auto', 'netlink', 'procfs', 'off'] as const,
    default: 'auto',
    example: 'procfs',
  }),
  tableBudget: numberFlag('collector.netns.table-budget', {
    help: 'time per scrape for dumping namespace socket tables; namespaces beyond it are skipped, reported from their last dump with its age, and dumped first next scrape',
    default: 0.5,
    min: 0.001,
    max: 60,
    unit: 'seconds',
    example: '0.2',
  }),
  dumpThreads: integerFlag('collector.netns.dump-threads', {
    help: "most threads dumping namespace tables at once over netlink, used only while the namespaces share the host's TCP hash (each dump then walks all of it), and never more than the CPUs the exporter may run on; 1: one after another. More than 1 pays only where the CPUs are truly separate (see docs/configuration.md)",
    default: 1,
    min: 1,
    max: 16,
    example: '2',
  }),
  maxPorts: integerFlag('collector.netns.max-ports', { help: 'listening ports per namespace given their own CLOSE_WAIT and accept-queue series; the rest in port="other"', default: 8, min: 1, example: '4' }),
  // Where runtime state and namespace bind mounts are read: --path.rootfs and --path.<runtime>.*
  // (src/owners/flags.ts), shared with the cgroup collector.
};

/** Every per-namespace series carries all of these, '' where the owner has none (see completeOwnerLabels). */
const LABEL_NAMES = OWNER_LABEL_NAMES.filter((name) => name !== 'unit');
const OTHER: OwnerLabels = { netns: 'other' };
const labelRecord = (labels: OwnerLabels): Record<string, string> => {
  const values = ownerLabelValues(labels, LABEL_NAMES);
  return Object.fromEntries(LABEL_NAMES.map((name, i) => [name, values[i]!]));
};

/** One namer (and so one runtime-state cache) per set of state directories, kept across scrapes. */
const namers = new Map<string, OwnerNamer>();
function namerFor({ runtimeState: roots }: OwnerPaths): OwnerNamer {
  const key = JSON.stringify(roots);
  let namer = namers.get(key);
  if (namer === undefined) namers.set(key, (namer = new OwnerNamer(new RuntimeState({ roots }))));
  return namer;
}

const snapshots = new TableSnapshots();
const tableSources = new NamespaceTableSources();
const counterFiles = new NamespaceCounterFiles();
/** Per namespace, its series' owner label object: the same object from scrape to scrape, formatted once by the renderer. */
const ownerCache = new NetnsOwnerCache<Record<string, string>>();
/** Per procfs root: which namespace each process is in, so a discovery reads only the new ones' links. */
const pidNamespaces = new Map<string, PidNamespaceCache>();
const counterThread = new CounterReadThread();

/** Every network namespace but the exporter's own: counters, owner labels, and socket tables within a budget. */
export const netnsCollector: TableCollector<typeof NETNS_FLAGS> = {
  name: 'netns',
  defaultEnabled: true,
  description: "Every other network namespace (pods, containers, ip netns): its TCP counters, and its socket table's states, CLOSE_WAIT and accept queues within a time budget (/proc/<pid>/net)",
  flags: NETNS_FLAGS,
  reads: 'socket-tables',
  async prepareTally(context: ScrapeContext, options) {
    const { proc, logger, ownerPaths } = context;
    // First: the worker reads last scrape's namespaces' counters while this thread finds this scrape's.
    const round = new CounterRound(counterFiles, counterThread);
    let processes = pidNamespaces.get(proc.root);
    if (processes === undefined) pidNamespaces.set(proc.root, (processes = new PidNamespaceCache()));
    const discovery = new NetnsDiscovery({ proc, ipNetnsDirs: ownerPaths.ipNetnsDirs, otherBindMountDirs: ownerPaths.otherNetnsDirs, pidNamespaces: processes });
    const found = await discovery.discover();
    // Without a listable procfs no namespace can be found: that is a failure, not "none".
    if (!found.stats.procListed) throw new Error(`cannot list ${proc.root}: is --path.procfs the host's /proc?`);
    const others = found.namespaces.filter((ns) => !ns.own);
    const alive = new Set(others.map((ns) => ns.inode));
    const withPid = others.filter(hasProcess);
    // With more namespaces than series slots, the counters rank them (the busiest keep their own
    // series), so they are read before the tables; so they are when there are no tables. Otherwise
    // every namespace is kept, and the tables are dumped while the worker reads the counters.
    const ranking = withPid.length > options.maxNamespaces;
    const overlapped = !ranking && options.tables !== 'off';
    // This thread reads whatever counters the worker has not claimed yet: at once when they come
    // first, and after the dumps when they overlap them (meanwhile it parses their datagrams; once
    // they are done, the worker may still have tens of namespaces left, which it would read alone).
    let readout: Promise<CounterReadout> | undefined;
    const counters = (): Promise<CounterReadout> =>
      (readout ??= (async () => {
        await round.help();
        const result = await round.finish(proc, others);
        counterFiles.retain(alive);
        return result;
      })());
    if (!overlapped) counters().catch(() => undefined); // awaited below or in report(); until then, not an unhandled rejection

    const cap = ranking ? topN((await counters()).counted, (entry) => namespaceWeight(entry.counters), options.maxNamespaces, (a, b) => a.ns.inode - b.ns.inode) : undefined;
    const candidates = cap === undefined ? withPid : cap.kept.map((entry) => entry.ns);
    const namer = namerFor(ownerPaths);
    ownerCache.retain(alive);
    const ownerOf = (ns: DiscoveredNetns): Promise<Record<string, string>> => ownerCache.labels(ns.inode, ns.pid, () => discovery.ownerLabels(ns, namer).then(labelRecord));
    const labelled = await Promise.all(candidates.map(async (ns) => ({ ns, labels: await ownerOf(ns) })));
    // Namespaces only a bind mount keeps alive: no /proc/<pid>/net, so no counters (nothing to
    // rank them by: they take the slots the cap leaves, by inode), but a table over netlink.
    const withoutProcess = others.length - withPid.length;
    const bindOnly = others.filter((ns) => ns.pid === undefined && ns.bindMounts.length > 0);
    const readable = tableSources.readsBindMounts(options.tables) ? bindOnly : [];
    const bindKept = readable.slice(0, Math.max(0, options.maxNamespaces - candidates.length));
    const bindFolded = readable.length - bindKept.length;
    const bindLabelled = await Promise.all(bindKept.map(async (ns) => ({ ns, labels: await ownerOf(ns) })));

    // Tables: the kept namespaces, stalest first, each guarded by the shared budget.
    const budget = new TableBudget(options.tableBudget);
    const tables = new Map<SocketTable, { inode: number; labels: Record<string, string>; sink: NamespaceTable; skipped: boolean; source: NamespaceTableSource; needsCounters: boolean }>();
    const method = options.tables;
    if (method !== 'off') {
      const byInode = new Map<number, { labels: Record<string, string>; where: NamespacePlace }>();
      for (const entry of labelled) byInode.set(entry.ns.inode, { labels: entry.labels, where: { pid: entry.ns.pid } });
      for (const entry of bindLabelled) byInode.set(entry.ns.inode, { labels: entry.labels, where: { bindMount: entry.ns.bindMounts[0]! } });
      const batch = tableSources.batchFor(method, budget, Math.min(options.dumpThreads, availableParallelism()));
      for (const inode of snapshots.dumpOrder([...byInode.keys()])) {
        const entry = byInode.get(inode)!;
        const sink = new NamespaceTable();
        const source = tableSources.sourceFor(proc, inode, entry.where, method, logger, sink, batch);
        batch?.add(source);
        const state = { inode, labels: entry.labels, sink, skipped: false, source, needsCounters: 'pid' in entry.where };
        tables.set({ id: `netns:${inode}`, source: budget.guard(source, () => (state.skipped = true), () => batch?.began(source) ?? false) }, state);
      }
    }
    const keptInodes = new Set([...candidates.map((ns) => ns.inode), ...bindKept.map((ns) => ns.inode)]);
    snapshots.retain(keptInodes);
    tableSources.retain(keptInodes);

    return {
      extraTables: () => [...tables.keys()],
      sinkFor(table) {
        return tables.get(table)?.sink;
      },
      async report(registry, scans: ReadonlyMap<SocketTable, ScanResult>, failures) {
        const { counted, unreadable, readMs } = await counters();
        const now = performance.now();
        const kept = cap === undefined ? counted : cap.kept;
        const labelsOf = new Map(labelled.map((entry) => [entry.ns.inode, entry.labels]));
        const countedInodes = new Set(kept.map((entry) => entry.ns.inode));
        const outcomes = { dumped: 0, skipped: 0, failed: 0 };
        for (const [table, state] of tables) {
          const scan = scans.get(table);
          // A namespace whose counters could not be read (its process left) is not reported, table included.
          const gone = state.needsCounters && !countedInodes.has(state.inode);
          if (scan !== undefined && !gone) {
            snapshots.set(state.inode, { table: state.sink, scan, method: state.source.name, ownHash: state.source.ownHash, at: now });
            outcomes.dumped++;
          } else if (state.skipped && !gone) outcomes.skipped++;
          else {
            // The namespace or its process went away during the scrape: its series go with it.
            snapshots.delete(state.inode);
            outcomes.failed++;
            logger.debug({ table: table.id, err: failures.get(table) }, 'namespace table not read');
          }
        }
        const rows: TableRow[] = [];
        for (const state of tables.values()) {
          const snapshot = snapshots.get(state.inode);
          if (snapshot !== undefined) rows.push({ labels: state.labels, snapshot });
        }

        let other: NamespaceCounters | undefined;
        for (const entry of cap?.folded ?? []) other = addCounters(other, entry.counters);
        const counterRows = kept.map((entry) => ({ labels: labelsOf.get(entry.ns.inode)!, counters: entry.counters }));
        if (other !== undefined) counterRows.push({ labels: labelRecord(OTHER), counters: other });
        reportCounters(registry, counterRows);
        if (options.tables !== 'off') reportTables(registry, rows, options.maxPorts, now);

        const namespaces = scrapeGauge(registry, 'tcpstate_netns_namespaces', "Network namespaces found besides the exporter's own, by what became of them this scrape: reported, folded into netns=\"other\" by the cap, without_process (only a bind mount and no netlink: nothing to read through; over netlink such a namespace is reported with its table and no counters), unreadable (permission, or the process left).", ['state']);
        namespaces.set({ state: 'reported' }, kept.length + bindKept.length);
        namespaces.set({ state: 'folded' }, (cap?.folded.length ?? 0) + bindFolded);
        namespaces.set({ state: 'without_process' }, withoutProcess - readable.length);
        namespaces.set({ state: 'unreadable' }, unreadable);
        if (options.tables !== 'off') {
          const outcome = scrapeGauge(registry, 'tcpstate_netns_tables', 'Namespace socket tables this scrape: dumped, skipped (the budget was spent; the last dump is reported with its age), failed (the namespace went away).', ['outcome']);
          for (const [name, count] of Object.entries(outcomes)) outcome.set({ outcome: name }, count);
          scrapeGauge(registry, 'tcpstate_netns_table_dump_seconds', 'Time spent dumping namespace socket tables this scrape, from the first dump to the report.').set(budget.elapsedSeconds());
        }
        scrapeGauge(registry, 'tcpstate_netns_discovery_seconds', 'Time spent finding the network namespaces this scrape.').set(found.stats.durationMs / 1000);
        scrapeGauge(registry, 'tcpstate_netns_counters_read_seconds', "Time spent reading and parsing the namespaces' counter files (/proc/<pid>/net/{sockstat,sockstat6,snmp,netstat}) this scrape, from the first read to the last, on both threads where there are two cores.").set(readMs / 1000);
      },
    };
  },
};
