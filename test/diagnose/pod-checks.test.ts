import { describe, expect, it } from 'vitest';
import { runChecks } from '../../src/diagnose/checks/index.js';
import { checkPodCloseWait, checkPodListenQueue, checkPodSynFlood, namespaceName } from '../../src/diagnose/checks/pods.js';
import type { Finding } from '../../src/diagnose/finding.js';
import { splitByNamespace } from '../../src/diagnose/snapshot.js';
import { oneLook, twoLooks, type SnapshotBuilder } from './snapshots.js';

/** The owner labels the netns collector puts on every series of a namespace ("" where none). */
const WEB = { netns: 'cni-0a1b', namespace: 'shop', pod: 'web-0', uid: 'u-web-0', container: '' };
const CART = { netns: 'cni-0c2d', namespace: 'shop', pod: 'cart-0', uid: 'u-cart-0', container: '' };
const REDIS = { netns: '4026532301', namespace: '', pod: '', uid: '', container: 'redis-cache' };
const BLUE = { netns: 'blue', namespace: '', pod: '', uid: '', container: '' };
const OTHER = { netns: 'other', namespace: '', pod: '', uid: '', container: '' };

const POD_COUNTERS = ['tcpstate_listen_overflows_total', 'tcpstate_listen_drops_total', 'tcpstate_syncookies_sent_total', 'tcpstate_syn_queue_drops_total'];

/** A namespace as the netns collector reports it: counters at `counter`, tables with what is given. */
function namespace(b: SnapshotBuilder, owner: Record<string, string>, tables: { closeWait?: Record<string, number>; queues?: Record<string, [number, number]>; synRecv?: number } = {}, counter = 0): SnapshotBuilder {
  for (const name of POD_COUNTERS) b.set(name, owner, counter);
  for (const family of ['ipv4', 'ipv6']) b.set('tcpstate_netns_sockets', { ...owner, family, state: 'syn_recv' }, family === 'ipv4' ? (tables.synRecv ?? 0) : 0);
  for (const [port, sockets] of Object.entries(tables.closeWait ?? { other: 0 })) b.set('tcpstate_netns_close_wait_sockets', { ...owner, port }, sockets);
  for (const [port, [length, max]] of Object.entries(tables.queues ?? {})) {
    b.set('tcpstate_netns_listen_queue_length', { ...owner, port }, length);
    b.set('tcpstate_netns_listen_queue_max', { ...owner, port }, max);
  }
  b.set('tcpstate_netns_table_age_seconds', owner, 0);
  return b;
}

const problems = (findings: Finding[]): Finding[] => findings.filter((f) => f.severity !== 'ok' && f.severity !== 'skipped');

describe('the split of a snapshot', () => {
  it('puts series with a netns label aside, so the host checks never add a pod\'s counters to the host\'s', () => {
    const { metrics, namespaced } = splitByNamespace([
      ['tcpstate_resets_sent_total', [{ labels: {}, value: 5 }, { labels: WEB, value: 7 }]],
      ['tcpstate_netns_namespaces', [{ labels: { state: 'reported' }, value: 2 }]],
    ]);
    expect(metrics.get('tcpstate_resets_sent_total')).toEqual([{ labels: {}, value: 5 }]);
    expect(namespaced.get('tcpstate_resets_sent_total')).toEqual([{ labels: WEB, value: 7 }]);
    expect(metrics.get('tcpstate_netns_namespaces')).toHaveLength(1);
    expect(namespaced.has('tcpstate_netns_namespaces')).toBe(false);
  });
});

describe('pod checks', () => {
  it('are skipped, saying why, when the netns collector is off', () => {
    const findings = runChecks(oneLook((b) => b.disableCollector('netns'))).filter((f) => f.check.startsWith('pod_'));
    expect(findings.map((f) => [f.check, f.severity])).toEqual([['pod_syn_flood', 'skipped'], ['pod_listen_queue', 'skipped'], ['pod_close_wait', 'skipped']]);
    for (const finding of findings) expect(finding.headline).toContain('the netns collector is disabled (enable it with --collector.netns)');
  });

  it('say so when the host has no other namespace', () => {
    const look = oneLook();
    expect(checkPodCloseWait(look)).toMatchObject([{ severity: 'ok', headline: 'CLOSE_WAIT in pods: no other network namespace on this host' }]);
  });

  it('CLOSE_WAIT: names the leaking pod and port, not its neighbour below the floor, nor netns="other"', () => {
    const look = twoLooks({
      both: (b) => {
        b.collector('netns');
        namespace(b, CART, { closeWait: { '8080': 19 } });
        namespace(b, OTHER, {}, 5);
      },
      before: (b) => namespace(b, WEB, { closeWait: { '8080': 24 } }),
      after: (b) => namespace(b, WEB, { closeWait: { '8080': 25 } }),
    });
    const findings = checkPodCloseWait(look);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      check: 'pod_close_wait',
      alert: 'TCPPodCloseWaitLeak',
      severity: 'warning',
      headline: 'CLOSE_WAIT piling up in pod shop/web-0 on port 8080: 25 sockets the application never closed',
      labels: { netns: 'cni-0a1b', namespace: 'shop', pod: 'web-0', uid: 'u-web-0', port: '8080' },
      runbook: 'docs/runbooks.md#tcppodclosewaitleak',
    });
    expect(findings[0]!.evidence).toEqual([
      '25 sockets in CLOSE_WAIT on port 8080 of pod shop/web-0 (alert floor 20); netns cni-0a1b, uid u-web-0 (joins kube_pod_info{uid})',
      '24 10 s ago: not draining',
      "look inside: `nsenter --net=/run/netns/cni-0a1b ss -tnp state close-wait '( sport = :8080 )'` (or `nsenter -n -t PID ss -tnp state close-wait '( sport = :8080 )'`)",
    ]);
    // The host's own CLOSE_WAIT check saw none of it.
    expect(runChecks(look).find((f) => f.check === 'close_wait')?.severity).toBe('ok');
  });

  it('CLOSE_WAIT: a container, a bare namespace, and a draining population (info)', () => {
    const look = twoLooks({
      both: (b) => {
        b.collector('netns');
        namespace(b, REDIS, { closeWait: { '6379': 30 } });
      },
      before: (b) => namespace(b, BLUE, { closeWait: { '7000': 50 } }),
      after: (b) => namespace(b, BLUE, { closeWait: { '7000': 40 } }),
    });
    const findings = checkPodCloseWait(look);
    expect(findings.map((f) => [f.severity, f.headline])).toEqual([
      ['info', 'CLOSE_WAIT in network namespace blue on port 7000 is draining: 50 -> 40'],
      ['warning', 'CLOSE_WAIT piling up in container redis-cache on port 6379: 30 sockets the application never closed'],
    ]);
    expect(findings[1]!.labels).toEqual({ netns: '4026532301', container: 'redis-cache', port: '6379' });
    expect(findings[1]!.evidence.at(-1)).toContain('lsns -t net -o NS,PID | grep 4026532301');
  });

  it('accept queues: a full queue names its port; overflows without a full queue name the namespace', () => {
    const look = twoLooks({
      before: (b) => {
        b.collector('netns');
        namespace(b, WEB, { queues: { '9001': [4, 4], '9000': [0, 128] } });
        namespace(b, REDIS, {});
        namespace(b, CART, { queues: { '8080': [100, 128] } });
      },
      after: (b) => {
        b.collector('netns');
        namespace(b, WEB, { queues: { '9001': [4, 4], '9000': [0, 128] } });
        namespace(b, REDIS, {}, 20); // 2 overflows a second, no backlog known (procfs table)
        namespace(b, CART, { queues: { '8080': [100, 128] } });
      },
    });
    const findings = problems(checkPodListenQueue(look));
    expect(findings.map((f) => f.headline)).toEqual([
      'Accept queue of port 9001 in pod shop/web-0 is 100% full (4 of 4): the application does not accept() fast enough',
      'Accept queues overflowing in container redis-cache: 2/s completed handshakes dropped',
    ]);
    expect(findings[0]!.labels).toMatchObject({ pod: 'web-0', port: '9001' });
    // The host's check does not add redis's overflows to the host's.
    expect(runChecks(look).find((f) => f.check === 'listen_queue')?.severity).toBe('ok');
  });

  it('SYN floods: SYN_RECV against the largest backlog, or cookies from the pod\'s own stack; the host check stays quiet', () => {
    const look = twoLooks({
      before: (b) => {
        b.collector('netns');
        namespace(b, WEB, { synRecv: 400, queues: { '8080': [0, 1024], '9090': [0, 16] } });
        namespace(b, CART, { synRecv: 200, queues: { '8080': [0, 1024] } });
        namespace(b, REDIS, { synRecv: 9 });
      },
      after: (b) => {
        b.collector('netns');
        namespace(b, WEB, { synRecv: 400, queues: { '8080': [0, 1024], '9090': [0, 16] } });
        namespace(b, CART, { synRecv: 200, queues: { '8080': [0, 1024] } });
        namespace(b, REDIS, { synRecv: 9 }, 200); // 20 cookies a second
      },
    });
    const findings = problems(checkPodSynFlood(look));
    expect(findings.map((f) => [f.severity, f.headline])).toEqual([
      ['critical', 'SYN flood in pod shop/web-0: 400 half-open connections'],
      ['critical', 'SYN flood in container redis-cache: 9 half-open connections'],
    ]);
    expect(findings[1]!.evidence[1]).toBe('its SYN cookies: 20/s in the last 10 s (alert above 10/s); it is dropping SYNs');
    expect(runChecks(look).find((f) => f.check === 'syn_flood')?.severity).toBe('ok');
  });

  it('say when the per-scrape budget left tables unread, so that "none" is not taken for "all"', () => {
    const look = oneLook((b) => {
      namespace(b, CART, { closeWait: { '8080': 3 } });
      b.set('tcpstate_netns_tables', { outcome: 'skipped' }, 12);
    });
    expect(checkPodCloseWait(look)[0]!.headline).toBe(
      'CLOSE_WAIT in pods: 1 namespaces (12 tables not read in this look: raise --collector.netns.table-budget to see them all), no port at the floor of 20 (most: 3 on port 8080 of pod shop/cart-0)',
    );
  });

  it('names a namespace as a person would', () => {
    expect(namespaceName(WEB)).toBe('pod shop/web-0');
    expect(namespaceName(REDIS)).toBe('container redis-cache');
    expect(namespaceName(BLUE)).toBe('network namespace blue');
  });
});
