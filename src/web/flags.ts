import { ConfigError, integerFlag, stringFlag } from '../config/flag.js';

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

/** The web server's flags, named as node_exporter's (exporter-toolkit) are. */
export const WEB_FLAGS = {
  listenAddress: stringFlag('web.listen-address', {
    help: 'address to listen on for the web interface and telemetry',
    default: parseListenAddress(DEFAULT_LISTEN_ADDRESS),
    defaultText: DEFAULT_LISTEN_ADDRESS,
    valueName: '<[host]:port>',
    example: '127.0.0.1:9978',
    convert: parseListenAddress,
  }),
  telemetryPath: stringFlag('web.telemetry-path', {
    help: 'path under which to expose metrics',
    default: '/metrics',
    defaultText: '/metrics',
    valueName: '<path>',
    example: '/tcp-metrics',
    check: (path) => (!path.startsWith('/') || path === '/' || path === '/-/healthy' ? `expected a path such as /metrics other than / and /-/healthy, got ${JSON.stringify(path)}` : undefined),
  }),
  maxRequests: integerFlag('web.max-requests', { help: 'maximum number of parallel scrape requests; 0 disables the limit', default: 40, min: 0, example: '3' }),
  configFile: stringFlag<string | undefined>('web.config.file', {
    help: 'exporter-toolkit web config file (TLS, basic auth)',
    default: undefined,
    valueName: '<file>',
    example: '/etc/tcpstate-exporter/web.yml',
    convert: (file) => (file === '' ? undefined : file),
  }),
};
