import { pino } from 'pino';
import { HOST_TABLE, type Collector, type ScrapeContext } from '../../src/collectors/collector.js';
import { COLLECTORS } from '../../src/collectors/index.js';
import type { ScrapePlan } from '../../src/collectors/run-collectors.js';
import { commandLineFlags, parseConfig, type Config } from '../../src/config/config.js';
import type { RawFlagValue } from '../../src/config/flag.js';
import type { SocketSource } from '../../src/kernel/socket-record.js';
import { resolveOwnerPaths } from '../../src/owners/flags.js';
import { ProcRoot } from '../../src/procfs/proc-root.js';
import { ProcfsSource } from '../../src/sources/procfs.js';
import { fixtureProcfs } from './exporter-process.js';

export interface ScrapeSetup {
  config: Config;
  plan: ScrapePlan;
  context: ScrapeContext;
}

/**
 * A scrape as main.ts builds it, from flag values (by flag name) and collector switches, over
 * the fixture /proc and the procfs source unless told otherwise. `collectors` are those to run;
 * their flags are parsed along with the real collectors' ones.
 */
export function scrapeSetup(
  values: Readonly<Record<string, RawFlagValue>> = {},
  options: { toggles?: Record<string, boolean>; collectors?: readonly Collector[]; source?: (proc: ProcRoot) => SocketSource } = {},
): ScrapeSetup {
  const collectors = options.collectors ?? COLLECTORS;
  const known = [...COLLECTORS, ...collectors.filter((collector) => !COLLECTORS.includes(collector))];
  const config = parseConfig(commandLineFlags({ 'path.procfs': fixtureProcfs, ...values }, options.toggles ?? {}), known);
  const proc = new ProcRoot(config.procfs.path);
  const source = (options.source ?? ((root) => new ProcfsSource(root)))(proc);
  const enabled = options.collectors === undefined ? COLLECTORS.filter((collector) => config.enabledCollectors.includes(collector.name)) : collectors;
  return {
    config,
    plan: { collectors: enabled, options: config.collectors, tables: [{ id: HOST_TABLE, source }] },
    context: { proc, logger: pino({ level: 'silent' }), ownerPaths: resolveOwnerPaths(config.owners) },
  };
}
