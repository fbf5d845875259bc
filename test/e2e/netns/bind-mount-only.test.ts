/**
 * A namespace that only a bind mount keeps alive: `ip netns add` with no process inside. Its
 * sockets are held by a process that stepped in (setns) to make them and stepped back out, so no
 * /proc/<pid>/ns/net points at it and it has no /proc/<pid>/net. Over netlink the exporter enters
 * it through /run/netns/<name>; with procfs it cannot read it, and says so.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TCP_STATES } from '../../../src/kernel/tcp.js';
import { parseExposition, select, type Sample } from '../../helpers/exposition.js';
import { countSsStates, describeWithNetns, exporterBin } from '../../helpers/netns.js';
import { endChild } from '../../helpers/end-child.js';
import { firstLine } from '../../owners/cgroup-fixture.js';

const run = promisify(execFile);

/** Makes, inside the namespace at argv[1], a listener, 3 ESTABLISHED pairs and 2 CLOSE_WAIT; comes back out; holds them until stdin closes. */
const HOLDER = `
import ctypes, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
home = os.open('/proc/self/ns/net', os.O_RDONLY)
target = os.open(sys.argv[1], os.O_RDONLY)
if libc.setns(target, 0x40000000) != 0: sys.exit('setns: %d' % ctypes.get_errno())
listener = socket.socket(); listener.bind(('127.0.0.1', 7070)); listener.listen(16)
held = [listener]
for _ in range(3):
    client = socket.create_connection(('127.0.0.1', 7070)); server, _ = listener.accept(); held += [client, server]
for _ in range(2):
    client = socket.create_connection(('127.0.0.1', 7070)); server, _ = listener.accept(); client.close(); held.append(server)
if libc.setns(home, 0x40000000) != 0: sys.exit('setns back: %d' % ctypes.get_errno())
print('READY', flush=True)
sys.stdin.read()
`;

describeWithNetns('a network namespace kept alive only by its bind mount', () => {
  const name = `tcpst-bind-${process.pid}`;
  let holder: ChildProcess | undefined;

  const collect = async (flags: string[]): Promise<Sample[]> =>
    parseExposition((await run(process.execPath, [exporterBin, 'collect', '--collector.disable-defaults', '--collector.netns', '--collector.netns.max-namespaces=100000', '--collector.netns.table-budget=30', ...flags], { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 })).stdout);

  beforeAll(async () => {
    await run('ip', ['netns', 'add', name]);
    await run('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
    holder = spawn('python3', ['-c', HOLDER, `/run/netns/${name}`], { stdio: ['pipe', 'pipe', 'inherit'] });
    expect(await firstLine(holder, 30_000)).toBe('READY');
    // No process is inside: the bind mount is all there is.
    expect((await run('ip', ['netns', 'pids', name])).stdout.trim()).toBe('');
  }, 60_000);

  afterAll(async () => {
    await endChild(holder);
    await run('ip', ['netns', 'del', name]).catch(() => undefined);
  }, 30_000);

  it('over netlink: its per-state counts equal ss inside it, under its ip netns name, with no counters', async () => {
    const samples = await collect(['--collector.netns.tables=netlink']);
    const ss = countSsStates((await run('ip', ['netns', 'exec', name, 'ss', '-tanH', '-4'])).stdout);
    expect(ss.established).toBe(6);
    expect(ss.close_wait).toBe(2);
    for (const state of TCP_STATES) {
      const got = select(samples, 'tcpstate_netns_sockets', { netns: name, family: 'ipv4', state })[0]?.value;
      expect([state, got]).toEqual([state, ss[state] ?? 0]);
    }
    expect(select(samples, 'tcpstate_netns_close_wait_sockets', { netns: name, port: '7070' })[0]?.value).toBe(2);
    expect(select(samples, 'tcpstate_netns_table_info', { netns: name })[0]?.labels.method).toBe('netlink');
    // No /proc/<pid>/net: no counters for it, and it is counted as reported.
    expect(select(samples, 'tcpstate_active_opens_total', { netns: name })).toEqual([]);
    expect(select(samples, 'tcpstate_sockstat_tw', { netns: name })).toEqual([]);
    expect(select(samples, 'tcpstate_netns_namespaces', { state: 'without_process' })[0]?.value).toBe(0);
  }, 60_000);

  it('with procfs: nothing to read it through; counted as without_process', async () => {
    const samples = await collect(['--collector.netns.tables=procfs']);
    expect(samples.filter((s) => s.labels.netns === name)).toEqual([]);
    expect(select(samples, 'tcpstate_netns_namespaces', { state: 'without_process' })[0]?.value).toBeGreaterThanOrEqual(1);
    expect(select(samples, 'tcpstate_netns_tables', { outcome: 'failed' })[0]?.value).toBe(0);
  }, 60_000);
});
