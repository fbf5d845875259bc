import { topN } from '../aggregate/top-n.js';
import { choiceFlag, integerFlag, numberFlag } from '../config/flag.js';
import type { ScanResult } from '../kernel/socket-record.js';
import { NetnsDiscovery, parseNetnsLink, type DiscoveredNetns } from '../owners/netns-discovery.js';
import { NetnsOwnerCache } from '../owners/netns-owner-cache.js';
import { OWNER_LABEL_NAMES, OwnerNamer, ownerLabelValues, type OwnerLabels } from '../owners/owner-labels.js';
import type { OwnerPaths } from '../owners/flags.js';
import { RuntimeState } from '../owners/runtime-state.js';
import type { ProcRoot } from '../procfs/proc-root.js';
import type { ScrapeContext, SocketTable, TableCollector } from './collector.js';
import { scrapeGauge } from './metric-helpers.js';
import { NamespaceCounterFiles, type Kept } from './netns-counter-files.js';
import { claimJob, CounterReadThread, sharedIndex } from './netns-counter-thread.js';
import { addCounters, namespaceWeight, parseNamespaceCounters, reportCounters, type NamespaceCounters } from './netns-counters.js';
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
const ownerCache = new NetnsOwnerCache();
/** Namespaces whose counters are read between two turns of the event loop (~2 ms). */
const COUNTERS_PER_TURN = 16;
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Counted {
  ns: DiscoveredNetns & { pid: number };
  counters: NamespaceCounters;
}

/** Below this many namespaces, the second thread's round trip costs more than the reads it takes over. */
const MIN_NAMESPACES_TO_SHARE = 16;
const counterThread = new CounterReadThread();

/**
 * Each namespace's counters, through files opened via its lowest pid and kept open; a namespace
 * whose files cannot be read, or whose pid left it before they were opened (and might be reused
 * elsewhere), is left out. The cost is the kernel formatting each file on every read, so where
 * there is a second core a worker reads and parses too: both threads claim the next namespace
 * from one shared index. Synchronous preads here (the thread pool costs more than the read), with
 * a turn of the event loop between groups; `readMs` is the time from the first read to the last.
 */
async function readAllCounters(proc: ProcRoot, namespaces: readonly DiscoveredNetns[]): Promise<{ counted: Counted[]; unreadable: number; readMs: number }> {
  const opened: Array<{ ns: Counted['ns']; kept: Kept }> = [];
  let unreadable = 0;
  for (const ns of namespaces) {
    if (ns.pid === undefined) continue;
    const pid = ns.pid;
    const kept = counterFiles.open(ns.inode, proc.path(String(pid), 'net'), () => parseNetnsLink(proc.readLinkSyncIfPresent(String(pid), 'ns', 'net')) === ns.inode);
    if (kept === undefined) unreadable++;
    else opened.push({ ns: { ...ns, pid }, kept });
  }
  const started = performance.now();
  const next = sharedIndex();
  const shared = counterThread.available && opened.length >= MIN_NAMESPACES_TO_SHARE;
  const remote = shared ? counterThread.read(opened.map(({ ns, kept }) => ({ inode: ns.inode, fds: kept.fds, paths: kept.paths })), next).catch(() => undefined) : Promise.resolve(undefined);

  /** By index into `opened`: the counters, or null when unreadable; undefined while not read. */
  const outcomes: Array<NamespaceCounters | null | undefined> = new Array<undefined>(opened.length);
  const readHere = (index: number): void => {
    const { ns } = opened[index]!;
    const texts = counterFiles.read(ns.inode, proc.path(String(ns.pid), 'net'), () => true);
    outcomes[index] = texts === undefined ? null : parseNamespaceCounters(texts, (file) => counterFiles.pathOf(ns.inode, file));
  };
  let readHereCount = 0;
  for (let index = claimJob(next, opened.length); index !== undefined; index = claimJob(next, opened.length)) {
    readHere(index);
    if (++readHereCount % COUNTERS_PER_TURN === 0) await nextTurn();
  }
  for (const result of (await remote) ?? []) {
    if (result.outcome === 'malformed') throw new Error(result.message);
    if (result.outcome === 'read') outcomes[result.index] = result.counters;
    else {
      counterFiles.forget(opened[result.index]!.ns.inode);
      outcomes[result.index] = null;
    }
  }
  // Claimed by a worker that then failed: read here.
  for (let index = 0; index < opened.length; index++) if (outcomes[index] === undefined) readHere(index);
  const readMs = performance.now() - started;

  const counted: Counted[] = [];
  outcomes.forEach((counters, index) => {
    if (counters === null || counters === undefined) unreadable++;
    else counted.push({ ns: opened[index]!.ns, counters });
  });
  return { counted, unreadable, readMs };
}

/** Every network namespace but the exporter's own: counters, owner labels, and socket tables within a budget. */
export const netnsCollector: TableCollector<typeof NETNS_FLAGS> = {
  name: 'netns',
  defaultEnabled: true,
  description: "Every other network namespace (pods, containers, ip netns): its TCP counters, and its socket table's states, CLOSE_WAIT and accept queues within a time budget (/proc/<pid>/net)",
  flags: NETNS_FLAGS,
  reads: 'socket-tables',
  async prepareTally(context: ScrapeContext, options) {
    const { proc, logger, ownerPaths } = context;
    const discovery = new NetnsDiscovery({ proc, ipNetnsDirs: ownerPaths.ipNetnsDirs, otherBindMountDirs: ownerPaths.otherNetnsDirs });
    const found = await discovery.discover();
    // Without a listable procfs no namespace can be found: that is a failure, not "none".
    if (!found.stats.procListed) throw new Error(`cannot list ${proc.root}: is --path.procfs the host's /proc?`);
    const others = found.namespaces.filter((ns) => !ns.own);
    const { counted, unreadable, readMs } = await readAllCounters(proc, others);
    counterFiles.retain(new Set(others.map((ns) => ns.inode)));
    const cap = topN(counted, (entry) => namespaceWeight(entry.counters), options.maxNamespaces, (a, b) => a.ns.inode - b.ns.inode);
    const namer = namerFor(ownerPaths);
    ownerCache.retain(new Set(others.map((ns) => ns.inode)));
    const ownerOf = (ns: DiscoveredNetns): Promise<Record<string, string>> => ownerCache.labels(ns.inode, ns.pid, () => discovery.ownerLabels(ns, namer)).then(labelRecord);
    const kept = await Promise.all(cap.kept.map(async (entry) => ({ ...entry, labels: await ownerOf(entry.ns) })));
    let other: NamespaceCounters | undefined;
    for (const entry of cap.folded) other = addCounters(other, entry.counters);
    // Namespaces only a bind mount keeps alive: no /proc/<pid>/net, so no counters (nothing to
    // rank them by: they take the slots the cap leaves, by inode), but a table over netlink.
    const bindOnly = others.filter((ns) => ns.pid === undefined && ns.bindMounts.length > 0);
    const readable = tableSources.readsBindMounts(options.tables) ? bindOnly : [];
    const bindKept = readable.slice(0, Math.max(0, options.maxNamespaces - kept.length));
    const bindFolded = readable.length - bindKept.length;
    const bindLabelled = await Promise.all(bindKept.map(async (ns) => ({ ns, labels: await ownerOf(ns) })));

    // Tables: the kept namespaces, stalest first, each guarded by the shared budget.
    const budget = new TableBudget(options.tableBudget);
    const tables = new Map<SocketTable, { inode: number; labels: Record<string, string>; sink: NamespaceTable; skipped: boolean; source: NamespaceTableSource }>();
    const method = options.tables;
    if (method !== 'off') {
      const byInode = new Map<number, { labels: Record<string, string>; where: NamespacePlace }>();
      for (const entry of kept) byInode.set(entry.ns.inode, { labels: entry.labels, where: { pid: entry.ns.pid } });
      for (const entry of bindLabelled) byInode.set(entry.ns.inode, { labels: entry.labels, where: { bindMount: entry.ns.bindMounts[0]! } });
      const batch = tableSources.batchFor(method, budget);
      for (const inode of snapshots.dumpOrder([...byInode.keys()])) {
        const entry = byInode.get(inode)!;
        const sink = new NamespaceTable();
        const source = tableSources.sourceFor(proc, inode, entry.where, method, logger, sink, batch);
        batch?.add(source);
        const state = { inode, labels: entry.labels, sink, skipped: false, source };
        tables.set({ id: `netns:${inode}`, source: budget.guard(source, () => (state.skipped = true), () => batch?.began(source) ?? false) }, state);
      }
    }
    const keptInodes = new Set([...kept.map((entry) => entry.ns.inode), ...bindKept.map((ns) => ns.inode)]);
    snapshots.retain(keptInodes);
    tableSources.retain(keptInodes);

    return {
      extraTables: () => [...tables.keys()],
      sinkFor(table) {
        return tables.get(table)?.sink;
      },
      async report(registry, scans: ReadonlyMap<SocketTable, ScanResult>, failures) {
        const now = performance.now();
        const outcomes = { dumped: 0, skipped: 0, failed: 0 };
        for (const [table, state] of tables) {
          const scan = scans.get(table);
          if (scan !== undefined) {
            snapshots.set(state.inode, { table: state.sink, scan, method: state.source.name, ownHash: state.source.ownHash, at: now });
            outcomes.dumped++;
          } else if (state.skipped) outcomes.skipped++;
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

        const counterRows = kept.map((entry) => ({ labels: entry.labels, counters: entry.counters }));
        if (other !== undefined) counterRows.push({ labels: labelRecord(OTHER), counters: other });
        reportCounters(registry, counterRows);
        if (options.tables !== 'off') reportTables(registry, rows, options.maxPorts, now);

        const namespaces = scrapeGauge(registry, 'tcpstate_netns_namespaces', "Network namespaces found besides the exporter's own, by what became of them this scrape: reported, folded into netns=\"other\" by the cap, without_process (only a bind mount and no netlink: nothing to read through; over netlink such a namespace is reported with its table and no counters), unreadable (permission, or the process left).", ['state']);
        namespaces.set({ state: 'reported' }, kept.length + bindKept.length);
        namespaces.set({ state: 'folded' }, cap.folded.length + bindFolded);
        namespaces.set({ state: 'without_process' }, others.filter((ns) => ns.pid === undefined).length - readable.length);
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
