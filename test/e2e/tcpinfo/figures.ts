/**
 * The tcpinfo collector's series of one {port, direction}, set against what `ss -tino` printed for
 * the same sockets: the assertions both impairment tests share.
 */
import { expect } from 'vitest';
import { IDLE_BUCKETS_SECONDS, RTT_BUCKETS_SECONDS } from '../../../src/netlink/rtt-histogram.js';
import { select, valueOf, type Sample } from '../../helpers/exposition.js';
import { ssRttMs, ssTotalRetrans } from '../../helpers/impairment.js';
import { ssNumber, type SsSocket } from '../../helpers/ss-info.js';

export type Direction = 'local' | 'remote';

export function socketsOf(ss: readonly SsSocket[], port: number, direction: Direction): SsSocket[] {
  return ss.filter((s) => (direction === 'local' ? s.local : s.remote).endsWith(`:${port}`));
}

const sum = (list: readonly SsSocket[], f: (s: SsSocket) => number): number => list.reduce((a, s) => a + f(s), 0);
/** ss prints tcpi_rtt / 1000 with %g: six significant digits, exact µs below 1000 s. */
const rttMicros = (s: SsSocket): number => Math.round(ssRttMs(s) * 1000);
const rttvarMs = (s: SsSocket): number => Number(s.fields.get('rtt')!.split('/')[1]);

/** The bucket counts (cumulative, by le) the exporter should show for these sockets' RTTs. */
export function rttBuckets(list: readonly SsSocket[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const bound of RTT_BUCKETS_SECONDS) out[String(bound)] = list.filter((s) => rttMicros(s) <= Math.round(bound * 1e6)).length;
  out['+Inf'] = list.length;
  return out;
}

export function exportedBuckets(samples: readonly Sample[], name: string, labels: Record<string, string>): Record<string, number> {
  return Object.fromEntries(select(samples, `${name}_bucket`, labels).map((s) => [s.labels.le!, s.value]));
}

/**
 * Every figure of one series against ss. `before` and `after` are ss views taken just before and
 * just after the scrape of frozen traffic: they agree on everything but the idle times, which
 * the scrape's must lie between.
 */
export function expectSeriesMatchesSs(samples: readonly Sample[], before: readonly SsSocket[], after: readonly SsSocket[], port: number, direction: Direction): void {
  const labels = { port: String(port), direction };
  const what = `port ${port} ${direction}`;
  const list = socketsOf(after, port, direction);
  const earlier = socketsOf(before, port, direction);
  expect(list.length, what).toBeGreaterThan(0);
  expect(earlier.map((s) => [s.local, s.remote, s.fields.get('rtt'), ssTotalRetrans(s)]), `${what}: the traffic was frozen`).toEqual(
    list.map((s) => [s.local, s.remote, s.fields.get('rtt'), ssTotalRetrans(s)]),
  );

  expect(valueOf(samples, 'tcpstate_tcpinfo_sockets', labels), what).toBe(list.length);
  expect(exportedBuckets(samples, 'tcpstate_tcpinfo_rtt_seconds', labels), `${what} RTT buckets`).toEqual(rttBuckets(list));
  expect(valueOf(samples, 'tcpstate_tcpinfo_rtt_seconds_count', labels), what).toBe(list.length);
  expect(valueOf(samples, 'tcpstate_tcpinfo_rtt_seconds_sum', labels), `${what} RTT sum`).toBeCloseTo(sum(list, rttMicros) / 1e6, 6);
  expect(valueOf(samples, 'tcpstate_tcpinfo_min_rtt_seconds', labels) * 1000, `${what} min RTT`).toBeCloseTo(Math.min(...list.map((s) => ssNumber(s, 'minrtt')!)), 3);
  expect(valueOf(samples, 'tcpstate_tcpinfo_rtt_variance_seconds', labels) * 1000, `${what} RTT variance`).toBeCloseTo(sum(list, rttvarMs) / list.length, 3);
  expect(valueOf(samples, 'tcpstate_tcpinfo_retransmitted_segments', labels), `${what} retransmitted`).toBe(sum(list, ssTotalRetrans));
  expect(valueOf(samples, 'tcpstate_tcpinfo_sent_segments', labels), `${what} sent`).toBe(sum(list, (s) => ssNumber(s, 'segs_out') ?? 0));
  expect(valueOf(samples, 'tcpstate_tcpinfo_lost_segments', labels), `${what} lost`).toBe(sum(list, (s) => ssNumber(s, 'lost') ?? 0));
  expect(valueOf(samples, 'tcpstate_tcpinfo_retransmitting_sockets', labels), `${what} retransmitting`).toBe(list.filter((s) => s.timer?.name === 'on' && s.timer.count > 0).length);
  const caStates = select(samples, 'tcpstate_tcpinfo_ca_state_sockets', labels);
  expect(caStates.map((s) => s.labels.ca_state).sort(), what).toEqual(['cwr', 'disorder', 'loss', 'open', 'recovery']);
  expect(caStates.reduce((a, s) => a + s.value, 0), what).toBe(list.length);
  // ss prints whole milliseconds of rwnd_limited (and leaves out 0).
  const rwndMs = valueOf(samples, 'tcpstate_tcpinfo_rwnd_limited_seconds', labels) * 1000;
  expect(Math.abs(rwndMs - sum(list, (s) => ssNumber(s, 'rwnd_limited') ?? 0)), `${what} rwnd_limited`).toBeLessThanOrEqual(list.length);
  expect(valueOf(samples, 'tcpstate_tcpinfo_sndbuf_limited_seconds', labels), what).toBeGreaterThanOrEqual(0);

  const idleCount = valueOf(samples, 'tcpstate_tcpinfo_idle_seconds_count', labels);
  expect(idleCount, what).toBe(list.length);
  expect(select(samples, 'tcpstate_tcpinfo_idle_seconds_bucket', labels).map((s) => s.labels.le)).toEqual([...IDLE_BUCKETS_SECONDS.map(String), '+Inf']);
  const idleMs = valueOf(samples, 'tcpstate_tcpinfo_idle_seconds_sum', labels) * 1000;
  const lastrcv = (view: readonly SsSocket[]): number => sum(view, (s) => ssNumber(s, 'lastrcv') ?? 0);
  expect(idleMs, `${what} idle sum`).toBeGreaterThanOrEqual(lastrcv(earlier) - 0.5);
  expect(idleMs, `${what} idle sum`).toBeLessThanOrEqual(lastrcv(list) + 0.5);
}
