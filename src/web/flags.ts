import { ConfigError, integerFlag, stringFlag, switchFlag, type Flag } from '../config/flag.js';

export interface ListenAddress {
  /** undefined = every interface, as ":9977" means in node_exporter. */
  host: string | undefined;
  port: number;
}

export const DEFAULT_LISTEN_ADDRESS = ':9977';

export function parseListenAddress(value: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new ConfigError(`--web.listen-address: expected [host]:port such as ":9977", "127.0.0.1:9977" or "[::1]:9977", got ${JSON.stringify(value)}`);
  }
  const host = match[1] ?? match[2];
  return { host: host === '' ? undefined : host, port };
}

/** Repeatable, as in node_exporter: one listener per address. */
const listenAddressFlag: Flag<ListenAddress[]> = {
  name: 'web.listen-address',
  help: 'address to listen on for the web interface and telemetry; repeatable',
  kind: 'repeatable',
  valueName: '<[host]:port>',
  defaultText: DEFAULT_LISTEN_ADDRESS,
  example: '127.0.0.1:9978',
  parse(raw) {
    const values = raw === undefined || typeof raw === 'boolean' ? [] : typeof raw === 'string' ? [raw] : raw;
    const addresses = (values.length === 0 ? [DEFAULT_LISTEN_ADDRESS] : values).map(parseListenAddress);
    const seen = new Set<string>();
    for (const { host, port } of addresses) {
      const key = `${host ?? ''}:${port}`;
      if (seen.has(key)) throw new ConfigError(`--web.listen-address: ${key} is given twice`);
      seen.add(key);
    }
    return addresses;
  },
};

/** Go-style durations as Prometheus spells them ("5s", "500ms", "1m"); a bare number is seconds. Milliseconds. */
export function parseDuration(value: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match?.[2] ?? 's'] ?? 1000;
  const ms = match ? Number(match[1]) * unit : NaN;
  return Number.isFinite(ms) && ms >= 1 ? Math.round(ms) : undefined;
}

function durationFlag(name: string, options: { help: string; defaultMs: number; defaultText: string; example: string }) {
  return stringFlag<number>(name, {
    help: options.help,
    default: options.defaultMs,
    defaultText: options.defaultText,
    valueName: '<duration>',
    example: options.example,
    check: (value) => (parseDuration(value) === undefined ? `expected a duration such as "10s" or "500ms", got ${JSON.stringify(value)}` : undefined),
    convert: (value) => parseDuration(value)!,
  });
}

/**
 * The web server's flags, named as node_exporter's (exporter-toolkit) are. The connection limits
 * are sized for a scrape target: a few Prometheus servers keep one connection each, so 512 leaves
 * room under the common fd limit of 1024 for /proc reads and netlink, and a scraper needs well
 * under a second to send its headers.
 */
export const WEB_FLAGS = {
  listenAddresses: listenAddressFlag,
  systemdSocket: switchFlag('web.systemd-socket', { help: 'serve on the sockets systemd passes (socket activation) instead of --web.listen-address' }),
  telemetryPath: stringFlag('web.telemetry-path', {
    help: 'path under which to expose metrics',
    default: '/metrics',
    defaultText: '/metrics',
    valueName: '<path>',
    example: '/tcp-metrics',
    check: (path) => (!path.startsWith('/') || path === '/' || path === '/-/healthy' ? `expected a path such as /metrics other than / and /-/healthy, got ${JSON.stringify(path)}` : undefined),
  }),
  maxRequests: integerFlag('web.max-requests', { help: 'maximum number of parallel scrape requests; 0 disables the limit', default: 40, min: 0, example: '3' }),
  disableExporterMetrics: switchFlag('web.disable-exporter-metrics', { help: "leave out the exporter's own process_* and nodejs_* metrics" }),
  maxConnections: integerFlag('web.max-connections', { help: 'maximum number of open HTTP connections; past it the oldest idle connection is closed', default: 512, min: 1, example: '64' }),
  readHeaderTimeoutMs: durationFlag('web.read-header-timeout', { help: 'time a client has to finish the TLS handshake and send its request headers', defaultMs: 10_000, defaultText: '10s', example: '2s' }),
  idleTimeoutMs: durationFlag('web.idle-timeout', { help: 'time a keep-alive connection may stay idle between requests', defaultMs: 30_000, defaultText: '30s', example: '5s' }),
  configFile: stringFlag<string | undefined>('web.config.file', {
    help: 'exporter-toolkit web config file (TLS, basic auth); re-read on change and on SIGHUP',
    default: undefined,
    valueName: '<file>',
    example: '/etc/tcpstate-exporter/web.yml',
    convert: (file) => (file === '' ? undefined : file),
  }),
};
