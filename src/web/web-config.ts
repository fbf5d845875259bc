import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { SecureVersion } from 'node:tls';
import { parse } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../config.js';
import { oneLine } from '../errors.js';

/**
 * --web.config.file in the Prometheus exporter-toolkit format, so the same file works for
 * node_exporter and this exporter: TLS and basic auth with bcrypt hashes.
 */
const CLIENT_AUTH_TYPES = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const;
const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const satisfies Record<string, SecureVersion>;

const webConfigSchema = z
  .object({
    tls_server_config: z
      .object({
        cert_file: z.string().min(1),
        key_file: z.string().min(1),
        client_auth_type: z.enum(CLIENT_AUTH_TYPES).default('NoClientCert'),
        client_ca_file: z.string().min(1).optional(),
        min_version: z.enum(Object.keys(TLS_VERSIONS) as [keyof typeof TLS_VERSIONS]).optional(),
        max_version: z.enum(Object.keys(TLS_VERSIONS) as [keyof typeof TLS_VERSIONS]).optional(),
      })
      .strict()
      .optional(),
    basic_auth_users: z.record(z.string().min(1), z.string().regex(/^\$2[aby]?\$\d\d\$/, 'expected a bcrypt hash such as $2y$10$...')).optional(),
  })
  .strict();

export interface TlsSettings {
  cert: Buffer;
  key: Buffer;
  ca: Buffer | undefined;
  requestCert: boolean;
  /** Whether an unverifiable client certificate is refused. */
  rejectUnauthorized: boolean;
  /** Whether a client must present a certificate at all. */
  requireCert: boolean;
  minVersion: SecureVersion;
  maxVersion: SecureVersion | undefined;
}

export interface WebConfig {
  tls: TlsSettings | undefined;
  /** user -> bcrypt hash; empty when basic auth is off. */
  basicAuthUsers: Map<string, string>;
}

function readRelative(base: string, file: string, what: string): Buffer {
  const path = resolve(dirname(base), file);
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(`--web.config.file ${base}: cannot read ${what} ${path}: ${oneLine(error)}`);
  }
}

/** Reads and validates the web config; every problem is one ConfigError line naming the file. */
export function loadWebConfig(file: string): WebConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`--web.config.file: ${oneLine(error)}`);
  }
  let raw: unknown;
  try {
    raw = parse(text) ?? {};
  } catch (error) {
    throw new ConfigError(`--web.config.file ${file}: not valid YAML: ${oneLine(error)}`);
  }
  const parsed = webConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`--web.config.file ${file}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  const tlsConfig = parsed.data.tls_server_config;
  let tls: TlsSettings | undefined;
  if (tlsConfig !== undefined) {
    const authType = tlsConfig.client_auth_type;
    const verifies = authType === 'VerifyClientCertIfGiven' || authType === 'RequireAndVerifyClientCert';
    if (verifies && tlsConfig.client_ca_file === undefined) {
      throw new ConfigError(`--web.config.file ${file}: tls_server_config.client_auth_type ${authType} needs client_ca_file`);
    }
    tls = {
      cert: readRelative(file, tlsConfig.cert_file, 'cert_file'),
      key: readRelative(file, tlsConfig.key_file, 'key_file'),
      ca: tlsConfig.client_ca_file === undefined ? undefined : readRelative(file, tlsConfig.client_ca_file, 'client_ca_file'),
      requestCert: authType !== 'NoClientCert',
      rejectUnauthorized: verifies,
      requireCert: authType === 'RequireAnyClientCert' || authType === 'RequireAndVerifyClientCert',
      minVersion: TLS_VERSIONS[tlsConfig.min_version ?? 'TLS12'],
      maxVersion: tlsConfig.max_version === undefined ? undefined : TLS_VERSIONS[tlsConfig.max_version],
    };
  }
  return { tls, basicAuthUsers: new Map(Object.entries(parsed.data.basic_auth_users ?? {})) };
}
