/**
 * The namespace dumps shared among two dump threads (netns-batch.ts). A chunk is split only when
 * the measured pace says it will take long (the namespaces share the host's hash, beside many
 * host sockets), which a test machine does not have; so the pace is set, and the dumps are real:
 * each namespace's table, dumped on whichever thread took it, must equal `ss` inside it, and
 * a second dump thread must exist only once a slow chunk was split.
 *
 * The worker threads run from dist/ (their files are compiled JavaScript), so this imports there.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { countSsStates, describeWithNetns, repoRoot } from '../../helpers/netns.js';
import { endChild } from '../../helpers/end-child.js';
import { firstLine } from '../../owners/cgroup-fixture.js';

type Batch = typeof import('../../../src/collectors/netns-batch.js');
type Sources = typeof import('../../../src/collectors/netns-sources.js');
type Tables = typeof import('../../../src/collectors/netns-tables.js');
type Tcp = typeof import('../../../src/kernel/tcp.js');
type Proc = typeof import('../../../src/procfs/proc-root.js');
const dist = (path: string): string => fileURLToPath(new URL(`../../../dist/${path}`, import.meta.url));

const run = promisify(execFile);
const NAMESPACES = 6;
const logger = pino({ level: 'silent' });

/** The threads of this process named as the netlink dump threads name themselves. */
const dumpThreads = (): number => readdirSync('/proc/self/task').filter((tid) => readFileSync(`/proc/self/task/${tid}/comm`, 'latin1').trim() === 'tcpstate-dump').length;

describeWithNetns('namespace dumps shared among two dump threads', () => {
  let farm: ChildProcess | undefined;
  let pids: number[] = [];
  let modules: { batch: Batch; sources: Sources; tables: Tables; tcp: Tcp; proc: Proc };

  beforeAll(async () => {
    const [batch, sources, tables, tcp, proc] = await Promise.all([
      import(dist('collectors/netns-batch.js')) as Promise<Batch>,
      import(dist('collectors/netns-sources.js')) as Promise<Sources>,
      import(dist('collectors/netns-tables.js')) as Promise<Tables>,
      import(dist('kernel/tcp.js')) as Promise<Tcp>,
      import(dist('procfs/proc-root.js')) as Promise<Proc>,
    ]);
    modules = { batch, sources, tables, tcp, proc };
    // netns-farm.py: one child per namespace (unshare -n), a listener and 3 ESTABLISHED pairs each.
    farm = spawn('python3', [`${repoRoot}/bench/netns-farm.py`, String(NAMESPACES), '3'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const ready = await firstLine(farm, 60_000);
    expect(ready).toMatch(/^READY /);
    pids = JSON.parse(ready.slice('READY '.length)) as number[];
    expect(pids).toHaveLength(NAMESPACES);
  }, 90_000);

  afterAll(async () => {
    await endChild(farm);
  });

  /** Dumps every farm namespace through one batch on up to 2 threads, at a pace of `perDumpMs`; each one's table by family and state. */
  async function dumpAll(perDumpMs: number): Promise<Array<Record<string, Record<string, number>>>> {
    const { batch, sources, tables, tcp, proc } = modules;
    const pace = new batch.DumpPace();
    pace.record(1, perDumpMs);
    const budget = new tables.TableBudget(30);
    const dumps = new batch.NamespaceDumpBatch(pace, budget, 5000, 2);
    const tableSources = new sources.NamespaceTableSources();
    const root = new proc.ProcRoot('/proc');
    const members = pids.map((pid) => {
      const inode = Number(/^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/net`))![1]);
      const sink = new tables.NamespaceTable();
      const source = tableSources.sourceFor(root, inode, { pid }, 'netlink', logger, sink, dumps);
      dumps.add(source);
      return { sink, source };
    });
    try {
      for (const { sink, source } of members) {
        await budget.guard(source, () => undefined, () => dumps.began(source)).scan(sink);
        expect(source.name).toBe('netlink');
      }
      return members.map(({ sink }) => {
        const byFamily: Record<string, Record<string, number>> = {};
        tcp.FAMILIES.forEach((family, f) => {
          const states: Record<string, number> = {};
          for (let slot = 1; slot < tcp.STATE_SLOTS; slot++) {
            const count = sink.stateCounts[f * tcp.STATE_SLOTS + slot]!;
            if (count > 0) states[tcp.stateName(slot)] = count;
          }
          byFamily[family] = states;
        });
        return byFamily;
      });
    } finally {
      tableSources.retain(new Set());
    }
  }

  const ssTables = (): Promise<Array<Record<string, Record<string, number>>>> =>
    Promise.all(
      pids.map(async (pid) => {
        const [v4, v6] = await Promise.all(['-4', '-6'].map((flag) => run('nsenter', ['-n', '-t', String(pid), 'ss', '-tanH', flag])));
        return { ipv4: countSsStates(v4!.stdout), ipv6: countSsStates(v6!.stdout) };
      }),
    );

  it('a fast pace keeps every dump on one thread; a slow one splits them over two, each table still equal to ss inside it', { timeout: 60_000 }, async () => {
    const expected = await ssTables();
    // Every namespace holds its listener and its 3 pairs: 7 sockets in use over IPv4.
    for (const table of expected) expect(table.ipv4).toEqual({ listen: 1, established: 6 });

    // 0.05 ms a dump (hashes of their own): the chunk stays whole, on the shared thread.
    const fast = await dumpAll(0.05);
    const afterFast = dumpThreads();
    expect(afterFast).toBeGreaterThanOrEqual(1);
    expect(fast).toEqual(expected);

    // 50 ms a dump (a shared hash beside 100k host sockets): the chunk goes to two threads at once.
    const slow = await dumpAll(50);
    expect(dumpThreads()).toBe(afterFast + 1);
    expect(slow).toEqual(expected);
  });
});
