/** Builds the release tarball from a copy of the working tree and installs it into a fake root. */
import { mkdirSync, renameSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { copyWorkingTree, npmEnv, run } from './helpers.js';

/** Where docs/install.md puts the release, and the command the systemd unit runs. */
export const INSTALL_DIR = '/opt/tcpstate-exporter';
export const COMMAND_PATH = '/usr/local/bin/tcpstate-exporter';

export interface InstalledRelease {
  /** The fake root everything was installed into. */
  root: string;
  /** <root>/opt/tcpstate-exporter */
  dir: string;
  /** <root>/usr/local/bin/tcpstate-exporter, a symlink to the launcher. */
  bin: string;
}

/** `npm run release -- --out=<scratch>/out` in a copy of the tree; the tarball's path. */
export async function buildRelease(scratch: string): Promise<string> {
  const tree = join(scratch, 'tree');
  copyWorkingTree(tree);
  const { stdout } = await run('npm', ['run', '--silent', 'release', '--', `--out=${join(scratch, 'out')}`], { cwd: tree, env: npmEnv(scratch), maxBuffer: 16 << 20 });
  return stdout.trim().split('\n').pop()!;
}

/**
 * Unpacks the tarball the way docs/install.md says, under `root`: the versioned directory moved to
 * /opt/tcpstate-exporter, the command linked from /usr/local/bin.
 */
export async function installRelease(tarball: string, root: string): Promise<InstalledRelease> {
  const opt = join(root, 'opt');
  mkdirSync(opt, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', opt]);
  const unpacked = tarball.split('/').pop()!.replace(/\.tar\.gz$/, '');
  const dir = join(root, INSTALL_DIR);
  renameSync(join(opt, unpacked), dir);
  const installed = { root, dir, bin: join(root, COMMAND_PATH) };
  mkdirSync(dirname(installed.bin), { recursive: true });
  linkCommand(installed);
  return installed;
}

/**
 * /usr/local/bin/tcpstate-exporter -> the launcher. Relative, so it resolves both from the host
 * (the tests run it) and inside the root (`systemd-analyze --root` follows links there), like the
 * absolute link on a real host.
 */
export function linkCommand(installed: InstalledRelease): void {
  symlinkSync(relative(dirname(installed.bin), join(installed.dir, 'tcpstate-exporter')), installed.bin);
}
