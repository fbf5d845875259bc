import { dirname, resolve } from 'node:path';
import type { SecureVersion } from 'node:tls';
import { parse } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../config/config.js';
import { oneLine } from '../errors.js';
import { CURVES, INSECURE_GO_SUITES, TLS12_CIPHER_SUITES, TLS13_CIPHER_SUITES } from './tls-names.js';

/**
 * --web.config.file in the Prometheus exporter-toolkit format, so the same file works for
 * node_exporter and this exporter. This module is pure: text in, a validated spec out (paths
 * resolved against the file's directory, Go names mapped to OpenSSL's); tls.ts reads the files.
 */
export const CLIENT_AUTH_TYPES = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];
const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const satisfies Record<string, SecureVersion>;
const VERSION_ORDER: readonly SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** exporter-toolkit's list: only these headers, and for two of them only these values. */
const ALLOWED_HEADERS: Readonly<Record<string, readonly string[] | undefined>> = {
  'Strict-Transport-Security': undefined,
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': undefined,
  'Content-Security-Policy': undefined,
};

const versionName = z.enum(Object.keys(TLS_VERSIONS) as [keyof typeof TLS_VERSIONS]);
const nonEmpty = z.string().min(1);

const webConfigSchema = z
  .object({
    tls_server_config: z
      .object({
        cert: nonEmpty.optional(),
        key: nonEmpty.optional(),
        client_ca: nonEmpty.optional(),
        cert_file: nonEmpty.optional(),
        key_file: nonEmpty.optional(),
        client_auth_type: z.enum(CLIENT_AUTH_TYPES).or(z.literal('RequireClientCert')).default('NoClientCert'),
        client_ca_file: nonEmpty.optional(),
        client_allowed_sans: z.array(nonEmpty).optional(),
        min_version: versionName.default('TLS12'),
        max_version: versionName.default('TLS13'),
        cipher_suites: z.array(nonEmpty).optional(),
        prefer_server_cipher_suites: z.boolean().default(true),
        curve_preferences: z.array(nonEmpty).optional(),
      })
      .strict()
      .nullish(),
    http_server_config: z
      .object({ http2: z.boolean().default(true), headers: z.record(z.string(), z.string()).nullish() })
      .strict()
      .nullish(),
    basic_auth_users: z.record(nonEmpty, z.string().regex(/^\$2[aby]?\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/, 'expected a bcrypt hash such as $2y$10$...')).nullish(),
    basic_auth_excluded_paths: z.array(z.string().startsWith('/')).nullish(),
    rate_limit: z.object({ interval: z.string().or(z.number()), burst: z.number().int().min(0) }).strict().nullish(),
  })
  .strict();

/** Where a piece of PEM comes from: a file next to the config, or the config itself. */
export type PemSource = { file: string } | { inline: string; key: string };

export interface TlsSpec {
  cert: PemSource;
  key: PemSource;
  clientCa: PemSource | undefined;
  clientAuth: ClientAuthType;
  minVersion: SecureVersion;
  maxVersion: SecureVersion;
  /** OpenSSL cipher list (TLS 1.2 and 1.3 names), undefined for OpenSSL's defaults. */
  ciphers: string | undefined;
  /** OpenSSL group list, colon-separated, undefined for the defaults. */
  ecdhCurve: string | undefined;
  honorCipherOrder: boolean;
  /** A client certificate must carry one of these SANs (DNS, IP, e-mail or URI), exactly. */
  clientAllowedSans: readonly string[] | undefined;
}

export interface WebConfigSpec {
  file: string;
  tls: TlsSpec | undefined;
  /** user -> bcrypt hash; empty when basic auth is off. */
  users: ReadonlyMap<string, string>;
  authExcludedPaths: readonly string[];
  headers: Readonly<Record<string, string>>;
  /** Accepted for compatibility; this exporter speaks HTTP/1.1 (see docs/security.md). */
  http2: boolean;
  rateLimit: { intervalMs: number; burst: number } | undefined;
}

export const NO_WEB_CONFIG: WebConfigSpec = { file: '', tls: undefined, users: new Map(), authExcludedPaths: [], headers: {}, http2: false, rateLimit: undefined };

/** Go's time.ParseDuration for the units a config uses ("1m30s", "100ms"); a number is nanoseconds, as in Go. */
export function parseGoDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return value / 1e6;
  if (value === '0') return 0;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = value.trim();
  if (rest === '') return undefined;
  while (rest !== '') {
    const match = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!match) return undefined;
    total += Number(match[1]) * units[match[2]!]!;
    rest = rest.slice(match[0].length);
  }
  return total;
}

function pemSource(base: string, file: string | undefined, inline: string | undefined, key: string, fail: (message: string) => never): PemSource | undefined {
  if (file !== undefined && inline !== undefined) fail(`tls_server_config: give ${key} or ${key}_file, not both`);
  if (file !== undefined) return { file: resolve(dirname(base), file) };
  if (inline !== undefined) return { inline, key };
  return undefined;
}

function mapCiphers(names: readonly string[], fail: (message: string) => never): string {
  return names
    .map((name) => {
      if (TLS13_CIPHER_SUITES.includes(name)) return name;
      const openssl = TLS12_CIPHER_SUITES[name];
      if (openssl !== undefined) return openssl;
      if (INSECURE_GO_SUITES.includes(name)) fail(`tls_server_config.cipher_suites: ${name} is an insecure suite; Go's tls.CipherSuites() and so node_exporter refuse it too`);
      return fail(`tls_server_config.cipher_suites: unknown cipher suite ${JSON.stringify(name)}; expected a Go crypto/tls name such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`);
    })
    .join(':');
}

function mapCurves(names: readonly string[], fail: (message: string) => never): string {
  return names
    .map((name) => CURVES[name] ?? fail(`tls_server_config.curve_preferences: unknown curve ${JSON.stringify(name)}; expected one of ${Object.keys(CURVES).join(', ')}`))
    .join(':');
}

function checkHeaders(headers: Record<string, string>, fail: (message: string) => never): void {
  for (const [name, value] of Object.entries(headers)) {
    if (!(name in ALLOWED_HEADERS)) fail(`http_server_config.headers: ${name} cannot be configured; allowed: ${Object.keys(ALLOWED_HEADERS).join(', ')}`);
    const values = ALLOWED_HEADERS[name];
    if (values !== undefined && !values.includes(value)) fail(`http_server_config.headers: ${name} must be one of ${values.join(', ')}, got ${JSON.stringify(value)}`);
    if (/[\r\n]/.test(value)) fail(`http_server_config.headers: ${name} must be one line`);
  }
}

/** Validates the text of a web config; every problem is one ConfigError line naming the file. */
export function parseWebConfig(file: string, text: string): WebConfigSpec {
  const fail = (message: string): never => {
    throw new ConfigError(`--web.config.file ${file}: ${message}`);
  };
  let raw: unknown;
  try {
    raw = parse(text) ?? {};
  } catch (error) {
    return fail(`not valid YAML: ${oneLine(error)}`);
  }
  const parsed = webConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return fail(`${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  const data = parsed.data;
  const headers = data.http_server_config?.headers ?? {};
  checkHeaders(headers, fail);

  let rateLimit: WebConfigSpec['rateLimit'];
  if (data.rate_limit) {
    const intervalMs = parseGoDuration(data.rate_limit.interval);
    if (intervalMs === undefined) fail(`rate_limit.interval: expected a duration such as "1s", got ${JSON.stringify(data.rate_limit.interval)}`);
    if (intervalMs! > 0) rateLimit = { intervalMs: intervalMs!, burst: data.rate_limit.burst };
  }

  const tlsData = data.tls_server_config;
  let tls: TlsSpec | undefined;
  if (tlsData) {
    const cert = pemSource(file, tlsData.cert_file, tlsData.cert, 'cert', fail) ?? fail('tls_server_config: missing one of cert or cert_file');
    const key = pemSource(file, tlsData.key_file, tlsData.key, 'key', fail) ?? fail('tls_server_config: missing one of key or key_file');
    const clientCa = pemSource(file, tlsData.client_ca_file, tlsData.client_ca, 'client_ca', fail);
    // "RequireClientCert" is exporter-toolkit's old spelling, kept for the files that use it.
    const clientAuth: ClientAuthType = tlsData.client_auth_type === 'RequireClientCert' ? 'RequireAnyClientCert' : tlsData.client_auth_type;
    const verifies = clientAuth === 'VerifyClientCertIfGiven' || clientAuth === 'RequireAndVerifyClientCert';
    if (verifies && clientCa === undefined) fail(`tls_server_config.client_auth_type ${clientAuth} needs client_ca_file`);
    if (clientCa !== undefined && clientAuth === 'NoClientCert') fail('tls_server_config: client_ca_file is set but client_auth_type is NoClientCert');
    const sans = tlsData.client_allowed_sans;
    if (sans !== undefined && clientAuth !== 'RequireAnyClientCert' && clientAuth !== 'RequireAndVerifyClientCert') {
      fail('tls_server_config.client_allowed_sans needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert');
    }
    const minVersion = TLS_VERSIONS[tlsData.min_version];
    const maxVersion = TLS_VERSIONS[tlsData.max_version];
    if (VERSION_ORDER.indexOf(minVersion) > VERSION_ORDER.indexOf(maxVersion)) {
      fail(`tls_server_config: min_version ${tlsData.min_version} is above max_version ${tlsData.max_version}, so no handshake could succeed`);
    }
    const cipherSuites = tlsData.cipher_suites;
    tls = {
      cert,
      key,
      clientCa,
      clientAuth,
      minVersion,
      maxVersion,
      ciphers: cipherSuites === undefined || cipherSuites.length === 0 ? undefined : mapCiphers(cipherSuites, fail),
      ecdhCurve: tlsData.curve_preferences === undefined || tlsData.curve_preferences.length === 0 ? undefined : mapCurves(tlsData.curve_preferences, fail),
      honorCipherOrder: tlsData.prefer_server_cipher_suites,
      clientAllowedSans: sans,
    };
  }
  return {
    file,
    tls,
    users: new Map(Object.entries(data.basic_auth_users ?? {})),
    authExcludedPaths: data.basic_auth_excluded_paths ?? [],
    headers,
    http2: data.http_server_config?.http2 ?? true,
    rateLimit,
  };
}
