import { Registry } from 'prom-client';
import type { FlagTable, FlagValues } from '../config/flag.js';
import { oneLine } from '../errors.js';
import type { ScanResult } from '../kernel/socket-record.js';
import { CollectorUnavailableError, HOST_TABLE, type Collector, type FileCollector, type ScrapeContext, type SocketTable, type TableCollector, type TableTally } from './collector.js';
import { FanOutSink } from './fan-out-sink.js';

/** What one collector produced in one run. */
export interface CollectorRun {
  name: string;
  /** Its fresh registry, with whatever it registered (also before it failed). */
  registry: Registry;
  /** Why it failed, on one line; undefined when it succeeded. */
  error: string | undefined;
  /** From its start to its report, the shared dump included. */
  seconds: number;
  /** The failure is a CollectorUnavailableError: the same in every scrape, worth one log line. */
  unavailable?: true;
}

/** The run's failure fields for what a collector threw. */
function failureOf(thrown: unknown): { error: string; unavailable?: true } {
  return thrown instanceof CollectorUnavailableError ? { error: oneLine(thrown), unavailable: true } : { error: oneLine(thrown) };
}

/** What one scrape runs: the enabled collectors with their flag values, and the tables to dump. */
export interface ScrapePlan {
  readonly collectors: readonly Collector[];
  readonly options: ReadonlyMap<string, FlagValues<FlagTable>>;
  readonly tables: readonly SocketTable[];
}

/** The socket source of the exporter's own namespace, as tcpstate_build_info{source} names it. */
export function hostSourceName(plan: ScrapePlan): string {
  return plan.tables.find((table) => table.id === HOST_TABLE)?.source.name ?? 'none';
}

const now = (): bigint => process.hrtime.bigint();
const secondsSince = (start: bigint): number => Number(now() - start) / 1e9;

function optionsOf(plan: ScrapePlan, collector: Collector): FlagValues<FlagTable> {
  const options = plan.options.get(collector.name);
  if (options === undefined) throw new Error(`no flag values for collector ${collector.name}`);
  return options;
}

async function runFileCollector(collector: FileCollector, plan: ScrapePlan, context: ScrapeContext, newRegistry: () => Registry): Promise<CollectorRun> {
  const registry = newRegistry();
  const started = now();
  try {
    await collector.collect(context, optionsOf(plan, collector), registry);
    return { name: collector.name, registry, error: undefined, seconds: secondsSince(started) };
  } catch (thrown) {
    return { name: collector.name, registry, ...failureOf(thrown), seconds: secondsSince(started) };
  }
}

interface Prepared {
  collector: TableCollector;
  started: bigint;
  tally: TableTally | undefined;
  error: string | undefined;
  /** Tables this tally asked to see. */
  wanted: SocketTable[];
}

/**
 * The scan stage: every table collector prepares its tally, then each table is dumped ONCE into
 * all the tallies that want it, then each tally reports. Tables are dumped one after another:
 * every dump walks the kernel's one shared hash table, so running them at once would only
 * make them compete for the same CPU and locks.
 */
async function runTableCollectors(collectors: readonly TableCollector[], plan: ScrapePlan, context: ScrapeContext, newRegistry: () => Registry): Promise<CollectorRun[]> {
  const prepared: Prepared[] = await Promise.all(
    collectors.map(async (collector) => {
      const started = now();
      try {
        return { collector, started, tally: await collector.prepareTally(context, optionsOf(plan, collector)), error: undefined, wanted: [] };
      } catch (thrown) {
        return { collector, started, tally: undefined, error: oneLine(thrown), wanted: [] };
      }
    }),
  );
  const scans = new Map<SocketTable, ScanResult>();
  const failures = new Map<SocketTable, string>();
  try {
    // The plan's tables, then those the tallies found this scrape (other namespaces'); each is
    // offered to every tally, so a future collector may read a namespace's table too.
    const extra = prepared.flatMap((entry) => entry.tally?.extraTables?.() ?? []);
    for (const table of [...plan.tables, ...extra]) {
      const sinks = [];
      const riders = [];
      for (const entry of prepared) {
        const sink = entry.tally?.sinkFor(table);
        if (sink !== undefined) {
          sinks.push(sink);
          entry.wanted.push(table);
          continue;
        }
        const rider = entry.tally?.riderFor?.(table);
        if (rider !== undefined) riders.push(rider);
      }
      if (sinks.length === 0) continue;
      const dumpStarted = now();
      try {
        scans.set(table, await table.source.scan(FanOutSink.of([...sinks, ...riders])));
        context.logger.debug({ table: table.id, source: table.source.name, sinks: sinks.length + riders.length, seconds: secondsSince(dumpStarted) }, 'socket table dumped');
      } catch (thrown) {
        failures.set(table, oneLine(thrown));
      }
    }
    return await Promise.all(
      prepared.map(async (entry) => {
        const registry = newRegistry();
        // Only a plan table's failure fails a collector; an extra table's goes to its report.
        let error = entry.error ?? entry.wanted.filter((table) => plan.tables.includes(table)).map((table) => failures.get(table)).find((failure) => failure !== undefined);
        if (error === undefined && entry.tally !== undefined) {
          try {
            await entry.tally.report(registry, scans, failures);
          } catch (thrown) {
            return { name: entry.collector.name, registry, ...failureOf(thrown), seconds: secondsSince(entry.started) };
          }
        }
        return { name: entry.collector.name, registry, error, seconds: secondsSince(entry.started) };
      }),
    );
  } finally {
    for (const entry of prepared) entry.tally?.release?.();
  }
}

/**
 * `work`, or, if it has not finished by `deadline` (ms, performance.now()), runs that report a
 * timeout: with an empty registry, because the late work may still register into its own.
 */
async function byDeadline(work: Promise<CollectorRun[]>, names: readonly string[], deadline: number | undefined, newRegistry: () => Registry, started: bigint): Promise<CollectorRun[]> {
  if (deadline === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<CollectorRun[]>((resolve) => {
    timer = setTimeout(() => {
      const seconds = secondsSince(started);
      resolve(names.map((name) => ({ name, registry: newRegistry(), error: `timed out after ${seconds.toFixed(1)} s, the scrape's deadline`, seconds })));
    }, Math.max(0, deadline - performance.now()));
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs one scrape's collectors, each into a registry of its own made for this run, timing each
 * and catching its failure so the others still report. File collectors run alongside the scan
 * stage. A collector still running at `deadline` (performance.now() ms; the scrape timeout
 * Prometheus sends) reports a timeout, so the scrape is served on time. Results are in list
 * order, not completion order, so output built from them is stable. Scrapes and `diagnose` both
 * use it.
 */
export async function runCollectors(plan: ScrapePlan, context: ScrapeContext, newRegistry: () => Registry = () => new Registry(), deadline?: number): Promise<CollectorRun[]> {
  const started = now();
  const fileCollectors = plan.collectors.filter((collector): collector is FileCollector => collector.reads === 'files');
  const tableCollectors = plan.collectors.filter((collector): collector is TableCollector => collector.reads === 'socket-tables');
  const [tableRuns, fileRuns] = await Promise.all([
    byDeadline(runTableCollectors(tableCollectors, plan, context, newRegistry), tableCollectors.map((collector) => collector.name), deadline, newRegistry, started),
    Promise.all(fileCollectors.map((collector) => byDeadline(runFileCollector(collector, plan, context, newRegistry).then((run) => [run]), [collector.name], deadline, newRegistry, started))).then((runs) => runs.flat()),
  ]);
  const byName = new Map([...tableRuns, ...fileRuns].map((run) => [run.name, run]));
  return plan.collectors.map((collector) => byName.get(collector.name)!);
}
