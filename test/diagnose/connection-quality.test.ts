import { describe, expect, it } from 'vitest';
import { checkListenerLossRecovery, checkUpstreamQuality, histogramQuantile } from '../../src/diagnose/checks/connection-quality.js';
import type { Finding } from '../../src/diagnose/finding.js';
import { oneLook, twoLooks, type SnapshotBuilder, type TcpinfoSpec } from './snapshots.js';

const text = (finding: Finding): string => [finding.headline, ...finding.evidence].join('\n');
const severities = (findings: Finding[]): string[] => findings.map((f) => `${f.labels.port ?? '-'} ${f.severity}`);

/** The usual RTT of a database pool: median 1.86 ms. */
const USUAL_RTT = { 0.001: 2, 0.0025: 16, 0.005: 20 };

/** An upstream seen twice, 10 s apart: `sentPerSecond` segments/s, `share` of them retransmitted. */
function upstream(port: string, sockets: number, sentPerSecond: number, share: number, extra: Partial<TcpinfoSpec> = {}) {
  const base: TcpinfoSpec = { sockets, sent: 1_000_000, retransmitted: 1_000, rtt: USUAL_RTT, minRtt: 0.0008, ...extra };
  return {
    before: (b: SnapshotBuilder) => b.tcpinfo('remote', port, base),
    after: (b: SnapshotBuilder) => b.tcpinfo('remote', port, { ...base, sent: base.sent + sentPerSecond * 10, retransmitted: base.retransmitted + share * sentPerSecond * 10 }),
  };
}

function looks(...ports: ReturnType<typeof upstream>[]) {
  return twoLooks({ before: (b) => ports.forEach((p) => p.before(b)), after: (b) => ports.forEach((p) => p.after(b)) });
}

describe('histogramQuantile (as Prometheus interpolates)', () => {
  it('interpolates within the bucket that holds the rank, from 0 below the first bound', () => {
    const buckets = [
      { le: 0.001, count: 2 },
      { le: 0.0025, count: 16 },
      { le: 0.005, count: 20 },
      { le: Infinity, count: 20 },
    ];
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.001 + (8 / 14) * 0.0015, 12);
    expect(histogramQuantile(0.05, buckets)).toBeCloseTo(0.0005, 12);
  });

  it('answers the highest finite bound when the rank is in +Inf, and nothing without sockets or +Inf', () => {
    expect(histogramQuantile(0.5, [{ le: 2, count: 1 }, { le: Infinity, count: 10 }])).toBe(2);
    expect(histogramQuantile(0.5, [{ le: 2, count: 0 }, { le: Infinity, count: 0 }])).toBeUndefined();
    expect(histogramQuantile(0.5, [{ le: 2, count: 3 }])).toBeUndefined();
  });
});

describe('upstreams (TCPUpstreamRetransmissionRateHigh)', () => {
  it('a lossy upstream among clean ones: a warning naming its port, with the RTT as evidence', () => {
    const findings = checkUpstreamQuality(looks(upstream('5432', 20, 200, 0.05), upstream('6379', 20, 200, 0.001)));
    expect(severities(findings)).toEqual(['5432 warning']);
    const finding = findings[0]!;
    expect(finding).toMatchObject({ alert: 'TCPUpstreamRetransmissionRateHigh', runbook: 'docs/runbooks.md#tcpupstreamretransmissionratehigh', labels: { port: '5432', direction: 'remote' } });
    expect(text(finding)).toContain('port 5432: 20 connections, 5% of 200/s segments retransmitted in the last 10 s, median RTT 1.86 ms (min 800 µs)');
    expect(finding.remedy?.application).toContain('dport = :PORT');
  });

  it('near misses stay ok, and the healthy finding names the worst upstream', () => {
    const share = checkUpstreamQuality(looks(upstream('5432', 20, 200, 0.019), upstream('6379', 20, 200, 0.001)));
    expect(severities(share)).toEqual(['- ok']);
    expect(share[0]!.headline).toContain('the worst is port 5432: 20 connections, 1.9% of 200/s');
    expect(severities(checkUpstreamQuality(looks(upstream('5432', 20, 40, 0.1))))).toEqual(['- ok']); // under 50 segments/s
    expect(severities(checkUpstreamQuality(looks(upstream('5432', 4, 200, 0.05))))).toEqual(['- ok']); // 4 connections
  });

  it('sockets that close make both sums fall: never read as retransmissions', () => {
    const closing = twoLooks({
      before: (b) => b.tcpinfo('remote', '5432', { sockets: 20, sent: 5_000_000, retransmitted: 30_000, rtt: USUAL_RTT, minRtt: 0.0008 }),
      after: (b) => b.tcpinfo('remote', '5432', { sockets: 19, sent: 4_800_000, retransmitted: 20_000, rtt: USUAL_RTT, minRtt: 0.0008 }),
    });
    const [finding] = checkUpstreamQuality(closing);
    expect(finding!.severity).toBe('ok');
    expect(finding!.headline).toContain('port 5432: 19 connections, nothing sent'); // the sums fell: no share at all
  });

  it('is not checked without the collector, with one look, or without any upstream connection', () => {
    expect(checkUpstreamQuality(twoLooks({ both: (b) => b.disableCollector('tcpinfo') }))[0]!.headline).toContain('--collector.tcpinfo');
    expect(checkUpstreamQuality(oneLook())[0]).toMatchObject({ severity: 'skipped', headline: expect.stringContaining('--diagnose.interval') });
    const none = twoLooks({ both: (b) => b.without('tcpstate_tcpinfo_sockets', (l) => l.direction === 'remote') });
    expect(checkUpstreamQuality(none)[0]).toMatchObject({ severity: 'skipped', headline: expect.stringContaining('--collector.sockets.remote-ports') });
  });
});

describe('listeners (TCPListenerLossRecovery)', () => {
  const clients = (port: string, sockets: number, recovery: number, loss: number) => (b: SnapshotBuilder) =>
    b.tcpinfo('local', port, { sockets, sent: 0, retransmitted: 0, rtt: { 0.05: sockets }, minRtt: 0.01, recovery, loss });

  it('a tenth of a listener\'s clients recovering from loss: a warning naming the port', () => {
    const findings = checkListenerLossRecovery(twoLooks({ both: clients('8443', 400, 40, 30) }));
    expect(severities(findings)).toEqual(['8443 warning']);
    expect(findings[0]).toMatchObject({ alert: 'TCPListenerLossRecovery', labels: { port: '8443', direction: 'local' } });
    expect(text(findings[0]!)).toContain('port 8443: 70 connections in recovery or loss, 17.5% of them');
  });

  it('near misses: 9.5% of the clients, or 9 connections; a burst in one look is averaged with the other', () => {
    expect(severities(checkListenerLossRecovery(twoLooks({ both: clients('8443', 400, 25, 13) })))).toEqual(['- ok']);
    expect(severities(checkListenerLossRecovery(twoLooks({ both: clients('8443', 50, 6, 3) })))).toEqual(['- ok']);
    expect(severities(checkListenerLossRecovery(twoLooks({ before: clients('8443', 400, 4, 2), after: clients('8443', 400, 60, 10) })))).toEqual(['- ok']);
  });

  it('the healthy host: ok, naming the listener with the most clients in recovery; works from one look', () => {
    const [finding] = checkListenerLossRecovery(oneLook());
    expect(finding).toMatchObject({ severity: 'ok', headline: expect.stringContaining('port 443: 6 connections in recovery or loss, 1.5% of them') });
    expect(checkListenerLossRecovery(oneLook((b) => b.disableCollector('tcpinfo')))[0]!.severity).toBe('skipped');
  });
});
