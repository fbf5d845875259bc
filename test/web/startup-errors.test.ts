import { spawn } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureProcfs, freePort } from '../helpers/exporter-process.js';
import { exporterBin } from '../helpers/netns.js';
import { CertFactory, openssl } from './certs.js';
import { spawnExporter } from './real-exporter.js';

/** Runs the real binary until it exits (bounded); returns its exit code and stderr. */
async function runUntilExit(flags: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [exporterBin, `--web.listen-address=127.0.0.1:${port}`, `--path.procfs=${fixtureProcfs}`, ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  return { code, stderr };
}

describe.skipIf(!openssl.available)('bad TLS material stops the exporter at start: one line naming the file, exit 2', () => {
  const certs = new CertFactory();
  const server = certs.selfSigned('server');
  certs.selfSigned('other');
  writeFileSync(join(certs.dir, 'garbage.pem'), '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
  writeFileSync(join(certs.dir, 'not-pem.txt'), 'hello, I am not PEM at all\n');
  copyFileSync(server.cert, join(certs.dir, 'server-copy.crt'));

  const cases: ReadonlyArray<{ name: string; yaml: string; mentions: RegExp }> = [
    { name: 'cert/key mismatch', yaml: 'tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n', mentions: /server\.crt.*other\.key.*do not match/ },
    { name: 'garbage PEM certificate', yaml: 'tls_server_config:\n  cert_file: garbage.pem\n  key_file: server.key\n', mentions: /cert_file \S*garbage\.pem/ },
    { name: 'garbage key', yaml: 'tls_server_config:\n  cert_file: server.crt\n  key_file: not-pem.txt\n', mentions: /key_file \S*not-pem\.txt/ },
    { name: 'garbage client_ca_file', yaml: 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: not-pem.txt\n', mentions: /client_ca_file \S*not-pem\.txt holds no PEM certificate/ },
    { name: 'min_version above max_version', yaml: 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS13\n  max_version: TLS12\n', mentions: /min_version TLS13 is above max_version TLS12/ },
    { name: 'an unsupported cipher', yaml: 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n', mentions: /TLS_RSA_WITH_RC4_128_SHA is an insecure suite/ },
    { name: 'a header exporter-toolkit does not allow', yaml: 'http_server_config:\n  headers:\n    X-Powered-By: me\n', mentions: /X-Powered-By cannot be configured/ },
  ];

  for (const { name, yaml, mentions } of cases) {
    it(name, async () => {
      const file = join(certs.dir, `${name.replace(/\W+/g, '-')}.yml`);
      writeFileSync(file, yaml);
      const { code, stderr } = await runUntilExit([`--web.config.file=${file}`]);
      expect(code).toBe(2);
      const lines = stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(file);
      expect(lines[0]).toMatch(mentions);
      expect(stderr).not.toMatch(/\n\s+at /);
    });
  }

  it('an expired certificate starts, with one warning line', async () => {
    certs.expired('old');
    const file = join(certs.dir, 'expired.yml');
    writeFileSync(file, 'tls_server_config:\n  cert_file: old.crt\n  key_file: old.key\n');
    const exporter = await spawnExporter([`--web.config.file=${file}`], { https: true });
    await exporter.stop();
    // (Run as root, the exporter also warns that no collector needs root: not this test's business.)
    const warnings = exporter.logs().split('\n').filter((line) => line.includes('level=warn') && !line.includes('running as root'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/old\.crt expired on 2020-02-01/);
  });
});
