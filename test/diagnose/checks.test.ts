import { describe, expect, it } from 'vitest';
import { checkCloseWait } from '../../src/diagnose/checks/close-wait.js';
import { checkCollectors } from '../../src/diagnose/checks/collectors.js';
import { CHECKS, runChecks } from '../../src/diagnose/checks/index.js';
import { checkHalfOpen, checkKeepalive } from '../../src/diagnose/checks/keepalive.js';
import { checkOrphans, checkTcpMemory } from '../../src/diagnose/checks/kernel-limits.js';
import { checkListenQueue } from '../../src/diagnose/checks/listen-queue.js';
import { checkSynFlood, checkSynQueueDrops, checkSyncookies } from '../../src/diagnose/checks/syn.js';
import { checkEphemeralPorts, checkTimeWaitBuckets, checkTwRecycle } from '../../src/diagnose/checks/time-wait.js';
import { checkResets, checkRetransmissions } from '../../src/diagnose/checks/traffic.js';
import { checkUpstreams } from '../../src/diagnose/checks/upstreams.js';
import type { Finding } from '../../src/diagnose/finding.js';
import { rate } from '../../src/diagnose/observation.js';
import { oneLook, twoLooks, type SnapshotBuilder } from './snapshots.js';

const PAGE = 4096;

/** The single finding a check returned. */
function only(findings: Finding[]): Finding {
  expect(findings).toHaveLength(1);
  return findings[0]!;
}

const text = (finding: Finding): string => [finding.headline, ...finding.evidence].join('\n');

describe('the healthy host', () => {
  it('seen twice: no check finds a warning or a critical problem; only the keepalive default is worth an info', () => {
    const findings = runChecks(twoLooks());
    expect(findings.filter((f) => f.severity === 'critical' || f.severity === 'warning')).toEqual([]);
    expect(findings.filter((f) => f.severity === 'info').map((f) => f.check)).toEqual(['keepalive']);
    expect(findings.filter((f) => f.severity === 'skipped')).toEqual([]);
    // Every check ran and said something.
    expect(findings.length).toBeGreaterThanOrEqual(CHECKS.length);
  });

  it('seen once: the rate-only checks are not checked (never reported as healthy)', () => {
    const findings = runChecks(oneLook());
    expect(findings.filter((f) => f.severity === 'critical' || f.severity === 'warning')).toEqual([]);
    expect(findings.filter((f) => f.severity === 'skipped').map((f) => f.check)).toEqual(['syn_queue_drops', 'retransmissions', 'resets']);
    for (const finding of findings.filter((f) => f.severity === 'skipped')) expect(finding.headline).toContain('--diagnose.interval');
  });

  it('every problem finding carries a remedy and a runbook anchor into docs/runbooks.md', () => {
    const everything = [
      ...checkSynFlood(twoLooks({ both: synRecv(1100), rates: { tcpstate_syncookies_sent_total: 5 } })),
      ...checkEphemeralPorts(oneLook((b) => b.set('tcpstate_ephemeral_destination_usage_ratio', { remote_address: '10.0.0.5', remote_port: '5432' }, 0.95))),
      ...checkCloseWait(oneLook(closeWaitOn('8082', 30))),
      ...checkTwRecycle(oneLook((b) => b.sysctl('net.ipv4.tcp_tw_recycle', 1))),
      ...checkKeepalive(oneLook()),
    ];
    for (const finding of everything) {
      expect(finding.remedy?.application).toBeTruthy();
      expect(finding.remedy?.kernel).toBeTruthy();
      expect(finding.runbook).toMatch(/^docs\/runbooks\.md#tcp[a-z]+$/);
    }
  });
});

describe('rates from two snapshots', () => {
  it('is the increase per second, and a counter that went down counts from zero (reset)', () => {
    expect(rate(twoLooks({ rates: { tcpstate_resets_sent_total: 4 }, seconds: 5 }), 'tcpstate_resets_sent_total')).toBeCloseTo(4);
    const reset = twoLooks({ seconds: 10, after: (b) => b.set('tcpstate_resets_sent_total', {}, 30) });
    expect(rate(reset, 'tcpstate_resets_sent_total')).toBeCloseTo(3);
  });

  it('is undefined with one snapshot or a counter missing from either', () => {
    expect(rate(oneLook(), 'tcpstate_resets_sent_total')).toBeUndefined();
    expect(rate(twoLooks({ before: (b) => b.without('tcpstate_resets_sent_total') }), 'tcpstate_resets_sent_total')).toBeUndefined();
  });
});

describe('collectors (TCPStateCollectorFailing)', () => {
  it('all succeeded: ok, naming them and the socket source', () => {
    const finding = only(checkCollectors(twoLooks()));
    expect(finding.severity).toBe('ok');
    expect(finding.headline).toContain('all 6 succeeded');
    expect(finding.headline).toContain('netlink');
  });

  it('a failure in either snapshot is a warning with the error and the collector label', () => {
    const now = only(checkCollectors(oneLook((b) => b.collector('sockstat', 'cannot read /proc/net/sockstat: no such file or directory'))));
    expect(now).toMatchObject({ severity: 'warning', labels: { collector: 'sockstat' }, runbook: 'docs/runbooks.md#tcpstatecollectorfailing' });
    expect(now.headline).toMatch(/^Collector sockstat failed/);
    expect(now.evidence).toEqual(['sockstat: cannot read /proc/net/sockstat: no such file or directory']);
    const earlier = only(checkCollectors(twoLooks({ before: (b) => b.collector('netstat', 'boom') })));
    expect(earlier).toMatchObject({ severity: 'warning', labels: { collector: 'netstat' }, evidence: ['netstat: boom'] });
  });

  it('several failures (a wrong --path.procfs) are one finding with one line each', () => {
    const finding = only(checkCollectors(oneLook((b) => b.collector('sockets', 'no tcp').collector('netstat', 'no snmp'))));
    expect(finding.headline).toMatch(/^2 collectors failed \(sockets, netstat\)/);
    expect(finding.evidence).toEqual(['sockets: no tcp', 'netstat: no snmp']);
    expect(finding.labels).toEqual({ collector: 'sockets,netstat' });
  });

  it('a failed or disabled collector makes the checks that need it "skipped", never ok', () => {
    const socketsFailed = twoLooks({ both: (b) => b.collector('sockets', 'netlink refused') });
    for (const check of [checkSynFlood, checkListenQueue, checkCloseWait, checkEphemeralPorts, checkHalfOpen]) {
      const finding = only(check(socketsFailed));
      expect({ check: finding.check, severity: finding.severity }).toEqual({ check: finding.check, severity: 'skipped' });
      expect(finding.headline).toContain('sockets collector failed');
    }
    const netstatOff = twoLooks({ both: (b) => b.disableCollector('netstat') });
    for (const check of [checkSynQueueDrops, checkRetransmissions, checkResets]) {
      expect(only(check(netstatOff)).headline).toContain('--collector.netstat');
    }
  });
});

/** SYN_RECV sockets on port 8443 (host total and per port), whose backlog is `backlog` (null: procfs, no backlog). */
function synRecv(count: number, backlog: number | null = 4096) {
  return (b: SnapshotBuilder) => {
    b.states({ established: 420, listen: 3, syn_recv: count }).port('8443', { listen: 1, syn_recv: count });
    if (backlog === null) b.without('tcpstate_listen_queue_max');
    else b.listenQueue('8443', 0, backlog);
  };
}

describe('SYN flood (TCPSynFlood)', () => {
  it('a port whose SYN_RECV is above 25% of its own backlog: critical, naming the port, even with one look and no cookies', () => {
    // The report's flood on a backlog of 8: 9 half-open, 0.4% of tcp_max_syn_backlog.
    const small = only(checkSynFlood(oneLook(synRecv(9, 8))));
    expect(small).toMatchObject({ severity: 'critical', alert: 'TCPSynFlood', labels: { port: '8443' }, runbook: 'docs/runbooks.md#tcpsynflood' });
    expect(text(small)).toContain('port 8443: SYN_RECV 9 = 112.5% of its backlog 8 (alert above 25%)');
    // A backlog of 4096 that never fills: 2,050 half-open, no cookies.
    const big = only(checkSynFlood(twoLooks({ both: synRecv(2050, 4096) })));
    expect(big.severity).toBe('critical');
    expect(big.headline).toContain('SYN flood on port 8443: 2050 half-open connections, 50% of its backlog');
  });

  it('near miss: exactly 25% of the port\'s backlog is quiet', () => {
    expect(only(checkSynFlood(twoLooks({ both: synRecv(128, 512) }))).severity).toBe('ok');
  });

  it('procfs (no backlog): more than 10 SYN cookies/s is critical, on the port with the most SYN_RECV', () => {
    const finding = only(checkSynFlood(twoLooks({ both: synRecv(512, null), rates: { tcpstate_syncookies_sent_total: 1500 } })));
    expect(finding).toMatchObject({ severity: 'critical', labels: { port: '8443' } });
    expect(text(finding)).toContain('SYN cookies sent 1500/s');
    expect(text(finding)).toContain('SYN_RECV by port: 8443 512');
  });

  it('near miss: 10 cookies/s (a small backlog overflowing at peaks) is not a flood', () => {
    expect(only(checkSynFlood(twoLooks({ both: synRecv(20, null), rates: { tcpstate_syncookies_sent_total: 10 } }))).severity).toBe('ok');
  });

  it('without cookies: SYN_RECV above 25% of tcp_max_syn_backlog with SYNs dropped is critical', () => {
    const drops = (b: SnapshotBuilder) => {
      synRecv(1100, null)(b);
      b.sysctl('net.ipv4.tcp_syncookies', 0);
    };
    expect(only(checkSynFlood(twoLooks({ both: drops, rates: { tcpstate_listen_drops_total: 1 } }))).severity).toBe('critical');
    expect(only(checkSynFlood(twoLooks({ both: drops, rates: { tcpstate_syn_queue_drops_total: 1 } }))).severity).toBe('critical');
  });

  it('many half-open handshakes host-wide without cookies, drops or a full port: info (slow clients), not a flood', () => {
    const finding = only(checkSynFlood(twoLooks({ both: synRecv(1100, null) })));
    expect(finding.severity).toBe('info');
    expect(finding.headline).toContain('slow clients');
  });

  it('procfs with one snapshot: the defence is unknown, a warning that says so, with the totals since boot', () => {
    const finding = only(checkSynFlood(oneLook(synRecv(1100, null))));
    expect(finding.severity).toBe('warning');
    expect(text(finding)).toContain('SYN cookies sent: 0 since boot');
    expect(text(finding)).toContain('--diagnose.interval');
  });

  it('without backlogs and without tcp_max_syn_backlog it is not checked', () => {
    expect(only(checkSynFlood(oneLook((b) => b.without('tcpstate_listen_queue_max').withoutSysctl('net.ipv4.tcp_max_syn_backlog')))).severity).toBe('skipped');
  });
});

describe('SYN queue drops (TCPSynQueueDrops)', () => {
  it('any drop per second is a warning, with the syncookies setting', () => {
    const finding = only(checkSynQueueDrops(twoLooks({ rates: { tcpstate_syn_queue_drops_total: 0.5 }, both: (b) => b.sysctl('net.ipv4.tcp_syncookies', 0) })));
    expect(finding).toMatchObject({ severity: 'warning', runbook: 'docs/runbooks.md#tcpsynqueuedrops' });
    expect(text(finding)).toContain('TCPReqQFullDrop: 0.5/s in the last 10 s');
    expect(text(finding)).toContain('net.ipv4.tcp_syncookies = 0');
  });

  it('no drops between the looks: ok, even with drops since boot', () => {
    expect(only(checkSynQueueDrops(twoLooks({ both: (b) => b.set('tcpstate_syn_queue_drops_total', {}, 5000) }))).severity).toBe('ok');
  });

  it('a kernel without the counter: not checked', () => {
    expect(only(checkSynQueueDrops(twoLooks({ both: (b) => b.without('tcpstate_syn_queue_drops_total') }))).headline).toContain('does not report');
  });
});

describe('SYN cookies (TCPSyncookiesDisabled)', () => {
  it('tcp_syncookies = 0 is info, with the fix', () => {
    const finding = only(checkSyncookies(oneLook((b) => b.sysctl('net.ipv4.tcp_syncookies', 0))));
    expect(finding).toMatchObject({ severity: 'info', alert: 'TCPSyncookiesDisabled' });
    expect(finding.remedy?.kernel).toContain('net.ipv4.tcp_syncookies=1');
  });

  it('1 and 2 are on', () => {
    expect(only(checkSyncookies(oneLook())).severity).toBe('ok');
    expect(only(checkSyncookies(oneLook((b) => b.sysctl('net.ipv4.tcp_syncookies', 2)))).severity).toBe('ok');
  });
});

describe('accept queues (TCPListenQueueOverflow)', () => {
  it('a queue above 80% of its backlog: a warning for that port', () => {
    const findings = checkListenQueue(twoLooks({ both: (b) => b.listenQueue('8080', 420, 511), rates: { tcpstate_listen_overflows_total: 2 } }));
    const finding = only(findings);
    expect(finding).toMatchObject({ severity: 'warning', labels: { port: '8080' } });
    expect(finding.headline).toContain('Accept queue of port 8080 is 82.2% full (420 of 511)');
    expect(text(finding)).toContain('ListenOverflows (handshakes dropped on a full accept queue): 2/s');
  });

  it('near miss: exactly 80% is quiet', () => {
    expect(only(checkListenQueue(twoLooks({ both: (b) => b.listenQueue('8080', 400, 500) }))).severity).toBe('ok');
  });

  it('overflows with no queue near its limit: one host-level warning, without a port', () => {
    const finding = only(checkListenQueue(twoLooks({ rates: { tcpstate_listen_overflows_total: 3 } })));
    expect(finding.severity).toBe('warning');
    expect(finding.labels).toEqual({});
    expect(text(finding)).toContain('fills and drains between looks');
    expect(text(finding)).toContain('443 3');
  });

  it('with the procfs source the backlog is unknown, and the evidence says where to look', () => {
    const procfs = (b: SnapshotBuilder) => b.without('tcpstate_listen_queue_max').source('procfs');
    expect(text(only(checkListenQueue(twoLooks({ both: procfs, rates: { tcpstate_listen_overflows_total: 3 } }))))).toContain('ss -ltn');
    expect(only(checkListenQueue(twoLooks({ both: procfs }))).headline).toContain('backlogs unknown');
  });

  it('overflows since boot alone are not a problem now', () => {
    expect(only(checkListenQueue(twoLooks())).severity).toBe('ok');
  });
});

/** `count` CLOSE_WAIT sockets on a server port, held by leaky-worker. */
function closeWaitOn(port: string, count: number) {
  return (b: SnapshotBuilder) =>
    b
      .states({ established: 420, listen: 4, close_wait: 3 + count })
      .port(port, { listen: 1, close_wait: count })
      .process('leaky-worker', { listen: 1, close_wait: count });
}

describe('CLOSE_WAIT (TCPCloseWaitLeak)', () => {
  it('a port at or above the floor of 20: a warning naming the port and the owning process', () => {
    const finding = only(checkCloseWait(oneLook(closeWaitOn('8082', 20))));
    expect(finding).toMatchObject({ severity: 'warning', labels: { port: '8082', process: 'leaky-worker' }, runbook: 'docs/runbooks.md#tcpclosewaitleak' });
    expect(finding.headline).toContain('port 8082: 20 sockets');
    expect(text(finding)).toContain('held by (CLOSE_WAIT on all ports): leaky-worker 20, nginx 3');
    expect(finding.sustained).toContain('10m');
  });

  it('near miss: 19 stays quiet', () => {
    const finding = only(checkCloseWait(oneLook(closeWaitOn('8082', 19))));
    expect(finding.severity).toBe('ok');
    expect(finding.headline).toContain('19 on port 8082');
  });

  it('two looks: not shrinking is a warning, shrinking is only info (the alert wants it not draining)', () => {
    const steady = only(checkCloseWait(twoLooks({ both: closeWaitOn('8082', 30) })));
    expect(steady.severity).toBe('warning');
    expect(text(steady)).toContain('30 10 s ago: not draining');
    const draining = only(checkCloseWait(twoLooks({ before: closeWaitOn('8082', 40), after: closeWaitOn('8082', 30) })));
    expect(draining.severity).toBe('info');
    expect(draining.headline).toContain('draining: 40 -> 30');
  });

  it('without the process collector, or without root, the evidence says why the owner is unknown', () => {
    const off = only(checkCloseWait(oneLook((b) => closeWaitOn('8082', 25)(b).disableCollector('process'))));
    expect(off.severity).toBe('warning');
    expect(off.labels).toEqual({ port: '8082' });
    expect(text(off)).toContain('owning processes unknown: the process collector is disabled');
    const notRoot = only(checkCloseWait(oneLook((b) => closeWaitOn('8082', 25)(b).without('tcpstate_process_sockets').process('unknown', { close_wait: 28 }).set('tcpstate_process_unreadable', {}, 140))));
    expect(notRoot.labels).toEqual({ port: '8082' });
    expect(text(notRoot)).toContain('140 processes could not be inspected (not root, or exited meanwhile)');
  });

  it('a leaker folded into process="other" is explained, and not named as the owner', () => {
    const finding = only(checkCloseWait(oneLook((b) => closeWaitOn('8082', 25)(b).without('tcpstate_process_sockets').process('other', { close_wait: 25 }).process('nginx', { established: 400, close_wait: 3 }))));
    expect(finding.labels).toEqual({ port: '8082' });
    expect(text(finding)).toContain('held by (CLOSE_WAIT on all ports): other 25, nginx 3');
    expect(text(finding)).toContain('raise it to name them');
  });

  it('ports beyond the cap are named as such', () => {
    expect(only(checkCloseWait(oneLook(closeWaitOn('other', 25)))).headline).toContain('--collector.sockets.max-ports');
  });

  it('CLOSE_WAIT outside the listening ports is the client side: a warning of its own', () => {
    const finding = only(checkCloseWait(oneLook((b) => b.states({ established: 420, listen: 4, close_wait: 3 + 25 }).set('tcpstate_remote_port_sockets', { port: '5432', state: 'close_wait' }, 25))));
    expect(finding).toMatchObject({ severity: 'warning', labels: { side: 'client', process: 'nginx' } });
    expect(text(finding)).toContain('25 sockets in CLOSE_WAIT outside the listening ports');
    expect(text(finding)).toContain('by remote port: 5432 25');
    expect(finding.remedy?.application).toContain('pool');
  });
});

describe('ephemeral ports (TCPEphemeralPortExhaustion)', () => {
  const towards = (remote_address: string, remote_port: string, share: number) => (b: SnapshotBuilder) =>
    b.set('tcpstate_ephemeral_destination_usage_ratio', { remote_address, remote_port }, share).set('tcpstate_ephemeral_port_usage_ratio', {}, share);
  const usage = (share: number) => (b: SnapshotBuilder) => b.set('tcpstate_ephemeral_port_usage_ratio', {}, share);

  it('a destination above 70%: warning naming it, with the range and its size', () => {
    const finding = only(checkEphemeralPorts(oneLook(towards('10.0.0.5', '5432', 0.75))));
    expect(finding).toMatchObject({ severity: 'warning', runbook: 'docs/runbooks.md#tcpephemeralportexhaustion', labels: { remote_address: '10.0.0.5', remote_port: '5432' } });
    expect(finding.headline).toContain('Connections to 10.0.0.5 port 5432 use 75%');
    expect(text(finding)).toContain('75% of ip_local_port_range 32768-60999 (28232 ports, about 21174 used towards it)');
    expect(text(finding)).toContain("ss -tan '( dst = 10.0.0.5 and dport = :5432 )'");
  });

  it('above 90%: critical, saying connect() is about to fail; an IPv6 destination in brackets for ss', () => {
    const finding = only(checkEphemeralPorts(oneLook(towards('2001:db8::7', '443', 0.95))));
    expect(finding).toMatchObject({ severity: 'critical', labels: { remote_address: '2001:db8::7', remote_port: '443' } });
    expect(finding.headline).toContain('EADDRNOTAVAIL');
    expect(text(finding)).toContain('dst = [2001:db8::7]');
  });

  it('two busy destinations: one finding each', () => {
    const findings = checkEphemeralPorts(oneLook((b) => towards('10.0.0.5', '5432', 0.95)(b).set('tcpstate_ephemeral_destination_usage_ratio', { remote_address: '10.0.0.6', remote_port: '80' }, 0.72)));
    expect(findings.map((f) => [f.severity, f.labels.remote_address])).toEqual([['critical', '10.0.0.5'], ['warning', '10.0.0.6']]);
  });

  it('without the per-destination series, the busiest destination\'s ratio stands in, unnamed', () => {
    const finding = only(checkEphemeralPorts(oneLook(usage(0.75))));
    expect(finding).toMatchObject({ severity: 'warning', labels: {} });
    expect(finding.headline).toContain('One destination uses 75%');
  });

  it('near miss: exactly 70% is quiet, and the healthy line names the busiest destination', () => {
    const finding = only(checkEphemeralPorts(oneLook(towards('10.0.0.5', '5432', 0.7))));
    expect(finding.severity).toBe('ok');
    expect(finding.headline).toContain('10.0.0.5 port 5432 uses 70%');
  });

  it('without the ratio (no ip_local_port_range) it is not checked', () => {
    expect(only(checkEphemeralPorts(oneLook((b) => b.without('tcpstate_ephemeral_port_usage_ratio')))).severity).toBe('skipped');
  });
});

describe('TIME_WAIT buckets (TCPTimeWaitBucketsOverflow)', () => {
  it('sockets skipping TIME_WAIT between the looks: warning', () => {
    const finding = only(checkTimeWaitBuckets(twoLooks({ rates: { tcpstate_time_wait_overflow_total: 3 } })));
    expect(finding.severity).toBe('warning');
    expect(finding.headline).toContain('3/s closing sockets skip TIME_WAIT');
  });

  it('at the limit right now: warning even from one look', () => {
    const finding = only(checkTimeWaitBuckets(oneLook((b) => b.set('tcpstate_sockstat_tw', {}, 262144))));
    expect(finding.severity).toBe('warning');
    expect(finding.headline).toContain('262144 of 262144');
  });

  it('near miss: one bucket below the limit, no overflows, is quiet; one look says the rate was not measured', () => {
    expect(only(checkTimeWaitBuckets(twoLooks({ both: (b) => b.set('tcpstate_sockstat_tw', {}, 262143) }))).severity).toBe('ok');
    expect(only(checkTimeWaitBuckets(oneLook())).headline).toContain('overflow rate not measured');
  });
});

describe('tcp_tw_recycle', () => {
  it('on: critical (breaks clients behind NAT)', () => {
    const finding = only(checkTwRecycle(oneLook((b) => b.sysctl('net.ipv4.tcp_tw_recycle', 1))));
    expect(finding).toMatchObject({ severity: 'critical', alert: undefined });
    expect(finding.headline).toContain('NAT');
    expect(finding.remedy?.kernel).toContain('net.ipv4.tcp_tw_recycle=0');
  });

  it('absent (Linux 4.12 and later) or 0: ok', () => {
    expect(only(checkTwRecycle(oneLook())).headline).toContain('not present');
    expect(only(checkTwRecycle(oneLook((b) => b.sysctl('net.ipv4.tcp_tw_recycle', 0)))).headline).toContain('off');
  });

  it('without the sysctl collector it is not checked rather than "not present"', () => {
    expect(only(checkTwRecycle(oneLook((b) => b.disableCollector('sysctl')))).severity).toBe('skipped');
  });
});

describe('orphans (TCPOrphanSocketsHigh)', () => {
  it('above 50% of tcp_max_orphans: warning, with the closing states', () => {
    const finding = only(checkOrphans(oneLook((b) => b.set('tcpstate_sockstat_orphan', {}, 140_000))));
    expect(finding.severity).toBe('warning');
    expect(text(finding)).toContain('140000 orphans of net.ipv4.tcp_max_orphans 262144 = 53.4%');
    expect(text(finding)).toContain('fin_wait2 4');
  });

  it('near miss: exactly 50% is quiet', () => {
    expect(only(checkOrphans(oneLook((b) => b.set('tcpstate_sockstat_orphan', {}, 131_072)))).severity).toBe('ok');
  });

  it('outside the host network namespace tcp_max_orphans is not visible: not checked, saying why', () => {
    const finding = only(checkOrphans(oneLook((b) => b.withoutSysctl('net.ipv4.tcp_max_orphans'))));
    expect(finding.severity).toBe('skipped');
    expect(finding.headline).toContain('host-wide');
  });
});

describe('TCP memory (TCPMemoryPressure)', () => {
  const pages = (n: number) => (b: SnapshotBuilder) => b.set('tcpstate_sockstat_memory_bytes', {}, n * PAGE);

  it('above the pressure threshold: warning', () => {
    const finding = only(checkTcpMemory(oneLook(pages(260_000))));
    expect(finding.severity).toBe('warning');
    expect(finding.headline).toContain('pressure threshold (104%)');
  });

  it('above 90% of high: critical', () => {
    expect(only(checkTcpMemory(oneLook(pages(340_000)))).severity).toBe('critical');
  });

  it('near miss: exactly at the pressure threshold is quiet', () => {
    expect(only(checkTcpMemory(oneLook(pages(250_000)))).severity).toBe('ok');
  });

  it('without tcp_mem it is not checked', () => {
    expect(only(checkTcpMemory(oneLook((b) => b.without('tcpstate_memory_limit_bytes')))).severity).toBe('skipped');
  });
});

describe('retransmissions (TCPRetransmissionRateHigh)', () => {
  const traffic = (sent: number, retransmitted: number) => twoLooks({ rates: { tcpstate_segments_sent_total: sent, tcpstate_retransmitted_segments_total: retransmitted } });

  it('above 3% with traffic: warning', () => {
    const finding = only(checkRetransmissions(traffic(1000, 40)));
    expect(finding.severity).toBe('warning');
    expect(text(finding)).toContain('40/s retransmitted of 1000/s segments sent = 4%');
  });

  it('near misses: exactly 3%, or a high share with too little traffic', () => {
    expect(only(checkRetransmissions(traffic(1000, 30))).severity).toBe('ok');
    const quiet = only(checkRetransmissions(traffic(100, 20)));
    expect(quiet.severity).toBe('ok');
    expect(quiet.headline).toContain('too little traffic');
  });
});

describe('resets (TCPResetStorm)', () => {
  it('above 10 RST/s: warning, with abort reasons and the baseline the alert also wants', () => {
    const observation = twoLooks({ rates: { tcpstate_resets_sent_total: 25 }, after: (b) => b.set('tcpstate_aborts_total', { reason: 'close' }, 100 + 80) });
    const finding = only(checkResets(observation));
    expect(finding.severity).toBe('warning');
    expect(finding.headline).toContain('25/s');
    expect(text(finding)).toContain('kernel aborts by reason: close 8/s');
    expect(text(finding)).toContain('median of the last day');
  });

  it('near miss: exactly 10/s is quiet', () => {
    expect(only(checkResets(twoLooks({ rates: { tcpstate_resets_sent_total: 10 } }))).severity).toBe('ok');
  });
});

describe('half-open connections (TCPHalfOpenConnections)', () => {
  it('more than 100 sockets with unanswered probes: warning, with the keepalive settings', () => {
    const finding = only(checkHalfOpen(oneLook((b) => b.set('tcpstate_keepalive_probing_sockets', {}, 101))));
    expect(finding.severity).toBe('warning');
    expect(text(finding)).toContain('net.ipv4.tcp_keepalive_time 7200 s');
  });

  it('near miss: 100 is quiet', () => {
    expect(only(checkHalfOpen(oneLook((b) => b.set('tcpstate_keepalive_probing_sockets', {}, 100)))).severity).toBe('ok');
  });
});

describe('keepalive coverage and detection time (info)', () => {
  it('the kernel default (2h 11m) is info, with the share of connections that have keepalive', () => {
    const finding = only(checkKeepalive(oneLook()));
    expect(finding.severity).toBe('info');
    expect(finding.headline).toContain('2h 11m 15s');
    expect(text(finding)).toContain('keepalive armed on 40 of 430 established connections (9.3%)');
  });

  it('settings that notice a dead peer within 10 minutes are ok', () => {
    const tuned = (b: SnapshotBuilder) => b.set('tcpstate_keepalive_detection_seconds', {}, 450).sysctl('net.ipv4.tcp_keepalive_time', 300).sysctl('net.ipv4.tcp_keepalive_intvl', 30).sysctl('net.ipv4.tcp_keepalive_probes', 5);
    const finding = only(checkKeepalive(oneLook(tuned)));
    expect(finding.severity).toBe('ok');
    expect(finding.headline).toContain('7m 30s');
  });
});

describe('the worst upstream (tcpinfo, direction="remote")', () => {
  const lossy = (b: SnapshotBuilder, retransmitted: number, sent: number) =>
    b.upstream('6379', { rtts: [0.002, 0.004, 0.03], minRtt: 0.0002, retransmitted, sent, recovery: 1, loss: 1 });

  it('healthy: names the worst upstream, its share, median RTT and floor, as ok', () => {
    const finding = only(checkUpstreams(twoLooks({ after: (b) => b.upstream('5432', { rtts: [0.0003, 0.0004, 0.0004, 0.0006], minRtt: 0.00012, retransmitted: 2, sent: 210_000 }) })));
    expect(finding.severity).toBe('ok');
    expect(finding.labels).toEqual({ port: '5432', direction: 'remote' });
    expect(finding.headline).toBe('Worst upstream: port 5432: 4 connections, 0.01% of 10000 segments retransmitted in the last 10 s, median RTT ≤ 0.5 ms (floor 0.12 ms)');
  });

  it('a lossy upstream: a warning naming it, judged on the segments between the two looks', () => {
    const finding = only(checkUpstreams(twoLooks({ before: (b) => lossy(b, 100, 10_000), after: (b) => lossy(b, 400, 15_000) })));
    expect(finding.severity).toBe('warning');
    expect(finding.labels).toEqual({ port: '6379', direction: 'remote' });
    expect(finding.headline).toBe('Upstream port 6379 retransmits 6% of its segments: packets are lost on that path');
    expect(text(finding)).toContain('port 6379: 3 connections, 6% of 5000 segments retransmitted in the last 10 s, median RTT ≤ 5 ms (floor 0.2 ms), 2 in loss recovery');
    expect(text(finding)).toContain('port 5432: 4 connections');
  });

  it('near miss: the same share on too few segments is not a warning', () => {
    const finding = only(checkUpstreams(twoLooks({ before: (b) => lossy(b, 100, 10_000), after: (b) => lossy(b, 130, 10_500) })));
    expect(finding.severity).toBe('ok');
    expect(finding.headline).toContain('port 6379');
  });

  it('connections closed between the looks (the sums fell): judged on the live connections\' lifetime', () => {
    const finding = only(checkUpstreams(twoLooks({ before: (b) => lossy(b, 900, 20_000), after: (b) => lossy(b, 500, 10_000) })));
    expect(finding.severity).toBe('warning');
    expect(text(finding)).toContain('5% of 10000 segments retransmitted over the live connections\' lifetime');
  });

  it('seen once: the lifetime figures', () => {
    expect(only(checkUpstreams(oneLook((b) => lossy(b, 500, 10_000)))).severity).toBe('warning');
  });

  it('not checked without the collector, or without a connection to a watched upstream port', () => {
    expect(only(checkUpstreams(oneLook((b) => b.disableCollector('tcpinfo')))).headline).toBe('Upstream connection quality: not checked, the tcpinfo collector is disabled (enable it with --collector.tcpinfo)');
    expect(only(checkUpstreams(oneLook((b) => b.source('procfs')))).headline).toBe('Upstream connection quality: not checked, tcp_info needs the netlink socket source, and this run reads procfs');
    const none = only(checkUpstreams(oneLook((b) => b.without('tcpstate_tcpinfo_sockets'))));
    expect(none.severity).toBe('skipped');
    expect(none.headline).toContain('--collector.sockets.remote-ports');
  });
});
