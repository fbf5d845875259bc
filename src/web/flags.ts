import { ConfigError } from '../config.js';

/**
 * The web endpoint's own flags, declared once: name, help, default and parser. cli.ts registers
 * them and config.ts parses them through parseWebLimits, so a new limit is one entry here.
 */
export interface WebLimits {
  /** Open connections at most; past it the oldest idle one is closed to make room. */
  maxConnections: number;
  /** A client has this long to send the request line and headers (and finish TLS). */
  readHeaderTimeoutMs: number;
  /** A keep-alive connection with no request in flight is closed after this long. */
  idleTimeoutMs: number;
}

export interface WebLimitRawFlags {
  'web.max-connections'?: string;
  'web.read-header-timeout'?: string;
  'web.idle-timeout'?: string;
}

interface WebFlag<K extends keyof WebLimits> {
  name: keyof WebLimitRawFlags;
  key: K;
  help: string;
  defaultText: string;
  parse: (flag: string, value: string) => number;
}

/** Go-style durations as Prometheus spells them ("5s", "500ms", "1m"); a bare number is seconds. */
export function parseDuration(flag: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match?.[2] ?? 's'] ?? 1000;
  const ms = match ? Number(match[1]) * unit : NaN;
  if (!Number.isFinite(ms) || ms < 1) throw new ConfigError(`--${flag}: expected a duration such as "10s" or "500ms", got ${JSON.stringify(value)}`);
  return Math.round(ms);
}

function parseCount(flag: string, value: string): number {
  const parsed = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(parsed) || parsed < 1) throw new ConfigError(`--${flag}: expected an integer >= 1, got ${JSON.stringify(value)}`);
  return parsed;
}

/**
 * Defaults sized for a scrape target: a few Prometheus servers keep one connection each, so 512
 * leaves room under the common fd limit of 1024 for /proc reads and netlink, and a scraper needs
 * well under a second to send its headers.
 */
export const WEB_LIMIT_DEFAULTS: WebLimits = { maxConnections: 512, readHeaderTimeoutMs: 10_000, idleTimeoutMs: 30_000 };

export const WEB_LIMIT_FLAGS: readonly [WebFlag<'maxConnections'>, WebFlag<'readHeaderTimeoutMs'>, WebFlag<'idleTimeoutMs'>] = [
  {
    name: 'web.max-connections',
    key: 'maxConnections',
    help: 'maximum number of open HTTP connections; past it the oldest idle connection is closed (default 512)',
    defaultText: '512',
    parse: parseCount,
  },
  {
    name: 'web.read-header-timeout',
    key: 'readHeaderTimeoutMs',
    help: 'time a client has to finish the TLS handshake and send its request headers (default 10s)',
    defaultText: '10s',
    parse: parseDuration,
  },
  {
    name: 'web.idle-timeout',
    key: 'idleTimeoutMs',
    help: 'time a keep-alive connection may stay idle between requests (default 30s)',
    defaultText: '30s',
    parse: parseDuration,
  },
];

export function parseWebLimits(flags: WebLimitRawFlags): WebLimits {
  const limits: WebLimits = { ...WEB_LIMIT_DEFAULTS };
  for (const flag of WEB_LIMIT_FLAGS) {
    const value = flags[flag.name];
    if (value !== undefined) limits[flag.key] = flag.parse(flag.name, value);
  }
  return limits;
}
