import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, describe, expect, it } from 'vitest';
import { CertFactory, openssl } from './certs.js';
import { spawnExporter, type SpawnedExporter } from './real-exporter.js';
import { statusOf, tlsRequest } from './tls-client.js';

const basic = (user: string, password: string): Record<string, string> => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

/** Polls until `check` is true (bounded: the reload is checked at most once a second). */
async function eventually(check: () => Promise<boolean>, timeoutMs = 6000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

/** Replaces a file the way cert-manager and editors do: write aside, rename over. */
function replaceFile(path: string, content: string | Buffer): void {
  writeFileSync(`${path}.tmp`, content);
  renameSync(`${path}.tmp`, path);
}

describe.skipIf(!openssl.available)('the web config reloads without a restart (real binary, real files)', () => {
  const certs = new CertFactory();
  let exporter: SpawnedExporter | undefined;
  afterAll(async () => {
    await exporter?.stop();
  });

  it('picks up a rotated certificate and a changed password, reloads on SIGHUP, and keeps the old config when the file breaks', async () => {
    const first = certs.selfSigned('first');
    const second = certs.selfSigned('second');
    const live = { cert: join(certs.dir, 'live.crt'), key: join(certs.dir, 'live.key') };
    replaceFile(live.cert, readFileSync(first.cert));
    replaceFile(live.key, readFileSync(first.key));
    const file = join(certs.dir, 'web.yml');
    const config = (hash: string): string => `tls_server_config:\n  cert_file: live.crt\n  key_file: live.key\nbasic_auth_users:\n  prometheus: ${hash}\n`;
    replaceFile(file, config(bcrypt.hashSync('old-password', 4)));
    exporter = await spawnExporter([`--web.config.file=${file}`], { https: true });
    const running = exporter;
    const metrics = (password: string) => tlsRequest(running.url, { path: '/metrics', headers: basic('prometheus', password) });

    const firstSerial = (await tlsRequest(running.url)).peerCertificateSerial;
    expect(firstSerial).toBeDefined();
    expect(statusOf(await metrics('old-password'))).toBe(200);

    // Certificate rotation: the next connections get the new certificate.
    replaceFile(live.cert, readFileSync(second.cert));
    replaceFile(live.key, readFileSync(second.key));
    expect(await eventually(async () => (await tlsRequest(running.url)).peerCertificateSerial !== firstSerial)).toBe(true);
    expect(statusOf(await metrics('old-password'))).toBe(200);

    // Password change: the cached old password stops working, the new one works.
    replaceFile(file, config(bcrypt.hashSync('new-password', 4)));
    expect(await eventually(async () => statusOf(await metrics('old-password')) === 401)).toBe(true);
    expect(statusOf(await metrics('new-password'))).toBe(200);

    // SIGHUP re-reads the file and logs one line; the process lives on.
    const before = running.logs().split('\n').filter((line) => line.includes('reason=SIGHUP')).length;
    running.child.kill('SIGHUP');
    await running.waitForLog(/reason=SIGHUP/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(running.logs().split('\n').filter((line) => line.includes('reason=SIGHUP'))).toHaveLength(before + 1);
    expect(running.child.exitCode).toBeNull();
    expect(statusOf(await metrics('new-password'))).toBe(200);

    // A broken file: the old config stays in force and one error line says why.
    replaceFile(file, 'basic_auth_users: [this is: not valid\n');
    for (let i = 0; i < 12; i++) {
      expect(statusOf(await metrics('new-password'))).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const failures = running.logs().split('\n').filter((line) => line.includes('web config reload failed'));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/level=error/);
    expect(failures[0]).toContain('not valid YAML');

    // And a broken certificate is refused the same way, on SIGHUP too.
    replaceFile(file, config(bcrypt.hashSync('new-password', 4)));
    expect(await eventually(async () => (await tlsRequest(running.url)) && running.logs().split('\n').filter((line) => line.includes('web config reloaded')).length >= 4)).toBe(true);
    replaceFile(live.key, 'not a key\n');
    running.child.kill('SIGHUP');
    await running.waitForLog(/reason=SIGHUP.*reload failed|reload failed.*reason=SIGHUP/);
    expect(statusOf(await metrics('new-password'))).toBe(200);
  });
});
