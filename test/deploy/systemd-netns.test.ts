/**
 * deploy/systemd/netns-collector.conf: it grants exactly the two capabilities the netns collector
 * was measured to need (test/deploy/netns-privileges.test.ts runs the exporter as uid 65534 with
 * them ambient), reopens only what they need to act, and the unit with it passes
 * `systemd-analyze verify` and rates at or below the exposure docs/security.md states.
 */
import { chmodSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/netns.js';
import { toolOrSkip } from '../helpers/require-tool.js';
import { scratchDir } from '../install/helpers.js';
import { analyze, installUnit, overallExposure, UNIT } from '../install/systemd.js';

const DROP_IN = join(repoRoot, 'deploy', 'systemd', 'netns-collector.conf');

/** Settings of a drop-in's [Service] section, by name, every assignment in order. */
function settings(text: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (match) found.set(match[1]!, [...(found.get(match[1]!) ?? []), match[2]!]);
  }
  return found;
}

describe('deploy/systemd/netns-collector.conf', () => {
  const text = readFileSync(DROP_IN, 'utf8');
  const set = settings(text);

  it('grants CAP_SYS_PTRACE and CAP_SYS_ADMIN, ambient, to the same dynamic user, and reopens only ProtectProc, PrivateUsers and RestrictNamespaces (to net)', () => {
    const words = (name: string): string[] => (set.get(name) ?? []).flatMap((value) => value.split(/\s+/)).filter((w) => w !== '').sort();
    expect(words('CapabilityBoundingSet')).toEqual(['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE']);
    expect(words('AmbientCapabilities')).toEqual(['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE']);
    expect(Object.fromEntries([...set].filter(([name]) => !name.endsWith('Capabilities') && name !== 'CapabilityBoundingSet'))).toEqual({
      PrivateUsers: ['no'],
      ProtectProc: ['default'],
      RestrictNamespaces: ['net'],
    });
    expect(text).toMatch(/^\[Service\]$/m);
  });

  describe('with the unit, checked by systemd-analyze', () => {
    const systemdAnalyze = toolOrSkip('systemd-analyze', 'systemd');
    const scratch = scratchDir('netns-drop-in');
    afterAll(() => scratch.remove());

    it.skipIf(!systemdAnalyze.available)('verifies, and rates at or below the exposure docs/security.md states for it', async () => {
      const root = scratch.dir;
      installUnit(root);
      const dropIns = join(root, 'etc', 'systemd', 'system', `${UNIT}.d`);
      mkdirSync(dropIns, { recursive: true });
      cpSync(DROP_IN, join(dropIns, 'netns-collector.conf'));
      // verify wants ExecStart's command to exist; a stub stands for the installed one.
      mkdirSync(join(root, 'usr', 'local', 'bin'), { recursive: true });
      writeFileSync(join(root, 'usr', 'local', 'bin', 'tcpstate-exporter'), '#!/bin/sh\n');
      chmodSync(join(root, 'usr', 'local', 'bin', 'tcpstate-exporter'), 0o755);
      const verified = await analyze(systemdAnalyze.path!, ['verify', `--root=${root}`, UNIT]);
      expect(verified).toEqual({ code: 0, stdout: '', stderr: '' });
      const security = await analyze(systemdAnalyze.path!, ['security', '--offline=yes', `--root=${root}`, UNIT]);
      const documented = /with\s+`netns-collector\.conf`\s+\*\*(\d+\.\d+) OK\*\*/.exec(readFileSync(join(repoRoot, 'docs', 'security.md'), 'utf8'));
      expect(documented, 'docs/security.md states the exposure with netns-collector.conf').not.toBeNull();
      expect(overallExposure(security.stdout)).toBeLessThanOrEqual(Number(documented![1]));
      // What the drop-in reopens shows: network namespaces, administrator privileges.
      expect(security.stdout).toMatch(/✗ CapabilityBoundingSet=~CAP_SYS_ADMIN/);
    });
  });
});
