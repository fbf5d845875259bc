import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { FlagTable, FlagValues } from '../config/flag.js';
import type { ScanResult, SocketSink, SocketSource } from '../kernel/socket-record.js';
import type { OwnerPaths } from '../owners/flags.js';
import type { ProcRoot } from '../procfs/proc-root.js';

/**
 * Thrown by a collector that cannot work with what this host offers, a condition no later scrape
 * changes (the procfs source has no tcp_info). It still fails every scrape (success 0), but the
 * exporter logs its reason once rather than once per scrape.
 */
export class CollectorUnavailableError extends Error {
  override readonly name = 'CollectorUnavailableError';
}

/** What every collector may use during one scrape. */
export interface ScrapeContext {
  readonly proc: ProcRoot;
  readonly logger: Logger;
  /** Where the host's runtime state and namespace bind mounts are read (--path.rootfs and friends). */
  readonly ownerPaths: OwnerPaths;
}

/**
 * One socket table a scrape dumps, once, for every collector that reads it: the plan's (the
 * exporter's own network namespace), and those a tally brings to this scrape (other namespaces,
 * discovered afresh each scrape, see TableTally.extraTables).
 */
export interface SocketTable {
  /** Stable: HOST_TABLE for the exporter's own namespace, `netns:<inode>` for another. */
  readonly id: string;
  readonly source: SocketSource;
}

/** The id of the socket table of the exporter's own network namespace. */
export const HOST_TABLE = 'host';

/** What a socket-table collector keeps for one scrape: its sinks, then its report. */
export interface TableTally {
  /**
   * Tables this tally brings to this scrape besides the plan's (the other network namespaces it
   * discovered just now), dumped after the plan's, in this order. A failure of one of them is given
   * to report() instead of failing the collector: a namespace may vanish during the scrape.
   */
  extraTables?(): readonly SocketTable[];
  /** The sink to feed with one table of this scrape, or undefined to leave that table out. */
  sinkFor(table: SocketTable): SocketSink | undefined;
  /**
   * Asked for each table sinkFor() left out: a sink that rides along if another tally has that
   * table dumped, without causing a dump itself. The table is in report()'s `scans` only if it
   * was dumped; a failed dump does not fail this collector.
   */
  riderFor?(table: SocketTable): SocketSink | undefined;
  /** After the dumps: registers the metrics from what the sinks saw, given each table's result. */
  report(registry: Registry, scans: ReadonlyMap<SocketTable, ScanResult>, failures: ReadonlyMap<SocketTable, string>): void | Promise<void>;
  /** Gives back what the tally borrowed (pooled per-port tables), whatever happened. */
  release?(): void;
}

interface CollectorInfo<F extends FlagTable> {
  readonly name: string;
  readonly defaultEnabled: boolean;
  readonly description: string;
  /** The collector's own flags (`--collector.<name>.<flag>`), declared here and nowhere else. */
  readonly flags: F;
}

/**
 * A collector that reads files (/proc/net/snmp, /proc/sys, ...). `collect` registers its metrics
 * into the fresh registry it is given (with `registers: [registry]`) and throws when it cannot
 * report truthfully; the exporter then reports `tcpstate_scrape_collector_success{collector} 0`,
 * and what it registered before it threw is still served, as node_exporter does.
 */
export interface FileCollector<F extends FlagTable = FlagTable> extends CollectorInfo<F> {
  readonly reads: 'files';
  collect(context: ScrapeContext, options: FlagValues<F>, registry: Registry): Promise<void>;
}

/**
 * A collector that reads the socket table. It never dumps the table itself: it prepares a tally
 * (reading what it needs first, such as ip_local_port_range), the exporter feeds every tally of
 * the scrape from ONE dump per table through a fan-out sink, then each tally reports.
 */
export interface TableCollector<F extends FlagTable = FlagTable> extends CollectorInfo<F> {
  readonly reads: 'socket-tables';
  prepareTally(context: ScrapeContext, options: FlagValues<F>): Promise<TableTally>;
}

export type Collector<F extends FlagTable = FlagTable> = FileCollector<F> | TableCollector<F>;
