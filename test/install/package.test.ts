/**
 * The npm package installs and runs: `npm pack` on a copy of the working tree (prepack builds
 * dist/), `npm install -g` of the tarball into a temporary prefix, then the installed
 * `tcpstate-exporter` prints its version and serves a real scrape.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyWorkingTree, expectRealScrape, npmEnv, npmPack, packageVersion, run, scrape, scratchDir, startListening } from './helpers.js';

describe('npm package', () => {
  const scratch = scratchDir('pack');
  const tree = join(scratch.dir, 'tree');
  const prefix = join(scratch.dir, 'prefix');
  const env = npmEnv(scratch.dir);
  let tarball = '';
  afterAll(scratch.remove);

  beforeAll(async () => {
    copyWorkingTree(tree);
    tarball = await npmPack(tree, env);
    await run('npm', ['install', '--global', '--prefix', prefix, tarball], { env, maxBuffer: 16 << 20 });
  }, 300_000);

  it('ships the built code, the docs, the rules, the dashboard and the unit, and no sources or tests', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((f) => f.replace(/^package\//, ''));
    for (const file of ['dist/main.js', 'LICENSE', 'README.md', 'CHANGELOG.md', 'docs/install.md', 'docs/runbooks.md', 'alerts/tcpstate.rules.yml', 'grafana/tcpstate.json', 'deploy/systemd/tcpstate-exporter.service']) {
      expect(files).toContain(file);
    }
    expect(files.filter((f) => /^(src|test|bench)\//.test(f) || f.endsWith('.ts'))).toEqual([]);
  });

  it('installs a tcpstate-exporter command that prints the version', async () => {
    const bin = join(prefix, 'bin', 'tcpstate-exporter');
    expect(existsSync(bin)).toBe(true);
    const { stdout } = await run(bin, ['--version'], { env });
    expect(stdout).toContain(packageVersion);
  });

  it('serves real tcpstate_ series from the installed command', async () => {
    const exporter = await startListening(join(prefix, 'bin', 'tcpstate-exporter'), ['--collector.sockets.source=netlink'], { env });
    try {
      expectRealScrape(await scrape(exporter), exporter.port);
    } finally {
      expect(await exporter.stop()).toBe(0);
    }
  });
});
