import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProcParseError, ProcReadError } from '../../src/errors.js';
import { ProcRoot } from '../../src/procfs/proc-root.js';
import { cgroup2Mounts, chooseCgroup2Mount, parseMountinfo, readCgroup2Mount, unescapeMountField } from '../../src/owners/mountinfo.js';

// Captures from this kind of machine: the hybrid layout (cgroup v1 controllers plus cgroup2 at
// /sys/fs/cgroup/unified), a pure v2 layout (made in a mount namespace), a mount point with a space,
// and the view from inside a cgroup namespace (the host mount shows root "/..").
const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'latin1');

function parseError(fn: () => unknown): ProcParseError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProcParseError);
    return error as ProcParseError;
  }
  throw new Error('expected a ProcParseError');
}

describe('parseMountinfo on real captures', () => {
  it('finds cgroup2 at /sys/fs/cgroup/unified on the hybrid layout, among v1 controllers', () => {
    const entries = parseMountinfo(fixture('mountinfo-hybrid'));
    expect(entries.length).toBeGreaterThan(15);
    expect(entries.filter((e) => e.fsType === 'cgroup').length).toBeGreaterThan(5);
    expect(cgroup2Mounts(entries)).toEqual([{ mountPoint: '/sys/fs/cgroup/unified', root: '/' }]);
  });

  it('finds cgroup2 at /sys/fs/cgroup on the pure v2 layout', () => {
    const mount = chooseCgroup2Mount(cgroup2Mounts(parseMountinfo(fixture('mountinfo-unified'))));
    expect(mount).toEqual({ mountPoint: '/sys/fs/cgroup', root: '/' });
  });

  it('undoes \\040 in a mount point with a space', () => {
    const mounts = cgroup2Mounts(parseMountinfo(fixture('mountinfo-escaped')));
    expect(mounts.map((m) => m.mountPoint)).toEqual(['/sys/fs/cgroup/unified', '/tmp/owners cg']);
  });

  it('prefers the mount that reaches above a cgroup namespace over the namespace-local one', () => {
    const mounts = cgroup2Mounts(parseMountinfo(fixture('mountinfo-cgroupns')));
    expect(mounts).toEqual([
      { mountPoint: '/sys/fs/cgroup/unified', root: '/..' },
      { mountPoint: '/tmp/owners cg', root: '/' },
    ]);
    expect(chooseCgroup2Mount(mounts)?.mountPoint).toBe('/sys/fs/cgroup/unified');
  });

  it('agrees with the live /proc/self/mountinfo of this process', async () => {
    const mount = await readCgroup2Mount(new ProcRoot('/proc'));
    const live = readFileSync('/proc/self/mountinfo', 'latin1').split('\n').filter((l) => l.includes(' - cgroup2 '));
    expect(live.length).toBeGreaterThan(0);
    expect(live.map((l) => l.split(' ')[4])).toContain(mount?.mountPoint);
  });
});

describe('parseMountinfo on hand-made lines', () => {
  it('keeps optional propagation fields and super options', () => {
    const [entry] = parseMountinfo('36 35 98:0 /mnt1 /mnt2 rw,noatime shared:12 master:1 - ext3 /dev/root rw,errors=continue\n');
    expect(entry).toMatchObject({ mountId: 36, parentId: 35, device: '98:0', root: '/mnt1', mountPoint: '/mnt2', optionalFields: ['shared:12', 'master:1'], fsType: 'ext3', source: '/dev/root', superOptions: 'rw,errors=continue' });
  });

  it('undoes every escape the kernel writes (space, tab, newline, backslash)', () => {
    expect(unescapeMountField('/a\\040b\\011c\\012d\\134e')).toBe('/a b\tc\nd\\e');
    expect(unescapeMountField('/plain')).toBe('/plain');
  });

  it('hides a cgroup2 mount that a later mount covers', () => {
    const text = '1 0 0:1 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n2 1 0:2 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n';
    expect(cgroup2Mounts(parseMountinfo(text))).toEqual([]);
  });

  it('returns no mount on a cgroup v1-only host', () => {
    const text = '31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n';
    expect(chooseCgroup2Mount(cgroup2Mounts(parseMountinfo(text)))).toBeUndefined();
    expect(parseMountinfo('')).toEqual([]);
  });
});

describe('parseMountinfo on broken input', () => {
  const good = '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw';

  it('names the file, line and field of a non-numeric mount ID', () => {
    const error = parseError(() => parseMountinfo(`${good}\nx1 31 0:38 / /a rw - cgroup2 cgroup2 rw\n`, '/host/proc/self/mountinfo'));
    expect(error.message).toBe('/host/proc/self/mountinfo:2: field mount ID: expected a non-negative integer, got "x1"');
  });

  it('rejects a line without the " - " separator', () => {
    expect(parseError(() => parseMountinfo('41 31 0:38 / /a rw,relatime shared:1 cgroup2 cgroup2 rw extra')).field).toBe('separator');
  });

  it('rejects a bad major:minor and a truncated line', () => {
    expect(parseError(() => parseMountinfo('41 31 038 / /a rw - cgroup2 cgroup2 rw')).field).toBe('major:minor');
    expect(parseError(() => parseMountinfo('41 31 0:38 / /a rw -')).field).toBe('line');
    expect(parseError(() => parseMountinfo('41 31 0:38 / /a rw x y - cgroup2')).field).toBe('super options');
  });
});

describe('readCgroup2Mount', () => {
  it('reads <procfs>/self/mountinfo below the configured root', async () => {
    const root = mkdtempSync(join(tmpdir(), 'owners-mountinfo-'));
    try {
      mkdirSync(join(root, 'self'));
      writeFileSync(join(root, 'self', 'mountinfo'), fixture('mountinfo-unified'));
      expect(await readCgroup2Mount(new ProcRoot(root))).toEqual({ mountPoint: '/sys/fs/cgroup', root: '/' });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('fails with a one-line error naming the missing file', async () => {
    const error = await readCgroup2Mount(new ProcRoot('/nonexistent-procfs')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProcReadError);
    expect((error as Error).message).toBe('cannot read /nonexistent-procfs/self/mountinfo: no such file or directory');
  });
});
