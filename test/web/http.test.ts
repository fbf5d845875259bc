import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import bcrypt from 'bcryptjs';
import type { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Collector, FileCollector } from '../../src/collectors/collector.js';
import { COLLECTORS } from '../../src/collectors/index.js';
import { scrapeGauge } from '../../src/collectors/metric-helpers.js';
import type { RawFlagValue } from '../../src/config/flag.js';
import { parseExposition, valueOf } from '../helpers/exposition.js';
import { fixtureProcfs, startExporter } from '../helpers/exporter-process.js';
import { serveInProcess, type InProcessExporter } from './serve-in-process.js';

const running: InProcessExporter[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((exporter) => exporter.close()));
});

async function serve(flags: Record<string, RawFlagValue>, collectors?: readonly Collector[], webConfigFile?: string, toggles: Record<string, boolean> = {}): Promise<string> {
  const exporter = await serveInProcess(flags, { collectors, webConfigFile, toggles });
  running.push(exporter);
  return exporter.url;
}

/** A collector that records how often it ran and can be made slow or failing. */
function probeCollector(options: { delayMs?: number; fail?: boolean } = {}): FileCollector & { runs: number } {
  const probe = {
    name: 'probe',
    defaultEnabled: true,
    description: 'test',
    flags: {},
    reads: 'files' as const,
    runs: 0,
    async collect(_context: unknown, _options: unknown, registry: Registry): Promise<void> {
      probe.runs += 1;
      scrapeGauge(registry, 'test_probe_partial', 'registered before a failure').set(1);
      await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 0));
      if (options.fail) throw new Error('probe broke\nacross lines');
      scrapeGauge(registry, 'test_probe_runs', 'runs').set(probe.runs);
    },
  };
  return probe;
}

describe('/metrics', () => {
  it('serves the text format, gzip-compressed when the client accepts it', async () => {
    const url = await serve({});
    const response = await fetch(`${url}/metrics`, { headers: { 'accept-encoding': 'identity' } });
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const plain = await response.text();
    expect(valueOf(parseExposition(plain), 'tcpstate_sockets', { family: 'ipv4', state: 'close_wait' })).toBe(4);

    const raw = await new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
      import('node:http').then(({ get }) =>
        get(`${url}/metrics`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
        }).on('error', reject),
      );
    });
    expect(raw.encoding).toBe('gzip');
    const unzipped = gunzipSync(raw.body).toString();
    expect(unzipped).toContain('tcpstate_sockets{family="ipv4",state="close_wait"} 4');
  });

  it('serves OpenMetrics when asked, ending in # EOF', async () => {
    const url = await serve({});
    const response = await fetch(`${url}/metrics`, { headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' } });
    expect(response.headers.get('content-type')).toMatch(/^application\/openmetrics-text; version=1\.0\.0/);
    const body = await response.text();
    expect(body.endsWith('# EOF\n')).toBe(true);
    expect(body).toContain('# TYPE tcpstate_listen_overflows counter');
    expect(body).toContain('tcpstate_listen_overflows_total 0');
  });

  it('shares one collection between concurrent scrapes, and all of them succeed', async () => {
    const probe = probeCollector({ delayMs: 300 });
    const url = await serve({}, [probe]);
    const bodies = await Promise.all(Array.from({ length: 8 }, () => fetch(`${url}/metrics`).then((r) => r.text())));
    expect(probe.runs).toBe(1);
    for (const body of bodies) expect(valueOf(parseExposition(body), 'test_probe_runs')).toBe(1);
    await fetch(`${url}/metrics`);
    expect(probe.runs).toBe(2);
  });

  it('answers 503 past --web.max-requests collections; scrapes that join one in flight do not count', async () => {
    const url = await serve({ 'web.max-requests': '1' }, [probeCollector({ delayMs: 400 })]);
    const first = fetch(`${url}/metrics`).then((r) => r.status);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Five more of the same: they share the first one's collection.
    const joiners = Array.from({ length: 5 }, () => fetch(`${url}/metrics`).then((r) => r.status));
    // Another set of collectors would be a second collection, past the limit of 1.
    const other = fetch(`${url}/metrics?collect[]=sockets`).then((r) => r.status);
    expect(await Promise.all([first, ...joiners])).toEqual([200, 200, 200, 200, 200, 200]);
    expect(await other).toBe(503);
  });

  it('a failing collector reports success 0 and the others still serve', async () => {
    const url = await serve({}, [...COLLECTORS, probeCollector({ fail: true })]);
    const samples = parseExposition(await (await fetch(`${url}/metrics`)).text());
    expect(valueOf(samples, 'tcpstate_scrape_collector_success', { collector: 'probe' })).toBe(0);
    expect(valueOf(samples, 'tcpstate_scrape_collector_success', { collector: 'sockets' })).toBe(1);
    expect(valueOf(samples, 'tcpstate_sockets', { family: 'ipv6', state: 'listen' })).toBe(1);
    // What the collector registered before it failed is kept, as node_exporter does.
    expect(valueOf(samples, 'test_probe_partial')).toBe(1);
  });

  it('builds every scrape in a fresh registry, so vanished series vanish', async () => {
    let ports = [8080, 8081];
    const changing: Collector = {
      name: 'changing',
      defaultEnabled: true,
      description: 'test',
      flags: {},
      reads: 'files',
      async collect(_context, _options, registry) {
        const gauge = scrapeGauge(registry, 'test_port', 'port', ['port']);
        for (const port of ports) gauge.set({ port: String(port) }, 1);
      },
    };
    const url = await serve({}, [changing]);
    expect(parseExposition(await (await fetch(`${url}/metrics`)).text()).filter((s) => s.name === 'test_port')).toHaveLength(2);
    ports = [8081];
    const after = parseExposition(await (await fetch(`${url}/metrics`)).text()).filter((s) => s.name === 'test_port');
    expect(after.map((s) => s.labels.port)).toEqual(['8081']);
  });
});

describe('other endpoints', () => {
  it('/-/healthy and the landing page with the enabled collectors', async () => {
    const url = await serve({ 'web.telemetry-path': '/tcp-metrics' }, undefined, undefined, { sysctl: false });
    expect(await (await fetch(`${url}/-/healthy`)).text()).toBe('Healthy\n');
    const landing = await (await fetch(`${url}/`)).text();
    expect(landing).toContain('<a href="/tcp-metrics">Metrics</a>');
    expect(landing).toContain('<li>sockets</li>');
    expect(landing).not.toContain('<li>sysctl</li>');
    expect((await fetch(`${url}/metrics`)).status).toBe(404);
    expect((await fetch(`${url}/tcp-metrics`)).status).toBe(200);
  });
});

describe('--web.config.file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstate-web-'));

  it('basic auth with a bcrypt hash', async () => {
    const file = join(dir, 'auth.yml');
    writeFileSync(file, `basic_auth_users:\n  prometheus: ${bcrypt.hashSync('s3cret', 4).replace('$2b$', '$2y$')}\n`);
    const url = await serve({}, COLLECTORS, file);
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    const wrong = Buffer.from('prometheus:nope').toString('base64');
    expect((await fetch(`${url}/metrics`, { headers: { authorization: `Basic ${wrong}` } })).status).toBe(401);
    const right = Buffer.from('prometheus:s3cret').toString('base64');
    for (let i = 0; i < 2; i++) expect((await fetch(`${url}/metrics`, { headers: { authorization: `Basic ${right}` } })).status).toBe(200);
  });

  it('TLS with a certificate and key', async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const file = join(dir, 'tls.yml');
    writeFileSync(file, 'tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  min_version: TLS13\n');
    const url = await serve({}, COLLECTORS, file);
    expect(url.startsWith('https://')).toBe(true);
    const body = await new Promise<string>((resolve, reject) => {
      request(`${url}/metrics`, { rejectUnauthorized: false }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve(text));
      })
        .on('error', reject)
        .end();
    });
    expect(body).toContain('tcpstate_build_info');
  });
});

describe('the real binary', () => {
  it('closes gracefully on SIGTERM and SIGINT', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const exporter = await startExporter([`--path.procfs=${fixtureProcfs}`]);
      expect((await fetch(`${exporter.url}/metrics`)).status).toBe(200);
      const exited = new Promise<number | null>((resolve) => exporter.child.once('exit', (code) => resolve(code)));
      exporter.child.kill(signal);
      expect(await exited).toBe(0);
      expect(exporter.logs()).toContain(`signal=${signal}`);
    }
  });
});
