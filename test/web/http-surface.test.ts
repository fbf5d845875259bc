import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import bcrypt from 'bcryptjs';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/exporter-process.js';
import { toolOrSkip } from '../helpers/require-tool.js';
import { serveInProcess, type InProcessExporter } from './serve-in-process.js';

const running: InProcessExporter[] = [];
afterAll(async () => {
  await Promise.all(running.map((exporter) => exporter.close()));
});

async function serve(webConfig?: string): Promise<string> {
  let webConfigFile: string | undefined;
  if (webConfig !== undefined) {
    webConfigFile = join(mkdtempSync(join(tmpdir(), 'tcpstate-surface-')), 'web.yml');
    writeFileSync(webConfigFile, webConfig);
  }
  const exporter = await serveInProcess({}, { webConfigFile });
  running.push(exporter);
  return exporter.url;
}

/** Bytes as the client sent them, the answer as the server wrote it: no client-side normalising. */
function raw(url: string, text: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(text));
    let response = '';
    socket.setTimeout(5000, () => socket.destroy(new Error('timed out')));
    socket.on('data', (chunk: Buffer) => (response += chunk.toString('latin1')));
    socket.on('end', () => resolve(response));
    socket.on('error', reject);
  });
}

function get(url: string, headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    })
      .on('error', reject)
      .end();
  });
}

describe('methods and error pages', () => {
  it('answers other methods on /metrics, / and /-/healthy with 405 and Allow', async () => {
    const url = await serve();
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      for (const path of ['/metrics', '/', '/-/healthy']) {
        const response = await fetch(`${url}${path}`, { method });
        expect(response.status, `${method} ${path}`).toBe(405);
        expect(response.headers.get('allow')).toBe('GET, HEAD');
        expect(await response.text()).toBe('Method Not Allowed\n');
      }
    }
    expect((await fetch(`${url}/metrics`, { method: 'HEAD' })).status).toBe(200);
  });

  it('error pages are one plain line of our own: no HTML, no stack, nothing echoed', async () => {
    const url = await serve();
    const missing = await fetch(`${url}/<script>alert(1)</script>`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await missing.text()).toBe('Not Found\n');

    const badEncoding = await raw(url, 'GET /metrics/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(badEncoding).toMatch(/^HTTP\/1\.1 (400|404) /);
    for (const response of [badEncoding, await raw(url, 'GARBAGE\r\n\r\n'), await raw(url, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)]) {
      expect(response).toMatch(/^HTTP\/1\.1 4\d\d /);
      expect(response).not.toMatch(/<html|<pre|<!DOCTYPE|\bat \S+ \(/i);
      expect(response).toMatch(/Content-Type: text\/plain/i);
    }
  });

  it('accepts the Basic scheme in any case (RFC 7617)', async () => {
    const url = await serve(`basic_auth_users:\n  prometheus: ${bcrypt.hashSync('s3cret', 4)}\n`);
    const token = Buffer.from('prometheus:s3cret').toString('base64');
    for (const scheme of ['Basic', 'basic', 'BASIC', 'bAsIc']) {
      expect((await fetch(`${url}/metrics`, { headers: { authorization: `${scheme} ${token}` } })).status, scheme).toBe(200);
    }
    const refused = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
  });
});

const prometheus = toolOrSkip('prometheus', 'prometheus');

/** Starts the real Prometheus against a listener of our own and returns the headers of its first scrape. */
async function capturePrometheusScrapeHeaders(): Promise<IncomingHttpHeaders> {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstate-prom-headers-'));
  let captured: ((headers: IncomingHttpHeaders) => void) | undefined;
  const first = new Promise<IncomingHttpHeaders>((resolve) => (captured = resolve));
  const listener = createServer((req, res) => {
    captured?.(req.headers);
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end('up_probe 1\n');
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const address = listener.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: capture\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\n`);
  const child = spawn(prometheus.path!, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${await freePort()}`], { stdio: 'ignore' });
  try {
    return await Promise.race([first, new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('Prometheus did not scrape within 30 s')), 30_000))]);
  } finally {
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    listener.close();
  }
}

describe.skipIf(!prometheus.available)('compression of what Prometheus asks for', () => {
  it("a scrape with a real Prometheus's exact headers gets gzip-compressed OpenMetrics", async () => {
    const captured = await capturePrometheusScrapeHeaders();
    console.log(`Prometheus sent Accept: ${captured.accept}; Accept-Encoding: ${captured['accept-encoding']}`);
    expect(captured.accept).toMatch(/^application\/openmetrics-text;/);
    expect(captured['accept-encoding']).toContain('gzip');
    const headers: Record<string, string> = {};
    for (const name of ['accept', 'accept-encoding', 'user-agent', 'x-prometheus-scrape-timeout-seconds']) {
      const value = captured[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const url = await serve();
    const response = await get(`${url}/metrics`, headers);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/openmetrics-text; version=1\.0\.0/);
    expect(response.headers['content-encoding']).toBe('gzip');
    const body = gunzipSync(response.body).toString();
    expect(body.endsWith('# EOF\n')).toBe(true);
    expect(response.body.length).toBeLessThan(body.length / 2);
  });
});
