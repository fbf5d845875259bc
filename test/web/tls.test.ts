import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CertFactory, openssl } from './certs.js';
import { serveInProcess, type InProcessExporter } from './serve-in-process.js';
import { statusOf, tlsRequest } from './tls-client.js';

const running: InProcessExporter[] = [];
afterAll(async () => {
  await Promise.all(running.map((exporter) => exporter.close()));
});

describe.skipIf(!openssl.available)('TLS from a web config, with real certificates', () => {
  const certs = new CertFactory();
  certs.selfSigned('server');
  const clientCa = certs.selfSigned('client-ca');
  const goodClient = certs.signedBy(clientCa, 'prometheus', 'DNS:prometheus.monitoring.svc,URI:spiffe://cluster/prometheus');
  const otherClient = certs.signedBy(clientCa, 'intruder', 'DNS:intruder.example');
  const strangerCa = certs.selfSigned('stranger-ca');
  const stranger = certs.signedBy(strangerCa, 'stranger', 'DNS:prometheus.monitoring.svc');

  async function start(name: string, yaml: string): Promise<string> {
    const file = join(certs.dir, `${name}.yml`);
    writeFileSync(file, yaml);
    const exporter = await serveInProcess({}, { webConfigFile: file });
    running.push(exporter);
    return exporter.url;
  }

  const tlsBlock = (extra = ''): string => `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n${extra}`;

  it('VerifyClientCertIfGiven lets a client without a certificate in, and refuses an unverifiable one', async () => {
    const url = await start('if-given', tlsBlock('  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: client-ca.crt\n'));
    expect(statusOf(await tlsRequest(url))).toBe(200);
    expect(statusOf(await tlsRequest(url, { clientCert: goodClient }))).toBe(200);
    const refused = await tlsRequest(url, { clientCert: stranger });
    expect(refused.response).toBe('');
  });

  it('RequireAnyClientCert closes a certificate-less connection in the handshake, before any HTTP', async () => {
    const url = await start('any', tlsBlock('  client_auth_type: RequireAnyClientCert\n'));
    const without = await tlsRequest(url);
    // No HTTP status at all: not the 403 an HTTP-level check would send.
    expect(without.response).toBe('');
    expect(statusOf(await tlsRequest(url, { clientCert: stranger }))).toBe(200);
  });

  it('RequireAndVerifyClientCert with client_allowed_sans admits only the listed SAN', async () => {
    const url = await start('sans', tlsBlock('  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: client-ca.crt\n  client_allowed_sans:\n    - spiffe://cluster/prometheus\n'));
    expect(statusOf(await tlsRequest(url, { clientCert: goodClient }))).toBe(200);
    expect((await tlsRequest(url, { clientCert: otherClient })).response).toBe('');
    expect((await tlsRequest(url, { clientCert: stranger })).response).toBe('');
    expect((await tlsRequest(url)).response).toBe('');
  });

  it('cipher_suites in Go names are honoured for TLS 1.2, curve_preferences too', async () => {
    certs.selfSignedRsa('rsa-server');
    const url = await start(
      'ciphers',
      'tls_server_config:\n  cert_file: rsa-server.crt\n  key_file: rsa-server.key\n  max_version: TLS12\n  prefer_server_cipher_suites: true\n  cipher_suites:\n    - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n    - TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256\n  curve_preferences:\n    - X25519\n',
    );
    const chosen = await tlsRequest(url, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384' });
    expect(statusOf(chosen)).toBe(200);
    // The server's order wins, as prefer_server_cipher_suites asks.
    const refused = await tlsRequest(url, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' });
    expect(refused.handshake).toBe(false);
    const wrongCurve = await tlsRequest(url, { maxVersion: 'TLSv1.2', ecdhCurve: 'P-384' });
    expect(wrongCurve.handshake).toBe(false);
  });

  it('http_server_config.headers are added to every response; http2 is accepted', async () => {
    const url = await start(
      'headers',
      tlsBlock() + 'http_server_config:\n  http2: true\n  headers:\n    Strict-Transport-Security: max-age=31536000\n    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\n    Content-Security-Policy: "default-src \'none\'"\n',
    );
    for (const path of ['/-/healthy', '/metrics', '/nope']) {
      const { response } = await tlsRequest(url, { path });
      expect(response).toMatch(/\r\nStrict-Transport-Security: max-age=31536000\r\n/i);
      expect(response).toMatch(/\r\nX-Frame-Options: deny\r\n/i);
      expect(response).toMatch(/\r\nContent-Security-Policy: default-src 'none'\r\n/i);
    }
  });

  it('a reload that turns client certificates on takes effect at the next handshake', async () => {
    const file = join(certs.dir, 'switch.yml');
    writeFileSync(file, tlsBlock());
    const exporter = await serveInProcess({}, { webConfigFile: file });
    running.push(exporter);
    expect(statusOf(await tlsRequest(exporter.url))).toBe(200);
    writeFileSync(file, tlsBlock('  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: client-ca.crt\n'));
    expect(exporter.web.reload('test')).toBe(true);
    expect((await tlsRequest(exporter.url)).response).toBe('');
    expect(statusOf(await tlsRequest(exporter.url, { clientCert: goodClient }))).toBe(200);
    expect((await tlsRequest(exporter.url, { clientCert: stranger })).response).toBe('');
  });

  it("exporter-toolkit's documented example file, with basic_auth_excluded_paths, works unchanged", async () => {
    // docs/web-config.yml of exporter-toolkit, with our own certificate and hashes (password "test").
    certs.selfSigned('example');
    const hash = '$2y$10$2/1lh9hGwOXMaiE4Deha2OWbB2mDnoLdcFmT3UqzO1ulRkrJ7sC1C';
    const url = await start(
      'example',
      `# TLS and basic authentication configuration example.\ntls_server_config:\n  cert_file: example.crt\n  key_file: example.key\n\nbasic_auth_users:\n  alice: ${hash}\n  bob: ${hash}\n\n# Exclude /-/healthy and /-/ready from basic authentication\nbasic_auth_excluded_paths:\n- /-/healthy\n- /-/ready\n`,
    );
    expect(statusOf(await tlsRequest(url))).toBe(200);
    expect(statusOf(await tlsRequest(url, { path: '/metrics' }))).toBe(401);
    const auth = `Basic ${Buffer.from('alice:test').toString('base64')}`;
    expect(statusOf(await tlsRequest(url, { path: '/metrics', headers: { Authorization: auth } }))).toBe(200);
  });
});
