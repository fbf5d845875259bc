// @ts-check
/**
 * Builds the release tarball, laid out like node_exporter's:
 *
 *   release/tcpstate-exporter-<version>.linux-<arch>.tar.gz
 *     tcpstate-exporter-<version>.linux-<arch>/
 *       tcpstate-exporter              launcher (runs app/dist/main.js on Node.js)
 *       app/                           the npm package with its production node_modules
 *       tcpstate-exporter.service      systemd unit (ExecStart=/usr/local/bin/tcpstate-exporter)
 *       tcpstate.rules.yml             alerting and recording rules
 *       tcpstate-dashboard.json        Grafana dashboard
 *       docs/  LICENSE  README.md  CHANGELOG.md
 *   release/sha256sums.txt
 *
 *   npm run release                    # into release/
 *   npm run release -- --out=/some/dir
 *
 * The app is what `npm pack` ships (its prepack builds dist/), with the production dependencies
 * installed by `npm ci --omit=dev` from package-lock.json, so the versions are the locked ones.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const outFlag = process.argv.find((arg) => arg.startsWith('--out='));
const out = resolve(outFlag ? outFlag.slice('--out='.length) : join(repo, 'release'));

/** Node's process.arch in the names Go (and so node_exporter's tarballs) use. */
const GOARCH = /** @type {Record<string, string>} */ ({ x64: 'amd64', arm64: 'arm64', arm: 'armv7', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' });

/** @param {string} message */
function fail(message) {
  process.stderr.write(`build-release: error: ${message}\n`);
  process.exit(1);
}

/** @param {string} command @param {string[]} args @param {string} cwd */
function run(command, args, cwd) {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' } });
}

/** @param {string} file */
function sha256(file) {
  return new Promise((done, failed) => {
    const hash = createHash('sha256');
    createReadStream(file).on('data', (chunk) => hash.update(chunk)).on('end', () => done(hash.digest('hex'))).on('error', failed);
  });
}

if (process.platform !== 'linux') fail(`the exporter reads Linux's socket table; build the release on Linux (this is ${process.platform})`);
const arch = GOARCH[process.arch] ?? fail(`no release name for architecture ${process.arch}`);
const { version } = /** @type {{ version: string }} */ (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')));
const name = `tcpstate-exporter-${version}.linux-${arch}`;

const work = mkdtempSync(join(tmpdir(), 'tcpstate-release-'));
try {
  const tgz = run('npm', ['pack', '--silent', '--pack-destination', work], repo).trim().split('\n').pop() ?? fail('npm pack printed no file name');
  run('tar', ['-xzf', join(work, tgz), '-C', work], work);
  const stage = join(work, name);
  const app = join(stage, 'app');
  mkdirSync(stage);
  cpSync(join(work, 'package'), app, { recursive: true });
  copyFileSync(join(repo, 'package-lock.json'), join(app, 'package-lock.json'));
  // koffi ships its prebuilt native modules in the package; its install script only re-checks them.
  run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], app);

  copyFileSync(join(repo, 'scripts', 'launcher.sh'), join(stage, 'tcpstate-exporter'));
  chmodSync(join(stage, 'tcpstate-exporter'), 0o755);
  copyFileSync(join(app, 'deploy', 'systemd', 'tcpstate-exporter.service'), join(stage, 'tcpstate-exporter.service'));
  copyFileSync(join(app, 'alerts', 'tcpstate.rules.yml'), join(stage, 'tcpstate.rules.yml'));
  copyFileSync(join(app, 'grafana', 'tcpstate.json'), join(stage, 'tcpstate-dashboard.json'));
  for (const file of ['LICENSE', 'README.md', 'CHANGELOG.md']) copyFileSync(join(app, file), join(stage, file));
  cpSync(join(app, 'docs'), join(stage, 'docs'), { recursive: true });

  mkdirSync(out, { recursive: true });
  const tarball = join(out, `${name}.tar.gz`);
  run('tar', ['--owner=0', '--group=0', '--numeric-owner', '-czf', tarball, '-C', work, name], work);
  writeFileSync(join(out, 'sha256sums.txt'), `${await sha256(tarball)}  ${basename(tarball)}\n`);
  process.stdout.write(`${tarball}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
