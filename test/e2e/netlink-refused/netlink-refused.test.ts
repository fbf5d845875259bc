/**
 * Where netlink is refused, the exporter still serves, from procfs. The refusal is real: the
 * exporter runs under a seccomp filter (deny-netlink.c, compiled here with gcc) that fails every
 * socket(AF_NETLINK, ...) with EPERM, as a container runtime's or systemd's seccomp profile does.
 * (An LD_PRELOAD shim would not do: koffi looks socket() up in libc's own symbol table, which
 * preloaded libraries do not interpose on.)
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExporter, type RunningExporter } from '../../helpers/exporter-process.js';
import { exporterBin, repoRoot } from '../../helpers/netns.js';
import { toolOrSkip } from '../../helpers/require-tool.js';

const run = promisify(execFile);
const gcc = toolOrSkip('gcc', 'gcc');
const source = fileURLToPath(new URL('./deny-netlink.c', import.meta.url));
const FALLBACK_LOG = /netlink socket diagnostics (unavailable|refused)/g;

describe.skipIf(!gcc.available)('netlink refused by seccomp: the exporter serves from procfs', () => {
  let dir: string;
  let deny: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tcpstate-deny-netlink-'));
    deny = join(dir, 'deny-netlink');
    await run(gcc.path!, ['-O2', '-Wall', '-o', deny, source]);
  }, 60_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the filter really refuses netlink: createNetlinkSource throws NetlinkUnavailableError (EPERM)', () => {
    const script = `
      import('${join(repoRoot, 'dist/netlink/probe.js')}').then((m) => {
        try { m.createNetlinkSource(); console.log('opened'); }
        catch (e) { console.log(JSON.stringify({ name: e.name, errno: e.errno, message: e.message })); }
      });`;
    const result = spawnSync(deny, [process.execPath, '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(result.status, result.stderr).toBe(0);
    const outcome = JSON.parse(result.stdout.trim()) as { name: string; errno: number; message: string };
    expect(outcome).toMatchObject({ name: 'NetlinkUnavailableError', errno: 1 });
    expect(outcome.message).toMatch(/socket\(\) failed: EPERM/);
  });

  it('`collect` (source auto) prints socket metrics with source="procfs" and logs the fallback once', async () => {
    const { stdout, stderr } = await run(deny, [process.execPath, exporterBin, 'collect'], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
    expect(stdout).toMatch(/^tcpstate_build_info\{[^}]*source="procfs"[^}]*\} 1$/m);
    expect(stdout).toMatch(/^tcpstate_sockets\{family="ipv4",state="listen"\} \d+$/m);
    expect(stdout).toMatch(/^tcpstate_scrape_collector_success\{collector="sockets"\} 1$/m);
    expect(stdout).not.toMatch(/^tcpstate_listen_queue_max/m);
    expect(stderr.match(FALLBACK_LOG)).toHaveLength(1);
  }, 60_000);

  describe('the server', () => {
    let exporter: RunningExporter;

    beforeAll(async () => {
      exporter = await startExporter([], [deny, process.execPath]);
    }, 60_000);

    afterAll(async () => {
      await exporter?.stop();
    }, 30_000);

    it('serves socket metrics from procfs on every scrape, logging the fallback only once', async () => {
      for (let i = 0; i < 3; i++) {
        const body = await (await fetch(`${exporter.url}/metrics`)).text();
        expect(body).toMatch(/^tcpstate_build_info\{[^}]*source="procfs"[^}]*\} 1$/m);
        expect(body).toMatch(/^tcpstate_sockets\{family="ipv4",state="established"\} \d+$/m);
        expect(body).toMatch(/^tcpstate_scrape_collector_success\{collector="sockets"\} 1$/m);
      }
      expect(exporter.logs().match(FALLBACK_LOG)).toHaveLength(1);
    });
  });

  it('--collector.sockets.source=netlink is an error there, not a silent fallback', async () => {
    const result = spawnSync(deny, [process.execPath, exporterBin, 'collect', '--collector.sockets.source=netlink'], { encoding: 'utf8', timeout: 60_000 });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/netlink/);
    expect(result.stderr).toMatch(/EPERM/);
  }, 60_000);
});
