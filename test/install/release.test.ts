/**
 * The release tarball: `npm run release` on a copy of the working tree, unpacked into a temporary
 * root the way docs/install.md says (/opt/tcpstate-exporter, a symlink at
 * /usr/local/bin/tcpstate-exporter). The launcher then prints the version and serves a real
 * scrape, and the unit it ships passes `systemd-analyze verify` against that installed path, at
 * the exposure level docs/security.md states. No systemd runs here (and no test may start one), so
 * the unit's sandbox is reproduced by hand for the default collectors: a user with no capabilities,
 * in its own user namespace, with other processes hidden.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, rmSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { arch } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition } from '../helpers/exposition.js';
import { toolOrSkip } from '../helpers/require-tool.js';
import { expectRealScrape, packageVersion, run, scrape, scratchDir, startListening } from './helpers.js';
import { buildRelease, COMMAND_PATH, installRelease, linkCommand, type InstalledRelease } from './release.js';
import { analyze, documentedExposure, installUnit, overallExposure, UNIT } from './systemd.js';

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };

const scratch = scratchDir('release');
let tarball = '';
let installed: InstalledRelease;
afterAll(scratch.remove);
beforeAll(async () => {
  // Readable by the unprivileged user of the sandbox test.
  chmodSync(scratch.dir, 0o755);
  tarball = await buildRelease(scratch.dir);
  installed = await installRelease(tarball, join(scratch.dir, 'root'));
}, 300_000);

describe('release tarball', () => {
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

describe('systemd unit, installed from the release tarball', () => {
  const systemdAnalyze = toolOrSkip('systemd-analyze', 'systemd');
  const tool = systemdAnalyze.path ?? 'systemd-analyze';

  it('runs the command the install routes install', () => {
    const unit = readFileSync(join(installed.dir, UNIT), 'utf8');
    expect(/^ExecStart=(\S+)/m.exec(unit)?.[1]).toBe(COMMAND_PATH);
  });

  it.skipIf(!systemdAnalyze.available)('passes systemd-analyze verify against the installed path, and fails without it', async () => {
    installUnit(installed.root);
    const verified = await analyze(tool, ['verify', `--root=${installed.root}`, UNIT]);
    expect(verified).toEqual({ code: 0, stdout: '', stderr: '' });

    rmSync(installed.bin);
    const missing = await analyze(tool, ['verify', `--root=${installed.root}`, UNIT]);
    linkCommand(installed);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(`Command ${COMMAND_PATH} is not executable`);
  });

  it.skipIf(!systemdAnalyze.available)('rates at or below the exposure docs/security.md states, with and without the process drop-in', async () => {
    const documented = documentedExposure();
    installUnit(installed.root);
    const plain = await analyze(tool, ['security', '--offline=yes', `--root=${installed.root}`, UNIT]);
    expect(overallExposure(plain.stdout)).toBeLessThanOrEqual(documented.unit);

    const root = join(scratch.dir, 'root-drop-in');
    await installRelease(tarball, root);
    installUnit(root, { dropIn: true });
    const verified = await analyze(tool, ['verify', `--root=${root}`, UNIT]);
    expect(verified).toEqual({ code: 0, stdout: '', stderr: '' });
    const withDropIn = await analyze(tool, ['security', '--offline=yes', `--root=${root}`, UNIT]);
    expect(overallExposure(withDropIn.stdout)).toBeLessThanOrEqual(documented.withProcessCollector);
    expect(overallExposure(withDropIn.stdout)).toBeGreaterThan(overallExposure(plain.stdout));
  });

  it.skipIf(process.getuid?.() !== 0 && process.env.CI !== 'true')('the default collectors all work inside the unit’s sandbox, reproduced by hand', async () => {
    const plain = parseExposition((await run(installed.bin, ['collect', '--collector.sockets.source=netlink'], { maxBuffer: 16 << 20 })).stdout);
    // A private mount namespace with a /proc that hides other users' processes (ProtectProc=
    // invisible), then uid 65534 with no capabilities and no_new_privs (DynamicUser,
    // CapabilityBoundingSet=, NoNewPrivileges) in its own user namespace (PrivateUsers).
    const proc = join(scratch.dir, 'proc');
    mkdirSync(proc);
    const script = 'mount -t proc -o hidepid=invisible proc "$1" && shift && exec "$@"';
    const sandboxed = await run(
      'unshare',
      ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', proc,
        'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--',
        'unshare', '--user', '--map-user=65534', '--map-group=65534', '--',
        installed.bin, 'collect', '--collector.sockets.source=netlink', `--path.procfs=${proc}`],
      { maxBuffer: 16 << 20 },
    );
    const inside = parseExposition(sandboxed.stdout);
    for (const collector of ['sockets', 'sockstat', 'netstat', 'sysctl']) {
      expect(inside.find((s) => s.name === 'tcpstate_scrape_collector_success' && s.labels.collector === collector)?.value, collector).toBe(1);
    }
    // Other network namespaces' series (a netns label) depend on which processes the sandbox lets
    // the exporter see: ProtectProc=invisible hides them all, so none are expected inside.
    expect(inside.find((s) => s.name === 'tcpstate_scrape_collector_success' && s.labels.collector === 'netns')?.value).toBe(1);
    const names = (samples: typeof plain): string[] => [...new Set(samples.filter((s) => s.labels.netns === undefined).map((s) => `${s.name}${s.name === 'tcpstate_sysctl' ? s.labels.name : ''}`))].sort();
    expect(names(inside)).toEqual(names(plain));
  });
});
