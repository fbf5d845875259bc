import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config.js';
import { parseFlagTable } from '../../src/config/flag.js';
import { parseDuration, WEB_FLAGS } from '../../src/web/flags.js';
import { parseGoDuration, parseWebConfig } from '../../src/web/web-config.js';

const hash = '$2y$10$2/1lh9hGwOXMaiE4Deha2OWbB2mDnoLdcFmT3UqzO1ulRkrJ7sC1C';

/** Every key of exporter-toolkit's docs/web-configuration.md, set. */
const EVERY_KEY = `tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  client_allowed_sans:
    - prometheus.example
  min_version: TLS12
  max_version: TLS13
  cipher_suites:
    - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    - TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305
    - TLS_AES_128_GCM_SHA256
  prefer_server_cipher_suites: false
  curve_preferences: [CurveP256, CurveP384, CurveP521, X25519]
http_server_config:
  http2: false
  headers:
    Content-Security-Policy: default-src 'self'
    X-Frame-Options: sameorigin
    X-Content-Type-Options: nosniff
    X-XSS-Protection: 1; mode=block
    Strict-Transport-Security: max-age=31536000; includeSubDomains
basic_auth_users:
  alice: ${hash}
basic_auth_excluded_paths: [/-/healthy]
rate_limit:
  interval: 100ms
  burst: 20
`;

function errorOf(text: string): string {
  try {
    parseWebConfig('/etc/web.yml', text);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('parseWebConfig', () => {
  it('takes every key of the exporter-toolkit format and maps Go names to OpenSSL', () => {
    const spec = parseWebConfig('/etc/tcpstate/web.yml', EVERY_KEY);
    expect(spec.tls).toMatchObject({
      cert: { file: '/etc/tcpstate/server.crt' },
      clientCa: { file: '/etc/tcpstate/ca.crt' },
      clientAuth: 'RequireAndVerifyClientCert',
      ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:TLS_AES_128_GCM_SHA256',
      ecdhCurve: 'P-256:P-384:P-521:X25519',
      honorCipherOrder: false,
      clientAllowedSans: ['prometheus.example'],
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
    });
    expect(spec.headers['X-Frame-Options']).toBe('sameorigin');
    expect(spec.users.get('alice')).toBe(hash);
    expect(spec.authExcludedPaths).toEqual(['/-/healthy']);
    expect(spec.rateLimit).toEqual({ intervalMs: 100, burst: 20 });
    expect(spec.http2).toBe(false);
  });

  it('inline PEM and the old RequireClientCert spelling', () => {
    const spec = parseWebConfig('/w.yml', 'tls_server_config:\n  cert: "-----BEGIN CERTIFICATE-----"\n  key: "-----BEGIN PRIVATE KEY-----"\n  client_auth_type: RequireClientCert\n');
    expect(spec.tls?.cert).toEqual({ inline: '-----BEGIN CERTIFICATE-----', key: 'cert' });
    expect(spec.tls?.clientAuth).toBe('RequireAnyClientCert');
  });

  it('an empty file is no TLS and no auth', () => {
    const spec = parseWebConfig('/w.yml', '');
    expect(spec.tls).toBeUndefined();
    expect(spec.users.size).toBe(0);
  });

  it('refuses what cannot be honoured, in one line naming the file and saying why', () => {
    const cases: [string, RegExp][] = [
      ['tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_FAKE]\n', /unknown cipher suite "TLS_FAKE"/],
      ['tls_server_config:\n  cert_file: a\n  key_file: b\n  curve_preferences: [CurveP999]\n', /unknown curve "CurveP999"/],
      ['tls_server_config:\n  cert_file: a\n  key_file: b\n  client_allowed_sans: [x]\n', /client_allowed_sans needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert/],
      ['tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n', /client_ca_file is set but client_auth_type is NoClientCert/],
      ['tls_server_config:\n  key_file: b\n', /missing one of cert or cert_file/],
      ['http_server_config:\n  headers:\n    X-Frame-Options: allow\n', /X-Frame-Options must be one of deny, sameorigin/],
      ['basic_auth_users:\n  alice: plaintext\n', /expected a bcrypt hash/],
      ['rate_limit:\n  interval: soon\n  burst: 1\n', /rate_limit.interval/],
      ['unknown_key: 1\n', /unknown_key|Unrecognized/],
      ['tls_server_config: [\n', /not valid YAML/],
    ];
    for (const [text, pattern] of cases) {
      const message = errorOf(text);
      expect(message.startsWith('--web.config.file /etc/web.yml: ')).toBe(true);
      expect(message).toMatch(pattern);
      expect(message).not.toContain('\n');
    }
  });

  it("reads Go durations as Go's time.ParseDuration does", () => {
    expect(parseGoDuration('1m30s')).toBe(90_000);
    expect(parseGoDuration('250ms')).toBe(250);
    expect(parseGoDuration('0')).toBe(0);
    expect(parseGoDuration('5')).toBeUndefined();
  });
});

describe('web limit flags', () => {
  it('have documented defaults and parse durations and counts', () => {
    const limits = (raw: Record<string, string>) => {
      const { maxConnections, readHeaderTimeoutMs, idleTimeoutMs } = parseFlagTable(WEB_FLAGS, new Map(Object.entries(raw)));
      return { maxConnections, readHeaderTimeoutMs, idleTimeoutMs };
    };
    expect(limits({})).toEqual({ maxConnections: 512, readHeaderTimeoutMs: 10_000, idleTimeoutMs: 30_000 });
    expect(limits({ 'web.max-connections': '64', 'web.read-header-timeout': '500ms', 'web.idle-timeout': '2m' })).toEqual({ maxConnections: 64, readHeaderTimeoutMs: 500, idleTimeoutMs: 120_000 });
    expect(parseDuration('3')).toBe(3000);
    expect(() => limits({ 'web.max-connections': '0' })).toThrow(/--web.max-connections: expected an integer >= 1/);
    expect(() => limits({ 'web.idle-timeout': 'forever' })).toThrow(/--web.idle-timeout: expected a duration/);
  });
});
