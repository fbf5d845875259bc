import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config/config.js';
import type { ProcRoot } from '../procfs/proc-root.js';
import type { SocketSource } from '../kernel/socket-record.js';

/** What a collector may use during one scrape. */
export interface ScrapeContext {
  readonly config: Config;
  readonly proc: ProcRoot;
  readonly sockets: SocketSource;
  readonly logger: Logger;
}

/**
 * The one contract every collector follows. `collect` registers its metrics into the fresh
 * registry it is given (with `registers: [registry]`) and throws when it cannot report truthfully;
 * the exporter then reports `tcpstate_scrape_collector_success{collector} 0`, and what the
 * collector registered before it threw is still served, as node_exporter does.
 */
export interface Collector {
  readonly name: string;
  readonly defaultEnabled: boolean;
  readonly description: string;
  collect(context: ScrapeContext, registry: Registry): Promise<void>;
}
