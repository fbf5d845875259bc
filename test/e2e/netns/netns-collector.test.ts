/**
 * The netns collector against real namespaces, real sockets and real cgroups: five namespaces
 * (four `ip netns`, one `unshare -n` with no bind mount), their processes in cgroup v2 directories
 * named as kubelet + containerd and as Docker name theirs, and the runtimes' state files in a
 * temporary directory given by flag. The exporter runs from the host, as a DaemonSet with
 * hostNetwork and hostPID does.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TCP_STATES } from '../../../src/kernel/tcp.js';
import { parseExposition, select, type Sample } from '../../helpers/exposition.js';
import { countSsStates, describeWithNetns, exporterBin, TestNamespace, type RunningFarm } from '../../helpers/netns.js';
import { firstLine, TestCgroups, writeProcs } from '../../owners/cgroup-fixture.js';

const run = promisify(execFile);
const farmScript = fileURLToPath(new URL('../../helpers/socket_farm.py', import.meta.url));

const POD_UID = randomUUID();
const POD2_UID = randomUUID();
const APP = 'a1'.repeat(32);
const API = 'b2'.repeat(32);
const DOCKER = 'c3'.repeat(32);
const CTR = 'd4'.repeat(32);

const listener = (name: string, port: number, host = '127.0.0.1') => ({ name, host, port });
/** Known sockets in several states; every namespace gets a different mix. */
const SPECS = [
  { listeners: [listener('web', 8080), listener('cw', 8082)], groups: [{ kind: 'established', to: 'web', count: 3 }, { kind: 'close_wait', to: 'cw', count: 4 }] },
  { listeners: [listener('redis', 6379), listener('r6', 6380, '::1')], groups: [{ kind: 'established', to: 'redis', count: 2 }, { kind: 'established', to: 'r6', count: 2 }, { kind: 'time_wait', to: 'redis', count: 2 }] },
  { listeners: [listener('api', 9000), { name: 'bl', host: '127.0.0.1', port: 9001, backlog: 4 }], groups: [{ kind: 'backlog', to: 'bl', count: 3 }, { kind: 'close_wait', to: 'api', count: 1 }] },
  { listeners: [listener('plain', 7000)], groups: [{ kind: 'time_wait', to: 'plain', count: 3 }, { kind: 'established', to: 'plain', count: 1 }] },
  { listeners: [listener('batch', 5000)], groups: [{ kind: 'close_wait', to: 'batch', count: 2 }, { kind: 'established', to: 'batch', count: 2 }] },
];

interface Owned {
  key: string;
  pid: number;
  inode: number;
  labels: Record<string, string>;
}

const inodeOf = (pid: number): number => Number(/^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/net`))![1]);

async function ssByFamily(pid: number): Promise<Record<string, Record<string, number>>> {
  const [v4, v6] = await Promise.all(['-4', '-6'].map((flag) => run('nsenter', ['-n', '-t', String(pid), 'ss', '-tanH', flag])));
  return { ipv4: countSsStates(v4!.stdout), ipv6: countSsStates(v6!.stdout) };
}

/** group -> field -> value of /proc/<pid>/net/{snmp,netstat}, parsed here independently of src/. */
function kernelCounters(pid: number): Map<string, number> {
  const values = new Map<string, number>();
  for (const file of ['snmp', 'netstat']) {
    const lines = readFileSync(`/proc/${pid}/net/${file}`, 'latin1').trim().split('\n');
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const [group, ...names] = lines[i]!.split(/:?\s+/);
      const numbers = lines[i + 1]!.split(/\s+/).slice(1);
      names.forEach((name, j) => values.set(`${group}_${name}`, Number(numbers[j])));
    }
  }
  const tcp = readFileSync(`/proc/${pid}/net/sockstat`, 'latin1').split('\n').find((line) => line.startsWith('TCP:'))!.split(/\s+/);
  values.set('sockstat_inuse', Number(tcp[tcp.indexOf('inuse') + 1]));
  values.set('sockstat_tw', Number(tcp[tcp.indexOf('tw') + 1]));
  return values;
}

/** The inodes of the sockets a process holds, from its /proc/<pid>/fd links. */
function socketInodesOf(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
      if (inode !== undefined) inodes.add(inode);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

const COUNTERS: Record<string, string> = {
  tcpstate_active_opens_total: 'Tcp_ActiveOpens',
  tcpstate_passive_opens_total: 'Tcp_PassiveOpens',
  tcpstate_segments_sent_total: 'Tcp_OutSegs',
  tcpstate_resets_sent_total: 'Tcp_OutRsts',
  tcpstate_established_resets_total: 'Tcp_EstabResets',
  tcpstate_retransmitted_segments_total: 'Tcp_RetransSegs',
  tcpstate_listen_overflows_total: 'TcpExt_ListenOverflows',
  tcpstate_listen_drops_total: 'TcpExt_ListenDrops',
  tcpstate_timeouts_total: 'TcpExt_TCPTimeouts',
  tcpstate_sockstat_tw: 'sockstat_tw',
};

describeWithNetns('the netns collector on real namespaces, sockets and cgroups', () => {
  const namespaces: TestNamespace[] = [];
  const farms: RunningFarm[] = [];
  const owned: Owned[] = [];
  let unshared: ChildProcess | undefined;
  let cgroups: TestCgroups;
  let state: string;
  let flags: string[];

  const collect = async (extra: string[] = []): Promise<Sample[]> => parseExposition((await run(process.execPath, [exporterBin, 'collect', ...flags, ...extra], { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 })).stdout);
  const mine = (samples: Sample[], name: string, who: Owned): Sample[] => select(samples, name, { netns: who.labels.netns! });

  beforeAll(async () => {
    cgroups = await TestCgroups.create();
    state = mkdtempSync(join(tmpdir(), 'netns-collector-state-'));
    const write = (file: string, body: unknown): void => {
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, JSON.stringify(body));
    };
    const cri = (name: string, namespace: string, uid: string, container: string) => ({
      'io.kubernetes.cri.sandbox-name': name, 'io.kubernetes.cri.sandbox-namespace': namespace, 'io.kubernetes.cri.sandbox-uid': uid,
      'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.container-name': container,
    });
    write(join(state, 'tasks/k8s.io', APP, 'config.json'), { ociVersion: '1.1.0', annotations: cri('web-0', 'shop', POD_UID, 'app') });
    write(join(state, 'tasks/k8s.io', API, 'config.json'), { ociVersion: '1.1.0', annotations: cri('api-1', 'billing', POD2_UID, 'api') });
    write(join(state, 'docker', DOCKER, 'config.v2.json'), { ID: DOCKER, Name: '/redis-cache', Config: { Labels: {} } });
    write(join(state, 'docker', CTR, 'config.v2.json'), { ID: CTR, Name: '/batch-runner', Config: { Labels: {} } });
    flags = [`--path.containerd.tasks=${join(state, 'tasks')}`, `--path.docker.containers=${join(state, 'docker')}`, '--collector.netns.table-budget=30', '--collector.netns.max-namespaces=100000'];

    // kubelet (systemd driver) + containerd; Docker; kubelet (cgroupfs driver) + containerd; no owner.
    const cgroupOf = [
      `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_UID.replaceAll('-', '_')}.slice/cri-containerd-${APP}.scope`,
      `system.slice/docker-${DOCKER}.scope`,
      `kubepods/besteffort/pod${POD2_UID}/${API}`,
      undefined,
    ];
    for (let i = 0; i < 4; i++) {
      const ns = await TestNamespace.create();
      namespaces.push(ns);
      const farm = await ns.startFarm(SPECS[i]);
      farms.push(farm);
      const dir = cgroupOf[i] === undefined ? undefined : cgroups.mkdir(cgroupOf[i]!);
      if (dir !== undefined) for (const pid of [farm.pid, ...farm.children]) writeProcs(dir, pid);
      owned.push({ key: `ns${i}`, pid: farm.pid, inode: inodeOf(farm.pid), labels: {} });
    }
    owned[0]!.labels = { netns: namespaces[0]!.name, namespace: 'shop', pod: 'web-0', uid: POD_UID, container: '' };
    owned[1]!.labels = { netns: namespaces[1]!.name, namespace: '', pod: '', uid: '', container: 'redis-cache' };
    owned[2]!.labels = { netns: namespaces[2]!.name, namespace: 'billing', pod: 'api-1', uid: POD2_UID, container: '' };
    owned[3]!.labels = { netns: namespaces[3]!.name, namespace: '', pod: '', uid: '', container: '' };

    // No bind mount: the namespace lives as long as its process, a containerd (ctr) container.
    unshared = cgroups.spawnIn(`default/${CTR}`, 'unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec python3 "$0" "$1"', farmScript, JSON.stringify(SPECS[4])]);
    const ready = await firstLine(unshared, 30_000);
    expect(ready.startsWith('READY ')).toBe(true);
    const pid = unshared.pid!;
    owned.push({ key: 'unshared', pid, inode: inodeOf(pid), labels: { netns: String(inodeOf(pid)), namespace: '', pod: '', uid: '', container: 'batch-runner' } });
  }, 120_000);

  afterAll(async () => {
    for (const farm of farms) await farm.stop().catch(() => undefined);
    unshared?.stdin?.end('exit\n');
    for (const ns of namespaces) await ns.destroy();
    await cgroups?.destroy();
    if (state !== undefined) rmSync(state, { recursive: true, force: true });
  }, 60_000);

  // Both methods must give the same figures: netlink inside each namespace (root has CAP_SYS_ADMIN), and procfs.
  for (const method of ['netlink', 'procfs'] as const) {
    it(`${method}: every namespace's per-state counts equal ss taken back to back, counters equal its own /proc/<pid>/net, labels name its owner`, async () => {
      const before = await Promise.all(owned.map((who) => ssByFamily(who.pid)));
      const countersBefore = owned.map((who) => kernelCounters(who.pid));
      const samples = await collect([`--collector.netns.tables=${method}`]);
      const after = await Promise.all(owned.map((who) => ssByFamily(who.pid)));
      const countersAfter = owned.map((who) => kernelCounters(who.pid));
      expect(after, 'the sockets moved while the exporter read them').toEqual(before);

      for (const [index, who] of owned.entries()) {
        const sockets = mine(samples, 'tcpstate_netns_sockets', who);
        expect(sockets.length, `${who.key} has no tcpstate_netns_sockets`).toBeGreaterThan(0);
        for (const sample of sockets) expect(sample.labels, who.key).toMatchObject(who.labels);
        for (const family of ['ipv4', 'ipv6']) {
          for (const stateName of TCP_STATES) {
            const value = sockets.find((s) => s.labels.family === family && s.labels.state === stateName)?.value;
            expect({ who: who.key, family, state: stateName, value }).toEqual({ who: who.key, family, state: stateName, value: before[index]![family]![stateName] ?? 0 });
          }
        }
        for (const [metric, field] of Object.entries(COUNTERS)) {
          const found = mine(samples, metric, who);
          expect(found.length, `${who.key} ${metric}`).toBe(1);
          expect(found[0]!.labels).toEqual(who.labels);
          expect(found[0]!.value, `${who.key} ${metric}`).toBeGreaterThanOrEqual(countersBefore[index]!.get(field)!);
          expect(found[0]!.value, `${who.key} ${metric}`).toBeLessThanOrEqual(countersAfter[index]!.get(field)!);
        }
        expect(select(samples, 'tcpstate_netns_table_age_seconds', who.labels)[0]?.value).toBe(0);
        // These namespaces were made with tcp_child_ehash_entries=0: they share the host's hash, which only netlink can tell.
        expect(select(samples, 'tcpstate_netns_table_info', { ...who.labels, method, own_hash: method === 'netlink' ? 'false' : 'unknown' }), who.key).toHaveLength(1);
      }
      // The listen backlog is known over netlink only.
      const limit = select(samples, 'tcpstate_netns_listen_queue_max', { ...owned[2]!.labels, port: '9001' })[0]?.value;
      expect(limit).toBe(method === 'netlink' ? 4 : undefined);
      // The farms' CLOSE_WAIT sockets sit on their listening ports; the backlog fills the accept queue.
      expect(select(samples, 'tcpstate_netns_close_wait_sockets', { ...owned[0]!.labels, port: '8082' })[0]?.value).toBe(4);
      expect(select(samples, 'tcpstate_netns_close_wait_sockets', { ...owned[4]!.labels, port: '5000' })[0]?.value).toBe(2);
      expect(select(samples, 'tcpstate_netns_listen_queue_length', { ...owned[2]!.labels, port: '9001' })[0]?.value).toBe(3);
      // The exporter's own namespace is the host collectors' alone: no netns series for it.
      const own = readlinkSync('/proc/self/ns/net').match(/\d+/)![0];
      expect(samples.some((s) => s.labels.netns === own)).toBe(false);
      // The host's counter is in the same family, without owner labels.
      expect(select(samples, 'tcpstate_listen_overflows_total').some((s) => s.labels.netns === undefined)).toBe(true);
    }, 120_000);
  }

  it('netlink tells a namespace made with its own TCP hash (tcp_child_ehash_entries) from one sharing the host\'s', async () => {
    const sysctl = '/proc/sys/net/ipv4/tcp_child_ehash_entries';
    const previous = readFileSync(sysctl, 'latin1').trim();
    let child: ChildProcess;
    // Set only for the instant it takes to make one namespace: others on this machine keep the default.
    writeFileSync(sysctl, '1024');
    try {
      child = cgroups.spawnIn('own-hash', 'unshare', ['-n', 'sh', '-c', 'cat /proc/sys/net/ipv4/tcp_ehash_entries; exec sleep 60']);
      expect(await firstLine(child)).toBe('1024');
    } finally {
      writeFileSync(sysctl, previous);
    }
    const inode = String(inodeOf(child.pid!));
    const samples = await collect(['--collector.netns.tables=netlink']);
    child.kill('SIGKILL');
    expect(select(samples, 'tcpstate_netns_table_info', { netns: inode, method: 'netlink' })[0]?.labels.own_hash).toBe('true');
    expect(select(samples, 'tcpstate_netns_table_info', { netns: owned[0]!.labels.netns!, method: 'netlink' })[0]?.labels.own_hash).toBe('false');
  }, 60_000);

  it('a namespace deleted between scrapes vanishes, and the kept netlink socket that would hold it alive is closed', async () => {
    const gone = owned[3]!;
    const { startExporter } = await import('../../helpers/exporter-process.js');
    const exporter = await startExporter([...flags, '--collector.netns.tables=netlink']);
    try {
      const scrape = async (): Promise<Sample[]> => parseExposition(await (await fetch(`${exporter.url}/metrics`)).text());
      expect(mine(await scrape(), 'tcpstate_netns_sockets', gone).length).toBeGreaterThan(0);
      // The exporter's sock_diag socket inside that namespace: listed in the namespace's own
      // /proc/<pid>/net/netlink (protocol 4), with an inode among the exporter's descriptors.
      const socketInodes = (): Set<string> => socketInodesOf(exporter.child.pid!);
      const diagInodes = readFileSync(`/proc/${gone.pid}/net/netlink`, 'latin1').trim().split('\n').slice(1).map((line) => line.trim().split(/\s+/)).filter((f) => f[1] === '4').map((f) => f[9]!);
      const kept = diagInodes.filter((inode) => socketInodes().has(inode));
      expect(kept).toHaveLength(1);
      await farms[3]!.stop();
      await namespaces[3]!.destroy();
      const samples = await scrape();
      expect(samples.filter((s) => s.labels.netns === gone.labels.netns)).toEqual([]);
      expect(mine(samples, 'tcpstate_netns_sockets', owned[0]!).length).toBeGreaterThan(0);
      expect(socketInodes().has(kept[0]!)).toBe(false);
    } finally {
      await exporter.stop();
    }
  }, 60_000);

  it('beyond --collector.netns.max-namespaces the rest are summed into netns="other", with counters only', async () => {
    // The namespace the test before deleted is gone.
    const live = owned.filter((who) => existsSync(`/proc/${who.pid}/net/snmp`));
    expect(live.length).toBeGreaterThanOrEqual(4);
    const before = live.map((who) => kernelCounters(who.pid).get('Tcp_PassiveOpens')!);
    const samples = await collect(['--collector.netns.max-namespaces=1']);
    expect(select(samples, 'tcpstate_netns_namespaces', { state: 'reported' })[0]?.value).toBe(1);
    expect(select(samples, 'tcpstate_netns_namespaces', { state: 'folded' })[0]?.value).toBeGreaterThanOrEqual(live.length - 1);
    const keptNetns = new Set(select(samples, 'tcpstate_passive_opens_total').map((s) => s.labels.netns).filter((netns) => netns !== undefined && netns !== 'other'));
    expect(keptNetns.size).toBe(1);
    const other = select(samples, 'tcpstate_passive_opens_total', { netns: 'other', namespace: '', pod: '', uid: '', container: '' });
    expect(other).toHaveLength(1);
    // At least the folded namespaces of this test (others on the machine may add to it).
    const folded = live.filter((who) => !keptNetns.has(who.labels.netns!));
    expect(other[0]!.value).toBeGreaterThanOrEqual(folded.reduce((sum, who) => sum + before[live.indexOf(who)]!, 0));
    expect(select(samples, 'tcpstate_netns_sockets', { netns: 'other' })).toEqual([]);
    expect(new Set(select(samples, 'tcpstate_netns_sockets').map((s) => s.labels.netns))).toEqual(keptNetns);
  }, 60_000);

  it('beyond the budget, later namespaces are skipped and reported with their age', async () => {
    // One exporter process, several scrapes: the rotation lives across scrapes.
    const { startExporter } = await import('../../helpers/exporter-process.js');
    const exporter = await startExporter([...flags.filter((flag) => !flag.includes('table-budget')), '--collector.netns.table-budget=0.001']);
    try {
      const scrape = async (): Promise<Sample[]> => parseExposition(await (await fetch(`${exporter.url}/metrics`)).text());
      const first = await scrape();
      expect(select(first, 'tcpstate_netns_tables', { outcome: 'skipped' })[0]!.value).toBeGreaterThan(0);
      const ages = new Map<string, number>();
      for (let round = 0; round < 80; round++) {
        const samples = round === 0 ? first : await scrape();
        for (const who of owned.slice(0, 3)) {
          const age = select(samples, 'tcpstate_netns_table_age_seconds', who.labels)[0]?.value;
          if (age !== undefined) ages.set(who.key, Math.max(ages.get(who.key) ?? 0, age));
        }
        if (owned.slice(0, 3).every((who) => ages.has(who.key)) && [...ages.values()].some((age) => age > 0)) break;
      }
      // Every namespace got its turn, and some series were shown from an earlier dump.
      expect([...ages.keys()].sort()).toEqual(['ns0', 'ns1', 'ns2']);
      expect(Math.max(...ages.values())).toBeGreaterThan(0);
    } finally {
      await exporter.stop();
    }
  }, 120_000);
});

