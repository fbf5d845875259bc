/**
 * The privilege sets the deploy files grant the netns collector, reproduced with setpriv around
 * the built exporter, against a root process in a network namespace of its own inside a
 * Docker-named cgroup, whose state sits in a directory of mode 0700 (as Docker and containerd keep
 * theirs). Each gives what docs/kubernetes.md says and no more:
 *   - root + CAP_SYS_PTRACE + CAP_SYS_ADMIN (pod-network-namespaces, compose): found, netlink, named;
 *   - root + CAP_SYS_PTRACE: found, procfs (auto falls back, saying so once), named;
 *   - root alone (node-cgroups): not found through its pid, root or not;
 *   - uid 65534 with both ambient (the systemd drop-in): found, netlink, but not named.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseExposition, select, type Sample } from '../helpers/exposition.js';
import { describeWithNetns, exporterBin } from '../helpers/netns.js';
import { toolOrSkip } from '../helpers/require-tool.js';
import { firstLine, TestCgroups } from '../owners/cgroup-fixture.js';

const run = promisify(execFile);
const farmScript = fileURLToPath(new URL('../helpers/socket_farm.py', import.meta.url));
const DOCKER = 'c4'.repeat(32);
const SPEC = { listeners: [{ name: 'svc', host: '127.0.0.1', port: 8090 }], groups: [{ kind: 'established', to: 'svc', count: 2 }, { kind: 'close_wait', to: 'svc', count: 2 }] };
const COLLECT = ['collect', '--collector.disable-defaults', '--collector.netns', '--collector.netns.table-budget=30', '--collector.netns.max-namespaces=100000'];

describeWithNetns('the netns collector under the privilege sets the deploy files grant', () => {
  const setpriv = toolOrSkip('setpriv', 'util-linux');
  let cgroups: TestCgroups;
  let farm: ChildProcess | undefined;
  let state: string;
  let inode: string;

  beforeAll(async () => {
    expect(setpriv.available, 'setpriv (util-linux) is needed').toBe(true);
    cgroups = await TestCgroups.create();
    state = mkdtempSync(join(tmpdir(), 'netns-privileges-state-'));
    mkdirSync(join(state, DOCKER));
    writeFileSync(join(state, DOCKER, 'config.v2.json'), JSON.stringify({ ID: DOCKER, Name: '/root-web', Config: { Labels: {} } }));
    // As Docker keeps it: only root reads it. The scratch parent must stay searchable.
    chmodSync(state, 0o755);
    chmodSync(join(state, DOCKER), 0o700);
    farm = cgroups.spawnIn(`system.slice/docker-${DOCKER}.scope`, 'unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec /usr/bin/python3 "$0" "$1"', farmScript, JSON.stringify(SPEC)]);
    expect((await firstLine(farm, 30_000)).startsWith('READY ')).toBe(true);
    inode = /\d+/.exec(readlinkSync(`/proc/${farm.pid}/ns/net`))![0];
  }, 90_000);

  afterAll(async () => {
    farm?.stdin?.end('exit\n');
    await cgroups?.destroy();
    if (state !== undefined) rmSync(state, { recursive: true, force: true });
  }, 60_000);

  async function collectAs(privilege: string[]): Promise<{ samples: Sample[]; stderr: string; mine: Sample[] }> {
    const args = [...privilege, '--no-new-privs', '--', process.execPath, exporterBin, ...COLLECT, `--path.docker.containers=${state}`];
    const { stdout, stderr } = await run(setpriv.path!, args, { maxBuffer: 64 * 1024 * 1024, timeout: 90_000 });
    const samples = parseExposition(stdout);
    expect(select(samples, 'tcpstate_scrape_collector_success', { collector: 'netns' })[0]?.value, stderr).toBe(1);
    return { samples, stderr, mine: samples.filter((s) => s.labels.netns === inode) };
  }
  const closeWait = (mine: Sample[]): number | undefined => mine.find((s) => s.name === 'tcpstate_netns_close_wait_sockets' && s.labels.port === '8090')?.value;
  const methodOf = (mine: Sample[]): string | undefined => mine.find((s) => s.name === 'tcpstate_netns_table_info')?.labels.method;

  it('root with CAP_SYS_PTRACE and CAP_SYS_ADMIN: found through its pid, read over netlink, named from the root-only state', async () => {
    const { mine } = await collectAs(['--inh-caps=-all', '--bounding-set=-all,+sys_ptrace,+sys_admin']);
    expect(methodOf(mine)).toBe('netlink');
    expect(closeWait(mine)).toBe(2);
    expect(new Set(mine.map((s) => s.labels.container))).toEqual(new Set(['root-web']));
  }, 120_000);

  it('root with CAP_SYS_PTRACE only: the same figures through /proc/<pid>/net, after one warning', async () => {
    const { mine, stderr } = await collectAs(['--inh-caps=-all', '--bounding-set=-all,+sys_ptrace']);
    expect(methodOf(mine)).toBe('procfs');
    expect(closeWait(mine)).toBe(2);
    expect(stderr.match(/needs CAP_SYS_ADMIN/g)).toHaveLength(1);
    expect(new Set(mine.map((s) => s.labels.container))).toEqual(new Set(['root-web']));
  }, 120_000);

  it('root without capabilities: the namespace of a root process is not found through its pid', async () => {
    const { mine } = await collectAs(['--inh-caps=-all', '--bounding-set=-all']);
    expect(mine).toEqual([]);
  }, 120_000);

  it('uid 65534 with both capabilities ambient (the systemd drop-in): netlink, but the state is unreadable, so the short container id', async () => {
    const caps = '-all,+sys_ptrace,+sys_admin';
    const { mine } = await collectAs(['--reuid=65534', '--regid=65534', '--clear-groups', `--inh-caps=${caps}`, `--ambient-caps=${caps}`, `--bounding-set=${caps}`]);
    expect(methodOf(mine)).toBe('netlink');
    expect(closeWait(mine)).toBe(2);
    expect(new Set(mine.map((s) => s.labels.container))).toEqual(new Set([DOCKER.slice(0, 12)]));
  }, 120_000);
});
