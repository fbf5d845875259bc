/**
 * The procfs way needs no privilege beyond the host's PID namespace and read access: run as
 * nobody (uid 65534, no capabilities), the exporter reports a namespace whose process runs as
 * nobody, with per-state counts equal to ss and its owner named; namespaces of root's processes
 * stay out, since their /proc/<pid>/ns/net cannot be read without CAP_SYS_PTRACE.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TCP_STATES } from '../../../src/kernel/tcp.js';
import { parseExposition, select } from '../../helpers/exposition.js';
import { countSsStates, describeWithNetns, exporterBin, TestNamespace, type RunningFarm } from '../../helpers/netns.js';
import { toolOrSkip } from '../../helpers/require-tool.js';
import { firstLine, TestCgroups } from '../../owners/cgroup-fixture.js';

const run = promisify(execFile);
const farmScript = fileURLToPath(new URL('../../helpers/socket_farm.py', import.meta.url));
const DOCKER = 'e5'.repeat(32);
const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];
const SPEC = { listeners: [{ name: 'svc', host: '127.0.0.1', port: 8088 }, { name: 'svc6', host: '::1', port: 8089 }], groups: [{ kind: 'established', to: 'svc', count: 2 }, { kind: 'close_wait', to: 'svc', count: 3 }, { kind: 'established', to: 'svc6', count: 1 }] };

describeWithNetns('the netns collector unprivileged, through /proc/<pid>/net', () => {
  let cgroups: TestCgroups;
  let farm: ChildProcess | undefined;
  let rootFarm: RunningFarm | undefined;
  let rootNs: TestNamespace | undefined;
  let state: string;

  beforeAll(async () => {
    expect(toolOrSkip('setpriv', 'util-linux').available, 'setpriv (util-linux) is needed').toBe(true);
    cgroups = await TestCgroups.create();
    state = mkdtempSync(join(tmpdir(), 'netns-unprivileged-state-'));
    mkdirSync(join(state, DOCKER));
    writeFileSync(join(state, DOCKER, 'config.v2.json'), JSON.stringify({ ID: DOCKER, Name: '/nobody-web', Config: { Labels: {} } }));
    // Read access to the runtime state, as a read-only hostPath gives it.
    for (const dir of [state, join(state, DOCKER)]) chmodSync(dir, 0o755);
    // The system python: a user's own (pyenv under /root) is not executable by nobody.
    farm = cgroups.spawnIn(`system.slice/docker-${DOCKER}.scope`, 'unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec setpriv "$@"', 'sh', ...NOBODY, '/usr/bin/python3', farmScript, JSON.stringify(SPEC)]);
    expect((await firstLine(farm, 30_000)).startsWith('READY ')).toBe(true);
    // A root process in a namespace of its own, which nobody must not see through its pid.
    rootNs = await TestNamespace.create();
    rootFarm = await rootNs.startFarm(SPEC);
  }, 90_000);

  afterAll(async () => {
    farm?.stdin?.end('exit\n');
    await rootFarm?.stop().catch(() => undefined);
    await rootNs?.destroy();
    await cgroups?.destroy();
    if (state !== undefined) rmSync(state, { recursive: true, force: true });
  }, 60_000);

  it('reports the namespace of its own user with the counts ss sees, named by its container', async () => {
    const pid = farm!.pid!;
    const inode = /\d+/.exec(readlinkSync(`/proc/${pid}/ns/net`))![0];
    const ss = async () => Object.fromEntries(await Promise.all(['-4', '-6'].map(async (flag, i) => [i === 0 ? 'ipv4' : 'ipv6', countSsStates((await run('nsenter', ['-n', '-t', String(pid), 'ss', '-tanH', flag])).stdout)] as const)));
    const before = await ss();
    const { stdout, stderr } = await run('setpriv', [...NOBODY, process.execPath, exporterBin, 'collect', `--path.docker.containers=${state}`, '--collector.netns.table-budget=30', '--collector.netns.max-namespaces=100000'], { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 }).catch((error: { stdout: string; stderr: string }) => error);
    const after = await ss();
    expect(after).toEqual(before);
    const samples = parseExposition(stdout);
    expect(select(samples, 'tcpstate_scrape_collector_success', { collector: 'netns' })[0]?.value, stderr).toBe(1);
    const labels = { netns: inode, namespace: '', pod: '', uid: '', container: 'nobody-web' };
    for (const family of ['ipv4', 'ipv6']) {
      for (const stateName of TCP_STATES) {
        const value = select(samples, 'tcpstate_netns_sockets', { ...labels, family, state: stateName })[0]?.value;
        expect({ family, state: stateName, value }).toEqual({ family, state: stateName, value: before[family]![stateName] ?? 0 });
      }
    }
    expect(select(samples, 'tcpstate_netns_close_wait_sockets', { ...labels, port: '8088' })[0]?.value).toBe(3);
    // Without CAP_SYS_ADMIN, auto cannot setns: it says so once and reads procfs.
    expect(select(samples, 'tcpstate_netns_table_info', { ...labels, method: 'procfs', own_hash: 'unknown' })).toHaveLength(1);
    expect(stderr.match(/needs CAP_SYS_ADMIN/g)).toHaveLength(1);
    expect(select(samples, 'tcpstate_passive_opens_total', labels)[0]?.value).toBeGreaterThanOrEqual(6);
    // root's namespace: its pid's link is not readable by nobody, so it is not reported.
    expect(samples.some((s) => s.labels.netns === rootNs!.name)).toBe(false);
  }, 60_000);
});
