import { z } from 'zod';
import { UserFacingError } from './errors.js';
import { parseWebLimits, type WebLimitRawFlags, type WebLimits } from './web/flags.js';

/** A flag value that cannot be used; main prints the one-line message and exits with 2. */
export class ConfigError extends UserFacingError {
  override readonly name = 'ConfigError';
}

export interface ListenAddress {
  /** undefined = every interface, as ":9977" means in node_exporter. */
  host: string | undefined;
  port: number;
}

export type SocketSourceChoice = 'auto' | 'netlink' | 'procfs';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'logfmt' | 'json';
export type DiagnoseFormat = 'text' | 'json';

export interface Config {
  web: {
    listenAddress: ListenAddress;
    telemetryPath: string;
    /** 0 = unlimited. */
    maxRequests: number;
    configFile: string | undefined;
  } & WebLimits;
  procfsPath: string;
  /** Names of the collectors to run, in the order of the collector list. */
  enabledCollectors: string[];
  sockets: {
    source: SocketSourceChoice;
    ports: number[];
    maxPorts: number;
    remotePorts: number[];
  };
  netstat: { fields: RegExp | undefined };
  sysctl: { include: string[] };
  process: { top: number };
  log: { level: LogLevel; format: LogFormat };
  /** `diagnose` subcommand: seconds between its two snapshots (0 = one, no rates) and output format. */
  diagnose: { intervalSeconds: number; format: DiagnoseFormat };
}

/** Flag values as the command line delivers them: strings, booleans, repeated strings. */
export interface RawFlags extends WebLimitRawFlags {
  'web.listen-address'?: string;
  'web.telemetry-path'?: string;
  'web.max-requests'?: string;
  'web.config.file'?: string;
  'path.procfs'?: string;
  'collector.disable-defaults'?: boolean;
  /** collector name -> explicitly enabled (true) or disabled (false). */
  collectorToggles?: Record<string, boolean | undefined>;
  'collector.sockets.source'?: string;
  'collector.sockets.ports'?: string[];
  'collector.sockets.max-ports'?: string;
  'collector.sockets.remote-ports'?: string[];
  'collector.netstat.fields'?: string;
  'collector.sysctl.include'?: string[];
  'collector.process.top'?: string;
  'log.level'?: string;
  'log.format'?: string;
  'diagnose.interval'?: string;
  'diagnose.format'?: string;
}

export interface CollectorDefault {
  name: string;
  defaultEnabled: boolean;
}

export const DEFAULT_LISTEN_ADDRESS = ':9977';

function parseListenAddress(value: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new ConfigError(`--web.listen-address: expected [host]:port such as ":9977", "127.0.0.1:9977" or "[::1]:9977", got ${JSON.stringify(value)}`);
  }
  const host = match[1] ?? match[2];
  return { host: host === '' ? undefined : host, port };
}

const portSchema = z.coerce.number().int().min(1).max(65535);

function parseInteger(flag: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const parsed = z.coerce.number().int().min(min).safeParse(value.trim() === '' ? NaN : value);
  if (!parsed.success) throw new ConfigError(`--${flag}: expected an integer >= ${min}, got ${JSON.stringify(value)}`);
  return parsed.data;
}

/** Ports from repeated flags that may also hold comma-separated lists: --x=80,443 --x 8080. */
function parsePorts(flag: string, values: string[] | undefined): number[] {
  const ports = new Set<number>();
  for (const value of values ?? []) {
    for (const item of value.split(',')) {
      const parsed = portSchema.safeParse(item.trim() === '' ? NaN : item.trim());
      if (!parsed.success) throw new ConfigError(`--${flag}: expected port numbers 1-65535, got ${JSON.stringify(item)}`);
      ports.add(parsed.data);
    }
  }
  return [...ports].sort((a, b) => a - b);
}

function parseChoice<T extends string>(flag: string, value: string | undefined, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(`--${flag}: expected one of ${choices.join(', ')}, got ${JSON.stringify(value)}`);
}

/** Longer waits are almost always a unit mistake (milliseconds); a trend belongs on the dashboard. */
const MAX_DIAGNOSE_INTERVAL_SECONDS = 600;

function parseDiagnoseInterval(value: string | undefined): number {
  if (value === undefined) return 5;
  const parsed = z.coerce.number().min(0).max(MAX_DIAGNOSE_INTERVAL_SECONDS).safeParse(value.trim() === '' ? NaN : value);
  if (!parsed.success) {
    throw new ConfigError(`--diagnose.interval: expected seconds from 0 to ${MAX_DIAGNOSE_INTERVAL_SECONDS} (0 = one snapshot, no rates), got ${JSON.stringify(value)}`);
  }
  return parsed.data;
}

const SYSCTL_NAME = /^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/;

/** Validates the command line into a Config. Pure: no I/O, every error is one readable line. */
export function parseConfig(flags: RawFlags, collectors: readonly CollectorDefault[]): Config {
  const telemetryPath = flags['web.telemetry-path'] ?? '/metrics';
  if (!telemetryPath.startsWith('/') || telemetryPath === '/' || telemetryPath === '/-/healthy') {
    throw new ConfigError(`--web.telemetry-path: expected a path such as /metrics other than / and /-/healthy, got ${JSON.stringify(telemetryPath)}`);
  }

  const known = new Set(collectors.map((collector) => collector.name));
  const toggles = flags.collectorToggles ?? {};
  for (const name of Object.keys(toggles)) {
    if (!known.has(name)) throw new ConfigError(`unknown collector ${JSON.stringify(name)}; known: ${[...known].join(', ')}`);
  }
  const disableDefaults = flags['collector.disable-defaults'] === true;
  const enabledCollectors = collectors
    .filter((collector) => toggles[collector.name] ?? (disableDefaults ? false : collector.defaultEnabled))
    .map((collector) => collector.name);

  let fields: RegExp | undefined;
  const fieldsPattern = flags['collector.netstat.fields'];
  if (fieldsPattern !== undefined && fieldsPattern !== '') {
    try {
      // Anchored, as node_exporter matches the whole "Group_Field" name.
      fields = new RegExp(`^(?:${fieldsPattern})$`);
    } catch (error) {
      throw new ConfigError(`--collector.netstat.fields: not a valid regular expression: ${(error as Error).message}`);
    }
  }

  const include = flags['collector.sysctl.include'] ?? [];
  for (const name of include) {
    if (!SYSCTL_NAME.test(name)) {
      throw new ConfigError(`--collector.sysctl.include: expected a dotted sysctl name such as net.ipv4.tcp_rmem, got ${JSON.stringify(name)}`);
    }
  }

  const procfsPath = flags['path.procfs'] ?? '/proc';
  if (procfsPath === '') throw new ConfigError('--path.procfs: must not be empty');

  return {
    web: {
      listenAddress: parseListenAddress(flags['web.listen-address'] ?? DEFAULT_LISTEN_ADDRESS),
      telemetryPath,
      maxRequests: parseInteger('web.max-requests', flags['web.max-requests'], 40, 0),
      configFile: flags['web.config.file'] === '' ? undefined : flags['web.config.file'],
      ...parseWebLimits(flags),
    },
    procfsPath,
    enabledCollectors,
    sockets: {
      source: parseChoice('collector.sockets.source', flags['collector.sockets.source'], ['auto', 'netlink', 'procfs'] as const, 'auto'),
      ports: parsePorts('collector.sockets.ports', flags['collector.sockets.ports']),
      maxPorts: parseInteger('collector.sockets.max-ports', flags['collector.sockets.max-ports'], 64, 1),
      remotePorts: parsePorts('collector.sockets.remote-ports', flags['collector.sockets.remote-ports']),
    },
    netstat: { fields },
    sysctl: { include: [...new Set(include)] },
    process: { top: parseInteger('collector.process.top', flags['collector.process.top'], 20, 1) },
    log: {
      level: parseChoice('log.level', flags['log.level'], ['debug', 'info', 'warn', 'error'] as const, 'info'),
      format: parseChoice('log.format', flags['log.format'], ['logfmt', 'json'] as const, 'logfmt'),
    },
    diagnose: {
      intervalSeconds: parseDiagnoseInterval(flags['diagnose.interval']),
      format: parseChoice('diagnose.format', flags['diagnose.format'], ['text', 'json'] as const, 'text'),
    },
  };
}
