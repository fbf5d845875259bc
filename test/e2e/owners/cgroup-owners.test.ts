import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TCP_STATES } from '../../../src/kernel/tcp.js';
import { describeWithNetns, exporterBin, TestNamespace } from '../../helpers/netns.js';
import { parseExposition, select, valueOf, type Sample } from '../../helpers/exposition.js';
import { waitFor } from '../../helpers/wait-for.js';
import { TestCgroups } from '../../owners/cgroup-fixture.js';
import { collectWithLog, execInNamespace, holdSockets, readTogether, release, RuntimeStateDir, ssCountsByCgroup, type Reading } from './owner-fixture.js';

const POD = { namespace: 'shop', name: 'checkout-7d9f8b6c5-x2k4q', uid: '5f0c7a3e-1b2d-4c6e-9a8f-0d1e2f3a4b5c' };
const APP_ID = 'a1'.repeat(32);
const SIDECAR_ID = 'e2'.repeat(32);
const DOCKER_ID = 'd3'.repeat(32);
/** Above diagnose's CLOSE_WAIT floor (20), so its finding must name the owner. */
const CLOSE_WAIT_LEAK = 25;
const POD_SLICE = `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD.uid.replaceAll('-', '_')}.slice`;

/** Each cgroup, as kubelet, Docker and systemd name theirs, the owner labels it must get, and its sockets. */
const OWNERS = [
  { cgroup: 'system.slice/nginx.service', labels: { unit: 'nginx.service' }, spec: { listen: 8080, pairs: 4, close_wait: 2 } },
  // Never accepts: its four connections fill its accept queue (backlog 4).
  { cgroup: `system.slice/docker-${DOCKER_ID}.scope`, labels: { container: 'redis-cache' }, spec: { listen: 6379, backlog: 4, accept: false, pairs: 4 } },
  { cgroup: `${POD_SLICE}/cri-containerd-${APP_ID}.scope`, labels: { namespace: POD.namespace, pod: POD.name, uid: POD.uid, container: 'app' }, spec: { listen: 9000, pairs: 1 } },
  // The sidecar proxies to the app and half-closes: the app, which never closes, holds the CLOSE_WAIT.
  { cgroup: `${POD_SLICE}/cri-containerd-${SIDECAR_ID}.scope`, labels: { namespace: POD.namespace, pod: POD.name, uid: POD.uid, container: 'envoy' }, spec: { listen: 15001, connect: [{ port: 9000, count: CLOSE_WAIT_LEAK, shutdown: true }] } },
] as const;

const LABEL_NAMES = ['namespace', 'pod', 'uid', 'container', 'unit'] as const;
const full = (labels: Partial<Record<(typeof LABEL_NAMES)[number], string>>): Record<string, string> => Object.fromEntries(LABEL_NAMES.map((name) => [name, labels[name] ?? '']));

/** The owner series of one label set, by state (all 11 must be there). */
function ownerStates(samples: readonly Sample[], labels: Record<string, string>): Record<string, number> {
  const found = select(samples, 'tcpstate_owner_sockets', labels);
  expect(found.map((s) => s.labels.state).sort()).toEqual([...TCP_STATES].sort());
  return Object.fromEntries(found.filter((s) => s.value > 0).map((s) => [s.labels.state!, s.value]));
}

describeWithNetns('tcpstate_owner_sockets names the unit, container and pod of real sockets in real cgroups', () => {
  let ns: TestNamespace;
  let cgroups: TestCgroups;
  let runtime: RuntimeStateDir;
  const held: ChildProcess[] = [];
  let flags: string[];

  /** A reading whose table did not move between the two ss runs (one retry). */
  async function stableReading(): Promise<Reading> {
    let reading = await readTogether(ns, flags);
    if (reading.before !== reading.after) reading = await readTogether(ns, flags);
    expect(reading.after).toBe(reading.before);
    return reading;
  }

  beforeAll(async () => {
    ns = await TestNamespace.create();
    cgroups = await TestCgroups.create();
    runtime = new RuntimeStateDir();
    runtime.criContainer(APP_ID, POD, 'app');
    runtime.criContainer(SIDECAR_ID, POD, 'envoy');
    runtime.dockerContainer(DOCKER_ID, 'redis-cache');
    flags = [`--path.rootfs=${runtime.root}`];
    for (const owner of OWNERS) held.push(await holdSockets(cgroups, ns, owner.cgroup, owner.spec));
    // Bounded wait until the half-closes have landed: the app's CLOSE_WAIT sockets.
    let seen = '';
    await waitFor(`${CLOSE_WAIT_LEAK} CLOSE_WAIT sockets on port 9000`, async () => {
      seen = (await ns.exec('ss', ['-tanH', 'state', 'close-wait', '( sport = :9000 )'])).stdout;
      return seen.trim().split('\n').filter((l) => l !== '').length === CLOSE_WAIT_LEAK ? true : undefined;
    }, { timeoutMs: 10_000, lastSeen: () => seen });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(held.map(release));
    await cgroups?.destroy();
    runtime?.destroy();
    await ns?.destroy();
  });

  it('counts per owner equal ss --cgroup grouped by cgroup path, state by state, in the same instant', async () => {
    const reading = await stableReading();
    const ss = ssCountsByCgroup(reading.before);
    const samples = parseExposition(reading.metrics);
    expect(valueOf(samples, 'tcpstate_scrape_collector_success', { collector: 'cgroup' })).toBe(1);
    for (const owner of OWNERS) {
      const path = cgroups.cgroupPath(owner.cgroup);
      expect({ path, states: ownerStates(samples, full(owner.labels)) }).toEqual({ path, states: ss.get(path) });
    }
    // Nothing else in the namespace has a cgroup, so the named owners are exactly ours...
    expect([...ss.keys()].filter((path) => path !== '').sort()).toEqual(OWNERS.map((o) => cgroups.cgroupPath(o.cgroup)).sort());
    // ...and the unknown bucket is exactly the sockets ss shows without one.
    expect(ownerStates(samples, full({ unit: 'unknown' }))).toEqual(ss.get('') ?? {});
    // Known numbers, so equality is not 0 = 0.
    expect(ss.get(cgroups.cgroupPath(OWNERS[0].cgroup))).toEqual({ listen: 1, established: 8, close_wait: 2, fin_wait2: 2 });
    expect(ss.get(cgroups.cgroupPath(OWNERS[1].cgroup))).toEqual({ listen: 1, established: 8 });
  });

  it('the sidecar is not blamed for the app\'s CLOSE_WAIT leak: two containers of one pod, one namespace', async () => {
    const samples = parseExposition((await stableReading()).metrics);
    const app = full(OWNERS[2].labels);
    const sidecar = full(OWNERS[3].labels);
    expect(valueOf(samples, 'tcpstate_owner_sockets', { ...app, state: 'close_wait' })).toBe(CLOSE_WAIT_LEAK);
    expect(valueOf(samples, 'tcpstate_owner_sockets', { ...sidecar, state: 'close_wait' })).toBe(0);
    expect(valueOf(samples, 'tcpstate_owner_sockets', { ...sidecar, state: 'fin_wait2' })).toBe(CLOSE_WAIT_LEAK);
    expect(valueOf(samples, 'tcpstate_owner_port_sockets', { ...app, port: '9000', state: 'close_wait' })).toBe(CLOSE_WAIT_LEAK);
    expect(valueOf(samples, 'tcpstate_owner_port_sockets', { ...sidecar, port: '15001', state: 'close_wait' })).toBe(0);
    // Both containers carry the pod's namespace, name and uid: the pod sum is the two together.
    const podCloseWait = select(samples, 'tcpstate_owner_sockets', { pod: POD.name, state: 'close_wait' }).reduce((sum, s) => sum + s.value, 0);
    expect(podCloseWait).toBe(CLOSE_WAIT_LEAK);
  });

  it('accept queues per owner and listening port: the container that does not accept()', async () => {
    const samples = parseExposition((await stableReading()).metrics);
    const redis = full(OWNERS[1].labels);
    expect(valueOf(samples, 'tcpstate_owner_listen_queue_length', { ...redis, port: '6379' })).toBe(4);
    expect(valueOf(samples, 'tcpstate_owner_listen_queue_max', { ...redis, port: '6379' })).toBe(4);
    expect(valueOf(samples, 'tcpstate_owner_port_sockets', { ...redis, port: '6379', state: 'listen' })).toBe(1);
    expect(valueOf(samples, 'tcpstate_owner_listen_queue_length', { ...full(OWNERS[0].labels), port: '8080' })).toBe(0);
    expect(valueOf(samples, 'tcpstate_owner_port_sockets', { ...full(OWNERS[0].labels), port: '8080', state: 'close_wait' })).toBe(2);
  });

  it('diagnose names the owning container and pod in its CLOSE_WAIT and accept-queue findings, without --collector.process', async () => {
    const { stdout } = await collectWithLog(ns, [...flags, '--no-collector.process', '--diagnose.interval=0', '--diagnose.format=json'], 'diagnose').catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '', stderr: '' }));
    const report = JSON.parse(stdout) as { findings: Array<{ check: string; labels: Record<string, string>; evidence: string[] }> };
    const closeWait = report.findings.find((f) => f.check === 'close_wait' && f.labels.port === '9000');
    expect(closeWait?.labels).toMatchObject({ port: '9000', namespace: POD.namespace, pod: POD.name, uid: POD.uid, container: 'app' });
    expect(closeWait?.evidence.join('\n')).toContain(`container app of pod ${POD.namespace}/${POD.name} ${CLOSE_WAIT_LEAK}`);
    expect(closeWait?.evidence.join('\n')).not.toContain('envoy');
    const queue = report.findings.find((f) => f.check === 'listen_queue' && f.labels.port === '6379');
    expect(queue?.labels).toMatchObject({ port: '6379', container: 'redis-cache' });
    expect(queue?.evidence.join('\n')).toContain('container redis-cache 4');
  });

  it('a cgroup created between scrapes is found, and a removed one vanishes', async () => {
    const late = 'system.slice/late-arrival.service';
    const labels = full({ unit: 'late-arrival.service' });
    expect(select(parseExposition((await stableReading()).metrics), 'tcpstate_owner_sockets', labels)).toEqual([]);

    const child = await holdSockets(cgroups, ns, late, { listen: 8090, pairs: 2 });
    const found = parseExposition((await stableReading()).metrics);
    expect(ownerStates(found, labels)).toEqual({ listen: 1, established: 4 });

    await release(child);
    cgroups.rmdir(late);
    const gone = parseExposition((await stableReading()).metrics);
    expect(select(gone, 'tcpstate_owner_sockets', labels)).toEqual([]);
    expect(select(gone, 'tcpstate_owner_port_sockets', { port: '8090' })).toEqual([]);
    // The others are still named.
    expect(valueOf(gone, 'tcpstate_owner_sockets', { ...full(OWNERS[0].labels), state: 'listen' })).toBe(1);
  });

  it('a running exporter finds a cgroup made after its first scrape (a re-walk on the miss, at most every 10 s), and drops a removed one', async () => {
    const port = 19000 + (process.pid % 500);
    const server = ns.spawnNetOnly(process.execPath, [exporterBin, `--web.listen-address=127.0.0.1:${port}`, ...flags, '--log.level=warn']);
    const scrape = async (): Promise<Sample[] | undefined> => {
      const script = `fetch('http://127.0.0.1:${port}/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))`;
      const { stdout } = await execInNamespace(ns, [process.execPath, '-e', script]).catch(() => ({ stdout: '' }));
      return stdout === '' ? undefined : parseExposition(stdout);
    };
    const late = 'system.slice/late-served.service';
    const labels = full({ unit: 'late-served.service' });
    try {
      const first = await waitFor('the served exporter', scrape, { timeoutMs: 15_000 });
      expect(valueOf(first, 'tcpstate_owner_sockets', { ...full(OWNERS[0].labels), state: 'listen' })).toBe(1);
      expect(select(first, 'tcpstate_owner_sockets', labels)).toEqual([]);

      const child = await holdSockets(cgroups, ns, late, { listen: 8091, pairs: 1 });
      let seen: Sample[] = [];
      await waitFor('the new cgroup named by the running exporter', async () => {
        seen = (await scrape()) ?? [];
        return select(seen, 'tcpstate_owner_sockets', { ...labels, state: 'listen' })[0]?.value === 1 ? true : undefined;
      }, { timeoutMs: 25_000, intervalMs: 1000 });
      expect(valueOf(seen, 'tcpstate_owner_sockets', { ...labels, state: 'established' })).toBe(2);

      await release(child);
      cgroups.rmdir(late);
      await waitFor('the removed cgroup gone from the running exporter', async () => {
        seen = (await scrape()) ?? [];
        return select(seen, 'tcpstate_owner_sockets', labels).length === 0 ? true : undefined;
      }, { timeoutMs: 15_000, intervalMs: 500 });
    } finally {
      server.kill('SIGTERM');
    }
  }, 90_000);

  it('the procfs source has no cgroup ids: no owner series, and the collector says so in one log line', async () => {
    const { stdout, stderr } = await collectWithLog(ns, [...flags, '--collector.sockets.source=procfs']);
    const samples = parseExposition(stdout);
    expect(select(samples, 'tcpstate_owner_sockets')).toEqual([]);
    expect(select(samples, 'tcpstate_owner_port_sockets')).toEqual([]);
    expect(valueOf(samples, 'tcpstate_scrape_collector_success', { collector: 'cgroup' })).toBe(1);
    // The table is there (four listeners), only its owners are not: never invented.
    expect(select(samples, 'tcpstate_sockets', { state: 'listen' }).reduce((sum, s) => sum + s.value, 0)).toBe(4);
    const lines = stderr.split('\n').filter((line) => line.includes('collector=cgroup'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('procfs socket source has no cgroup ids');
  });
});
