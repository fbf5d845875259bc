/**
 * The worst upstream: of the --collector.sockets.remote-ports ports the tcpinfo collector
 * watches (direction="remote"), the one whose connections retransmit the most, with its RTT
 * against its floor and its sockets in loss recovery. A warning past the host-wide
 * retransmission alert's share, on enough segments to mean something; otherwise the worst one is
 * named as ok, so a person sees where the host's upstreams stand.
 */
import { healthy, identity, problem, skipped, type Finding, type Remedy } from '../finding.js';
import { count, percent } from '../format.js';
import { collectorProblem, intervalSeconds, type Observation } from '../observation.js';
import { select, sumBy, type Snapshot } from '../snapshot.js';
import { THRESHOLDS } from '../thresholds.js';

// No alert of its own yet: the runbook of the host-wide retransmission alert tells how to confirm loss with ss -tin.
const UPSTREAM = identity('upstream', undefined, 'TCPRetransmissionRateHigh');
const WHAT = 'Upstream connection quality';

/** Segments a share is judged on, at least: fewer, and one retransmission is several percent. */
const MIN_SEGMENTS = 1000;

const REMEDY: Remedy = {
  application: 'Packets are lost on the path to this upstream, or it is overloaded: confirm with `ss -tin dport = :<port>` (retrans:, lost:, rtt:), compare with its other clients, and escalate to whoever runs the path or the upstream; spread the pool over healthy replicas meanwhile.',
  kernel: 'Local drops first: `ip -s link`, `ethtool -S` (NIC rings, ethtool -G), net.core.netdev_max_backlog; path MTU black holes: net.ipv4.tcp_mtu_probing=1.',
};

interface Upstream {
  readonly port: string;
  readonly sockets: number;
  /** Retransmitted ÷ sent: between the two looks when both sums grew, else over the live connections' lifetime. */
  readonly share: number;
  readonly segments: number;
  readonly windowed: boolean;
  readonly troubled: number;
  /** Upper bound of the bucket holding the median smoothed RTT, seconds. */
  readonly medianRtt: number | undefined;
  readonly minRtt: number | undefined;
}

function one(snapshot: Snapshot | undefined, name: string, port: string): number | undefined {
  if (snapshot === undefined) return undefined;
  return select(snapshot, name, { port, direction: 'remote' })[0]?.value;
}

/** The `le` of the bucket where half the sockets are at or below: a median to the bucket's resolution. */
function medianBucket(snapshot: Snapshot, port: string): number | undefined {
  const buckets = select(snapshot, 'tcpstate_tcpinfo_rtt_seconds_bucket', { port, direction: 'remote' })
    .map((s) => ({ le: Number(s.labels.le), value: s.value }))
    .sort((a, b) => a.le - b.le);
  const total = buckets[buckets.length - 1]?.value ?? 0;
  return total === 0 ? undefined : buckets.find((b) => b.value >= total / 2)?.le;
}

function upstream(observation: Observation, port: string, sockets: number): Upstream {
  const { current, previous } = observation;
  const retransmitted = one(current, 'tcpstate_tcpinfo_retransmitted_segments', port) ?? 0;
  const sent = one(current, 'tcpstate_tcpinfo_sent_segments', port) ?? 0;
  const retransmittedBefore = one(previous, 'tcpstate_tcpinfo_retransmitted_segments', port);
  const sentBefore = one(previous, 'tcpstate_tcpinfo_sent_segments', port);
  // Both sums are over the connections alive at each look: when one fell, connections closed, and
  // only the live connections' lifetime figures are comparable.
  const windowed = retransmittedBefore !== undefined && sentBefore !== undefined && sent > sentBefore && retransmitted >= retransmittedBefore;
  const segments = windowed ? sent - sentBefore : sent;
  const share = segments > 0 ? (windowed ? retransmitted - retransmittedBefore : retransmitted) / segments : 0;
  const troubled = ['recovery', 'loss'].reduce((total, ca) => total + (select(current, 'tcpstate_tcpinfo_ca_state_sockets', { port, direction: 'remote', ca_state: ca })[0]?.value ?? 0), 0);
  return { port, sockets, share, segments, windowed, troubled, medianRtt: medianBucket(current, port), minRtt: one(current, 'tcpstate_tcpinfo_min_rtt_seconds', port) };
}

const ms = (seconds: number): string => `${Number((seconds * 1000).toPrecision(3))} ms`;

function describe(u: Upstream, observation: Observation): string {
  const seconds = intervalSeconds(observation);
  const over = u.windowed && seconds !== undefined ? `in the last ${Number(seconds.toFixed(1))} s` : 'over the live connections\' lifetime';
  const rtt = u.medianRtt === undefined ? '' : `, median RTT ≤ ${ms(u.medianRtt)}${u.minRtt === undefined ? '' : ` (floor ${ms(u.minRtt)})`}`;
  const recovery = u.troubled > 0 ? `, ${count(u.troubled)} in loss recovery` : '';
  return `port ${u.port}: ${count(u.sockets)} connections, ${percent(u.share)} of ${count(u.segments)} segments retransmitted ${over}${rtt}${recovery}`;
}

export function checkUpstreams(observation: Observation): Finding[] {
  if (observation.current.source !== 'netlink') return [skipped(UPSTREAM, WHAT, `tcp_info needs the netlink socket source, and this run reads ${observation.current.source}`)];
  const missing = collectorProblem(observation, 'tcpinfo');
  if (missing !== undefined) return [skipped(UPSTREAM, WHAT, missing)];
  const ports = [...sumBy(observation.current, 'tcpstate_tcpinfo_sockets', 'port', { direction: 'remote' })].filter(([, sockets]) => sockets > 0);
  if (ports.length === 0) return [skipped(UPSTREAM, WHAT, 'no connection to a watched upstream port (name them with --collector.sockets.remote-ports, e.g. 5432,6379)')];
  const ranked = ports
    .map(([port, sockets]) => upstream(observation, port, sockets))
    .sort((a, b) => b.share - a.share || b.troubled - a.troubled || a.port.localeCompare(b.port));
  const worst = ranked[0]!;
  const evidence = ranked.slice(0, 5).map((u) => describe(u, observation));
  const { share: threshold } = THRESHOLDS.retransmissions;
  const labels = { port: worst.port, direction: 'remote' };
  if (worst.share > threshold && worst.segments >= MIN_SEGMENTS) {
    return [problem(UPSTREAM, 'warning', `Upstream port ${worst.port} retransmits ${percent(worst.share)} of its segments: packets are lost on that path`, { evidence: [...evidence, `judged above ${percent(threshold)} on at least ${MIN_SEGMENTS} segments`], remedy: REMEDY, labels })];
  }
  return [{ ...healthy(UPSTREAM, `Worst upstream: ${describe(worst, observation)}`, evidence.slice(1)), labels }];
}
