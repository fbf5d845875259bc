import { execFile } from 'node:child_process';
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CgroupTree, CgroupWalkError } from '../../src/owners/cgroup-tree.js';
import { toolOrSkip } from '../helpers/require-tool.js';
import { describeWithCgroups, firstLine, LISTENER_PY, TestCgroups, writeProcs } from './cgroup-fixture.js';

const run = promisify(execFile);

/** A clock the test moves, so rate limits are tested without sleeping. */
function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

await describeWithCgroups('CgroupTree on real cgroup v2 directories', () => {
  let cgroups: TestCgroups;
  const ss = toolOrSkip('ss', 'iproute2');

  beforeAll(async () => {
    cgroups = await TestCgroups.create();
  });
  afterAll(async () => {
    await cgroups?.destroy();
  });

  it('maps the inode of each directory to its path from the hierarchy root', async () => {
    cgroups.mkdir('system.slice/nginx.service');
    const tree = new CgroupTree({ mountPoint: cgroups.mountPoint });
    const ids = [cgroups.ino('system.slice'), cgroups.ino('system.slice/nginx.service'), 999_999_999];
    const paths = await tree.resolve(ids);
    expect(paths.get(ids[0]!)).toBe(cgroups.cgroupPath('system.slice'));
    expect(paths.get(ids[1]!)).toBe(cgroups.cgroupPath('system.slice/nginx.service'));
    expect(paths.get(999_999_999)).toBeUndefined();
    expect(tree.pathOf(1)).toBe('/'); // the mount's own directory is the root cgroup, inode 1
    expect(tree.lastWalk?.truncated).toBe(false);
  });

  it('finds a cgroup created between lookups after a miss, at most once per interval', async () => {
    const clock = fakeClock();
    const tree = new CgroupTree({ mountPoint: cgroups.mountPoint, minWalkIntervalMs: 10_000, now: clock.now });
    await tree.refresh();
    const firstWalk = tree.lastWalk!;
    cgroups.mkdir('late/created.scope');
    const id = cgroups.ino('late/created.scope');
    clock.advance(5_000);
    expect((await tree.resolve([id])).get(id)).toBeUndefined(); // too soon: no second walk
    expect(tree.lastWalk).toBe(firstWalk);
    clock.advance(5_000);
    expect((await tree.resolve([id])).get(id)).toBe(cgroups.cgroupPath('late/created.scope'));
    expect(tree.lastWalk).not.toBe(firstWalk);
  });

  it('forgets a removed cgroup at the next walk (forced by maxAgeMs without any miss)', async () => {
    const clock = fakeClock();
    const tree = new CgroupTree({ mountPoint: cgroups.mountPoint, maxAgeMs: 60_000, now: clock.now });
    cgroups.mkdir('gone.service');
    const id = cgroups.ino('gone.service');
    expect((await tree.resolve([id])).get(id)).toBe(cgroups.cgroupPath('gone.service'));
    cgroups.rmdir('gone.service');
    clock.advance(30_000);
    await tree.resolve([]);
    expect(tree.pathOf(id)).toBe(cgroups.cgroupPath('gone.service')); // still cached: not due yet
    clock.advance(30_000);
    await tree.resolve([]);
    expect(tree.pathOf(id)).toBeUndefined();
  });

  it('shares one walk between concurrent lookups', async () => {
    const tree = new CgroupTree({ mountPoint: cgroups.mountPoint });
    const [a, b] = [tree.refresh(), tree.refresh()];
    expect(a).toBe(b);
    await a;
  });

  it('stops at maxEntries and says so', async () => {
    for (let i = 0; i < 10; i++) cgroups.mkdir(`capped/c${i}`);
    const tree = new CgroupTree({ mountPoint: cgroups.dir('capped'), maxEntries: 4 });
    const stats = await tree.refresh();
    expect(stats).toMatchObject({ directories: 4, truncated: true });
    expect(tree.size).toBe(4);
  });

  it('prefixes paths for a mount that shows a subtree', async () => {
    cgroups.mkdir('sub/inner.scope');
    const tree = new CgroupTree({ mountPoint: cgroups.dir('sub'), pathPrefix: cgroups.cgroupPath('sub') });
    const id = cgroups.ino('sub/inner.scope');
    expect((await tree.resolve([id])).get(id)).toBe(cgroups.cgroupPath('sub/inner.scope'));
  });

  it('fails with one line naming the mount when it is missing', async () => {
    const tree = new CgroupTree({ mountPoint: '/nonexistent/cgroup2' });
    const error = await tree.refresh().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CgroupWalkError);
    expect((error as Error).message).toBe('cannot walk the cgroup2 mount /nonexistent/cgroup2: no such file or directory');
  });

  it.skipIf(!ss.available)('uses the id sock_diag reports: ss names the same directory, and prints the raw id once it is gone', async () => {
    const relative = 'kubepods.slice/kubepods-besteffort.slice/cri-containerd-0123abcd.scope';
    const child = cgroups.spawnIn(relative, 'python3', LISTENER_PY);
    const port = Number(await firstLine(child));
    const id = cgroups.ino(relative);
    const tree = new CgroupTree({ mountPoint: cgroups.mountPoint });
    expect((await tree.resolve([id])).get(id)).toBe(cgroups.cgroupPath(relative));
    const before = (await run('ss', ['-tlnH', '--cgroup', `sport = :${port}`])).stdout;
    expect(before).toContain(`cgroup:${cgroups.cgroupPath(relative)}`);
    // Move the process out and remove the directory: the socket keeps its cgroup id, which ss can
    // then only print raw, in hex. It equals the directory's inode number.
    writeProcs(cgroups.mountPoint, child.pid!);
    cgroups.rmdir(relative);
    const after = (await run('ss', ['-tlnH', '--cgroup', `sport = :${port}`])).stdout;
    expect(after).toContain(`cgroup:unreachable:${id.toString(16)}`);
    child.stdin!.end();
  });

  it('costs well under a millisecond per lookup batch in the steady state, and a bounded walk over 2,000 cgroups', async () => {
    const bulk = cgroups.mkdir('bulk');
    const made: string[] = [];
    try {
      for (let i = 0; i < 40; i++) {
        const slice = join(bulk, `s${i}.slice`);
        mkdirSync(slice);
        made.push(slice);
        for (let j = 0; j < 49; j++) {
          const leaf = join(slice, `u${j}.scope`);
          mkdirSync(leaf);
          made.push(leaf);
        }
      }
      expect(made).toHaveLength(2000);
      const tree = new CgroupTree({ mountPoint: cgroups.mountPoint });
      const walks: number[] = [];
      for (let i = 0; i < 5; i++) walks.push((await tree.refresh()).durationMs);
      const directories = tree.size;
      expect(directories).toBeGreaterThanOrEqual(2000);

      const ids = [...Array(1000).keys()].map((i) => cgroups.ino(`bulk/s${i % 40}.slice/u${i % 49}.scope`));
      for (let i = 0; i < 30; i++) await tree.resolve(ids); // warm, as after a few scrapes
      const batches: number[] = [];
      for (let i = 0; i < 21; i++) {
        const started = performance.now();
        const paths = await tree.resolve(ids);
        batches.push(performance.now() - started);
        expect(paths.size).toBeGreaterThan(0);
      }
      const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      console.log(`cgroup walk over ${directories} directories: median ${median(walks).toFixed(1)} ms (${walks.map((w) => w.toFixed(1)).join(', ')}); steady-state lookup of ${ids.length} ids (${new Set(ids).size} distinct): median ${(median(batches) * 1000).toFixed(0)} µs`);
      expect(median(batches)).toBeLessThan(1);
      expect(median(walks)).toBeLessThan(500);
    } finally {
      for (const dir of made.reverse()) rmdirSync(dir);
    }
  });
});
