import type { Collector } from '../collectors/collector.js';
import { DIAGNOSE_FLAGS } from '../diagnose/flags.js';
import { LOG_FLAGS } from '../logger.js';
import { OWNER_FLAGS } from '../owners/flags.js';
import { PROCFS_FLAGS } from '../procfs/flags.js';
import { SOURCE_FLAGS } from '../sources/flags.js';
import { WEB_FLAGS } from '../web/flags.js';
import { ConfigError, parseFlagTable, switchFlag, type Flag, type FlagTable, type FlagValues, type RawFlagValue } from './flag.js';

export { ConfigError } from './flag.js';

/** Flags that choose the collectors, beside the generated --[no-]collector.<name> switches. */
export const COLLECTION_FLAGS = {
  disableDefaults: switchFlag('collector.disable-defaults', { help: 'disable every collector that is not enabled by its own flag' }),
};

/** Every flag table that is not a collector's, by the Config key its values land under. */
export const GLOBAL_FLAG_TABLES = {
  web: WEB_FLAGS,
  procfs: PROCFS_FLAGS,
  owners: OWNER_FLAGS,
  source: SOURCE_FLAGS,
  collection: COLLECTION_FLAGS,
  log: LOG_FLAGS,
  diagnose: DIAGNOSE_FLAGS,
} as const;

type GlobalTables = typeof GLOBAL_FLAG_TABLES;

/** What a collector contributes to the command line. */
export type CollectorFlags = Pick<Collector, 'name' | 'defaultEnabled' | 'description' | 'flags'>;

export interface Config extends Readonly<{ [K in keyof GlobalTables]: FlagValues<GlobalTables[K]> }> {
  /** Names of the collectors to run, in the order of the collector list. */
  readonly enabledCollectors: readonly string[];
  /** Each collector's own flag values, by collector name (enabled or not). */
  readonly collectors: ReadonlyMap<string, FlagValues<FlagTable>>;
}

/** Flag values as the command line delivers them, by flag name, and the collector switches. */
export interface CommandLineFlags {
  readonly values: Readonly<Record<string, RawFlagValue>>;
  /** collector name -> explicitly enabled (true) or disabled (false). */
  readonly collectorToggles: Readonly<Record<string, boolean | undefined>>;
}

export function commandLineFlags(values: Readonly<Record<string, RawFlagValue>> = {}, collectorToggles: Readonly<Record<string, boolean | undefined>> = {}): CommandLineFlags {
  return { values, collectorToggles };
}

/**
 * Every flag there is, global and per collector: what cli.ts offers and the tests walk. A flag a
 * collector shares by declaration (tcpinfo watches the sockets collector's ports, with the very
 * same Flag objects) is listed once, where it first appears.
 */
export function allFlags(collectors: readonly CollectorFlags[]): Flag<unknown>[] {
  return [...new Set([...Object.values(GLOBAL_FLAG_TABLES).flatMap((table) => Object.values(table)), ...collectors.flatMap((collector) => Object.values(collector.flags))])];
}

/** Validates the command line into a Config. Pure: no I/O, every error is one readable line. */
export function parseConfig(flags: CommandLineFlags, collectors: readonly CollectorFlags[]): Config {
  const known = new Set(allFlags(collectors).map((flag) => flag.name));
  for (const name of Object.keys(flags.values)) {
    // Only a caller that bypasses cli.ts can get here: commander refuses unknown flags first.
    if (!known.has(name)) throw new ConfigError(`unknown flag --${name}`);
  }
  const raw = new Map(Object.entries(flags.values));
  const names = new Set(collectors.map((collector) => collector.name));
  for (const name of Object.keys(flags.collectorToggles)) {
    if (!names.has(name)) throw new ConfigError(`unknown collector ${JSON.stringify(name)}; known: ${[...names].join(', ')}`);
  }

  const global = {
    web: parseFlagTable(WEB_FLAGS, raw),
    procfs: parseFlagTable(PROCFS_FLAGS, raw),
    owners: parseFlagTable(OWNER_FLAGS, raw),
    source: parseFlagTable(SOURCE_FLAGS, raw),
    collection: parseFlagTable(COLLECTION_FLAGS, raw),
    log: parseFlagTable(LOG_FLAGS, raw),
    diagnose: parseFlagTable(DIAGNOSE_FLAGS, raw),
  } satisfies { [K in keyof GlobalTables]: FlagValues<GlobalTables[K]> };

  const enabledCollectors = collectors
    .filter((collector) => flags.collectorToggles[collector.name] ?? (global.collection.disableDefaults ? false : collector.defaultEnabled))
    .map((collector) => collector.name);
  const perCollector = new Map(collectors.map((collector) => [collector.name, parseFlagTable(collector.flags, raw)]));
  return { ...global, enabledCollectors, collectors: perCollector };
}
