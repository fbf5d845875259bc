/**
 * The release tarball: `npm run release` on a copy of the working tree, unpacked into a temporary
 * root the way docs/install.md says (/opt/tcpstate-exporter, a symlink at
 * /usr/local/bin/tcpstate-exporter). The launcher then prints the version and serves a real
 * scrape, and the unit it ships passes `systemd-analyze verify` against that installed path
 * (see systemd.test.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { arch } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectRealScrape, packageVersion, run, scrape, scratchDir, startListening } from './helpers.js';
import { buildRelease, installRelease, type InstalledRelease } from './release.js';

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };

describe('release tarball', () => {
  const scratch = scratchDir('release');
  let tarball = '';
  let installed: InstalledRelease;
  afterAll(scratch.remove);

  beforeAll(async () => {
    tarball = await buildRelease(scratch.dir);
    installed = await installRelease(tarball, join(scratch.dir, 'root'));
  }, 300_000);

  it('is named and laid out like node_exporter’s, with a checksum file', async () => {
    const name = `tcpstate-exporter-${packageVersion}.linux-${GOARCH[arch()] ?? arch()}`;
    expect(tarball.endsWith(`/${name}.tar.gz`)).toBe(true);
    const { stdout } = await run('tar', ['-tzf', tarball], { maxBuffer: 64 << 20 });
    const entries = stdout.trim().split('\n');
    expect(new Set(entries.map((entry) => entry.split('/')[0]))).toEqual(new Set([name]));
    const sums = readFileSync(join(scratch.dir, 'out', 'sha256sums.txt'), 'utf8');
    expect(sums).toBe(`${createHash('sha256').update(readFileSync(tarball)).digest('hex')}  ${name}.tar.gz\n`);
  });

  it('holds the launcher, LICENSE, rules, dashboard, unit and docs next to the app', () => {
    const top = readdirSync(installed.dir).sort();
    expect(top).toEqual(['CHANGELOG.md', 'LICENSE', 'README.md', 'app', 'docs', 'tcpstate-dashboard.json', 'tcpstate-exporter', 'tcpstate-exporter.service', 'tcpstate.rules.yml']);
    expect(statSync(join(installed.dir, 'tcpstate-exporter')).mode & 0o111).toBe(0o111);
    expect(readFileSync(join(installed.dir, 'LICENSE'), 'utf8')).toContain('Apache License');
    expect(existsSync(join(installed.dir, 'app', 'dist', 'main.js'))).toBe(true);
    expect(existsSync(join(installed.dir, 'docs', 'install.md'))).toBe(true);
  });

  it('carries the production dependencies only', () => {
    const modules = join(installed.dir, 'app', 'node_modules');
    const pkg = JSON.parse(readFileSync(join(installed.dir, 'app', 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    for (const dependency of Object.keys(pkg.dependencies)) expect(existsSync(join(modules, dependency)), dependency).toBe(true);
    for (const dependency of Object.keys(pkg.devDependencies)) expect(existsSync(join(modules, dependency)), dependency).toBe(false);
  });

  it('runs through the /usr/local/bin symlink: --version, then a real scrape', async () => {
    const { stdout } = await run(installed.bin, ['--version']);
    expect(stdout).toContain(packageVersion);
    const exporter = await startListening(installed.bin, ['--collector.sockets.source=netlink']);
    try {
      expectRealScrape(await scrape(exporter), exporter.port);
    } finally {
      expect(await exporter.stop()).toBe(0);
    }
  });

  it('says in one line what is missing when there is no Node.js', async () => {
    // A PATH with the coreutils the launcher uses and no node.
    const path = join(scratch.dir, 'no-node-bin');
    mkdirSync(path);
    for (const tool of ['readlink', 'dirname']) symlinkSync((await run('sh', ['-c', `command -v ${tool}`])).stdout.trim(), join(path, tool));
    const failure = await run('/bin/sh', [installed.bin, '--version'], { env: { PATH: path } }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr.trim().split('\n')).toHaveLength(1);
    expect(failure?.stderr).toMatch(/^tcpstate-exporter: error: Node\.js not found/);
  });
});
