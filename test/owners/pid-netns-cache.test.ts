import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { NetnsDiscovery, parseNetnsLink } from '../../src/owners/netns-discovery.js';
import { PidNamespaceCache, RECHECK_EVERY, type ListedProcess } from '../../src/owners/pid-netns-cache.js';
import { readDirEntries } from '../../src/procfs/dir-entries.js';
import { ProcRoot } from '../../src/procfs/proc-root.js';
import { describeWithNetns } from '../helpers/netns.js';

/** One discovery's lookups of `listed`, with the pids whose link was read. */
function round(cache: PidNamespaceCache, listed: readonly ListedProcess[], links: ReadonlyMap<number, number | undefined>): { namespaces: Array<number | undefined>; read: number[] } {
  const read: number[] = [];
  cache.begin();
  const namespaces = listed.map((process) =>
    cache.namespaceOf(process, (pid) => {
      read.push(pid);
      return links.get(pid);
    }),
  );
  expect(cache.linksRead).toBe(read.length);
  return { namespaces, read };
}

describe('PidNamespaceCache', () => {
  const listed = Array.from({ length: 40 }, (_, i) => ({ pid: 100 + i, ino: 5000 + i }));
  const links = new Map<number, number | undefined>(listed.map(({ pid }) => [pid, 4026530000 + (pid % 3)]));

  it('reads each link once, then only its share of re-checks per discovery, each process within RECHECK_EVERY', () => {
    const cache = new PidNamespaceCache();
    const first = round(cache, listed, links);
    expect(first.read).toEqual(listed.map(({ pid }) => pid));
    expect(first.namespaces).toEqual(listed.map(({ pid }) => links.get(pid)));
    const reread = new Set<number>();
    for (let i = 0; i < RECHECK_EVERY; i++) {
      const next = round(cache, listed, links);
      expect(next.namespaces).toEqual(first.namespaces);
      expect(next.read.length).toBeLessThanOrEqual(Math.ceil(listed.length / RECHECK_EVERY));
      for (const pid of next.read) reread.add(pid);
    }
    expect(reread.size).toBe(listed.length);
  });

  it('reads afresh a pid whose /proc entry is a new inode (a new process given that pid), and one seen without an inode', () => {
    const cache = new PidNamespaceCache();
    round(cache, listed, links);
    const reused = listed.map((p) => (p.pid === 110 ? { pid: 110, ino: 9999 } : p.pid === 111 ? { pid: 111, ino: undefined } : p));
    const moved = new Map(links).set(110, 4026539999);
    const next = round(cache, reused, moved);
    expect(next.read).toEqual(expect.arrayContaining([110, 111]));
    expect(next.namespaces[reused.findIndex((p) => p.pid === 110)]).toBe(4026539999);
  });

  it('forgets processes no longer listed, and remembers an unreadable link as unreadable', () => {
    const cache = new PidNamespaceCache();
    const unreadable = new Map(links).set(105, undefined);
    round(cache, listed, unreadable);
    round(cache, listed.slice(0, 10), unreadable);
    const back = round(cache, listed, unreadable);
    // The 30 forgotten are read again; of the 10 kept, only those due.
    expect(back.read.filter((pid) => pid >= 110)).toEqual(listed.slice(10).map(({ pid }) => pid));
    expect(back.namespaces[5]).toBeUndefined();
  });
});

describeWithNetns('the discovery with remembered processes, on real processes', () => {
  const proc = new ProcRoot('/proc');
  const cache = new PidNamespaceCache();
  const discovery = (): NetnsDiscovery => new NetnsDiscovery({ proc, ipNetnsDirs: [], otherBindMountDirs: [], pidNamespaces: cache });
  const started: ChildProcess[] = [];
  const held: number[] = [];
  /** Keeps a process's namespace alive after it leaves, so that its inode cannot be handed to a new one meanwhile. */
  const holdNamespaceOf = (pid: number): void => void held.push(openSync(`/proc/${pid}/ns/net`, 'r'));
  const hostInode = statSync('/proc/self/ns/net').ino;
  afterAll(() => {
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const fd of held) closeSync(fd);
  });
  const namespaceOf = (pid: number): number | undefined => parseNetnsLink(readlinkSync(`/proc/${pid}/ns/net`));
  const namespaceOfIfPresent = (pid: number): number | undefined => {
    try {
      return namespaceOf(pid);
    } catch {
      return undefined;
    }
  };
  /** The pids a discovery finds in namespace `inode`; undefined when it finds no such namespace. */
  const pidsOf = async (inode: number): Promise<readonly number[] | undefined> => (await discovery().discover()).namespaces.find((ns) => ns.inode === inode)?.pids;
  /** A process started alone in a new network namespace (`unshare --net`), once it is inside. */
  const inOwnNamespace = async (command: string, args: string[]): Promise<{ child: ChildProcess; inode: number }> => {
    const child = spawn('unshare', ['--net', command, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    started.push(child);
    for (let i = 0; i < 200; i++) {
      const inode = child.pid === undefined ? undefined : namespaceOfIfPresent(child.pid);
      if (inode !== undefined && inode !== hostInode) return { child, inode };
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`${command} did not enter a namespace of its own`);
  };

  it('lists /proc with each entry’s inode', () => {
    const entries = readDirEntries('/proc')!;
    // Processes come and go between two listings; the rest of /proc does not.
    const fixed = (names: string[]): string[] => names.filter((name) => !/^\d+$/.test(name)).sort();
    expect(fixed(entries.map((e) => e.name))).toEqual(fixed([...readdirSync('/proc'), '.', '..']));
    const self = entries.find((e) => e.name === String(process.pid))!;
    expect(self.ino).toBe(statSync(`/proc/${process.pid}`).ino);
  });

  it('reads far fewer links than there are processes once it has seen them', async () => {
    const first = await discovery().discover();
    const second = await discovery().discover();
    expect(first.stats.pids).toBeGreaterThan(20);
    expect(second.stats.linksRead).toBeLessThanOrEqual(Math.ceil(second.stats.pids / RECHECK_EVERY) + 5);
    expect(second.namespaces.map((ns) => ns.inode)).toEqual(first.namespaces.map((ns) => ns.inode));
  });

  it('sees at once a pid given to a new process in another namespace', async () => {
    // The kernel's next pid is set (ns_last_pid) so that the new process gets the old one's pid;
    // another process may take it first on a busy machine, hence a few tries.
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = await inOwnNamespace('sleep', ['60']);
      const pid = before.child.pid!;
      expect(await pidsOf(before.inode)).toEqual([pid]);
      holdNamespaceOf(pid);
      before.child.kill('SIGKILL');
      await new Promise((resolve) => before.child.once('exit', resolve));
      writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
      const after = await inOwnNamespace('sleep', ['60']);
      if (after.child.pid !== pid) {
        after.child.kill('SIGKILL');
        continue;
      }
      expect(after.inode).not.toBe(before.inode);
      const found = await discovery().discover();
      expect(found.namespaces.find((ns) => ns.inode === after.inode)?.pids).toEqual([pid]);
      expect(found.namespaces.find((ns) => ns.inode === before.inode)).toBeUndefined();
      after.child.kill('SIGKILL');
      return;
    }
    throw new Error('the pid was taken by another process five times over');
  });

  it('finds a process that moved itself into a new namespace within RECHECK_EVERY discoveries', async () => {
    const script = "import ctypes, sys\nprint('ready', flush=True)\nsys.stdin.readline()\nctypes.CDLL(None, use_errno=True).unshare(0x40000000)\nprint('moved', flush=True)\nsys.stdin.readline()\n";
    const { child, inode: first } = await inOwnNamespace('python3', ['-c', script]);
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    // Python itself is running: a python3 that is a wrapper script (pyenv's) has run its helpers.
    expect((await lines.next()).value).toBe('ready');
    expect(await pidsOf(first)).toEqual([child.pid]);
    holdNamespaceOf(child.pid!);
    child.stdin!.write('\n');
    expect((await lines.next()).value).toBe('moved');
    const second = namespaceOf(child.pid!)!;
    expect(second).not.toBe(first);
    let discoveries = 1;
    while ((await pidsOf(second)) === undefined) {
      discoveries++;
      expect(discoveries).toBeLessThanOrEqual(RECHECK_EVERY);
    }
    expect(await pidsOf(second)).toEqual([child.pid]);
    expect(await pidsOf(first)).toBeUndefined();
    child.stdin!.end();
  });
});
