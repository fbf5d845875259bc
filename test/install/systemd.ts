/** systemd-analyze against the shipped unit, installed into a fake root next to the release. */
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/netns.js';
import { run } from './helpers.js';

export const UNIT = 'tcpstate-exporter.service';
const unitSource = join(repoRoot, 'deploy', 'systemd', UNIT);
const dropInSource = join(repoRoot, 'deploy', 'systemd', 'process-collector.conf');

/**
 * Installs the unit as docs/install.md says (/etc/systemd/system), and the distribution's own units
 * (sysinit.target and the rest, which `verify` loads as dependencies) into `root`.
 */
export function installUnit(root: string, options: { dropIn?: boolean } = {}): void {
  const system = join(root, 'etc', 'systemd', 'system');
  mkdirSync(system, { recursive: true });
  cpSync(unitSource, join(system, UNIT));
  if (options.dropIn) {
    mkdirSync(join(system, `${UNIT}.d`), { recursive: true });
    cpSync(dropInSource, join(system, `${UNIT}.d`, 'process-collector.conf'));
  }
  const distributionUnits = join(root, 'usr', 'lib', 'systemd', 'system');
  if (!existsSync(distributionUnits)) cpSync('/usr/lib/systemd/system', distributionUnits, { recursive: true, verbatimSymlinks: true });
}

export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs systemd-analyze; never throws for a non-zero exit. */
export async function analyze(tool: string, args: readonly string[]): Promise<Outcome> {
  return run(tool, [...args], { maxBuffer: 16 << 20 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

/** The overall exposure `systemd-analyze security` printed, e.g. 1.1. */
export function overallExposure(output: string): number {
  const match = /Overall exposure level for \S+: (\d+\.\d+)/.exec(output);
  if (!match) throw new Error(`no overall exposure in: ${output.slice(-300)}`);
  return Number(match[1]);
}

/** The exposure levels docs/security.md promises: the unit alone, and with the drop-in. */
export function documentedExposure(): { unit: number; withProcessCollector: number } {
  const doc = readFileSync(join(repoRoot, 'docs', 'security.md'), 'utf8');
  const unit = /rates the shipped unit\s+\*\*(\d+\.\d+) OK\*\*/.exec(doc);
  const dropIn = /with\s+`process-collector\.conf`\s+\*\*(\d+\.\d+) OK\*\*/.exec(doc);
  if (!unit || !dropIn) throw new Error('docs/security.md does not state the exposure levels');
  return { unit: Number(unit[1]), withProcessCollector: Number(dropIn[1]) };
}
