/**
 * Connection quality from the tcpinfo collector: the worst upstream port (TCPUpstreamRetransmissionRateHigh,
 * with its RTT as evidence toward TCPUpstreamRTTHigh) and the listeners whose clients sit in loss
 * recovery (TCPListenerLossRecovery).
 *
 * The collector's series are snapshots of the ESTABLISHED sockets alive at each look, not
 * counters. The retransmitted share over the interval is the change of the two sums between the
 * looks, as the alert's deriv() sees it: a sum that falls (sockets closed) is not read as a reset.
 */
import { healthy, identity, problem, skipped, type Finding, type Remedy } from '../finding.js';
import { count, percent, perSecond } from '../format.js';
import { collectorProblem, intervalSeconds, ratesProblem, type Observation } from '../observation.js';
import { select, sum, sumBy, type Snapshot } from '../snapshot.js';
import { THRESHOLDS } from '../thresholds.js';
import { window } from './common.js';

const UPSTREAMS = identity('upstream_quality', 'TCPUpstreamRetransmissionRateHigh');
const LISTENERS = identity('listener_loss_recovery', 'TCPListenerLossRecovery');

const UPSTREAM_REMEDY: Remedy = {
  application: 'None in the application: packets to that upstream are lost. Compare `ss -tin state established \'( dport = :PORT )\'` (retrans:, lost:, rtt:) across its peer addresses: one bad backend, or the whole path? Escalate with the figures.',
  kernel: 'Local drops: larger NIC rings (ethtool -G), net.core.netdev_max_backlog; path MTU black holes: net.ipv4.tcp_mtu_probing=1.',
};

const LISTENER_REMEDY: Remedy = {
  application: 'None in the application: many clients lose packets on a path they share. Group `ss -tin state established \'( sport = :PORT )\'` sockets with retrans: or lost: by client network; check this host\'s uplink.',
  kernel: 'Local drops: larger NIC rings (ethtool -G), net.core.netdev_max_backlog; for lossy internet clients, the bbr congestion control copes better with random loss.',
};

/** One histogram bucket as the exporter reports it: cumulative count up to `le` seconds. */
export interface Bucket {
  readonly le: number;
  readonly count: number;
}

/** Prometheus's histogram_quantile on cumulative buckets: linear within the bucket, 0 as the lowest bound. */
export function histogramQuantile(q: number, buckets: readonly Bucket[]): number | undefined {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1);
  if (total === undefined || total.le !== Infinity || total.count <= 0) return undefined;
  const rank = q * total.count;
  let lower = { le: 0, count: 0 };
  for (const bucket of sorted) {
    if (bucket.count >= rank) {
      if (bucket.le === Infinity) return lower.le;
      if (bucket.count === lower.count) return bucket.le;
      return lower.le + ((bucket.le - lower.le) * (rank - lower.count)) / (bucket.count - lower.count);
    }
    lower = bucket;
  }
  return undefined;
}

function medianRtt(snapshot: Snapshot, port: string): number | undefined {
  const buckets = select(snapshot, 'tcpstate_tcpinfo_rtt_seconds_bucket', { direction: 'remote', port }).map((s) => ({
    le: s.labels.le === '+Inf' ? Infinity : Number(s.labels.le),
    count: s.value,
  }));
  return histogramQuantile(0.5, buckets);
}

/** "8.3 ms", "45 µs". */
function seconds(value: number): string {
  return value >= 0.001 ? `${Number((value * 1000).toPrecision(3))} ms` : `${Number((value * 1e6).toPrecision(3))} µs`;
}

interface Upstream {
  readonly port: string;
  readonly sockets: number;
  /** Retransmitted ÷ sent segments of the change between the looks; undefined when nothing was sent. */
  readonly share: number | undefined;
  readonly sentPerSecond: number;
  readonly median: number | undefined;
  readonly minRtt: number | undefined;
}

function upstreams(observation: Observation, previous: Snapshot, elapsed: number): Upstream[] {
  const { current } = observation;
  const change = (name: string, port: string): number => (sum(current, name, { direction: 'remote', port }) ?? 0) - (sum(previous, name, { direction: 'remote', port }) ?? 0);
  return [...sumBy(current, 'tcpstate_tcpinfo_sockets', 'port', { direction: 'remote' })].map(([port, socketsNow]) => {
    const sent = change('tcpstate_tcpinfo_sent_segments', port);
    const retransmitted = change('tcpstate_tcpinfo_retransmitted_segments', port);
    const socketsBefore = sum(previous, 'tcpstate_tcpinfo_sockets', { direction: 'remote', port }) ?? 0;
    return {
      port,
      sockets: Math.min(socketsNow, socketsBefore),
      share: sent > 0 ? Math.max(retransmitted, 0) / sent : undefined,
      sentPerSecond: sent / elapsed,
      median: medianRtt(current, port),
      minRtt: sum(current, 'tcpstate_tcpinfo_min_rtt_seconds', { direction: 'remote', port }),
    };
  });
}

function describeUpstream(u: Upstream, observation: Observation): string {
  const share = u.share === undefined ? 'nothing sent' : `${percent(u.share)} of ${perSecond(u.sentPerSecond)} segments retransmitted`;
  const rtt = u.median === undefined ? '' : `, median RTT ${seconds(u.median)}${u.minRtt === undefined ? '' : ` (min ${seconds(u.minRtt)})`}`;
  return `port ${u.port}: ${count(u.sockets)} connections, ${share} ${window(observation)}${rtt}`;
}

/** TCPUpstreamRetransmissionRateHigh per upstream port; when none is lossy, the worst one as evidence. */
export function checkUpstreamQuality(observation: Observation): Finding[] {
  const what = 'Upstream connection quality';
  const missing = collectorProblem(observation, 'tcpinfo') ?? ratesProblem(observation);
  if (missing !== undefined) return [skipped(UPSTREAMS, what, missing)];
  const { previous } = observation;
  const elapsed = intervalSeconds(observation);
  if (previous === undefined || elapsed === undefined) return [skipped(UPSTREAMS, what, 'needs two snapshots')];
  const all = upstreams(observation, previous, elapsed);
  if (all.length === 0) return [skipped(UPSTREAMS, what, 'no ESTABLISHED connection to a --collector.sockets.remote-ports port')];

  const { share: threshold, minSentPerSecond, minSockets, sustained } = THRESHOLDS.upstreamRetransmissions;
  const judged = all.filter((u) => u.share !== undefined && u.sentPerSecond > minSentPerSecond && u.sockets >= minSockets);
  const lossy = judged.filter((u) => (u.share ?? 0) > threshold).sort((a, b) => (b.share ?? 0) - (a.share ?? 0));
  const rttNote = `TCPUpstreamRTTHigh compares the median RTT with the port's median of the last day (over ${seconds(THRESHOLDS.upstreamRtt.floorSeconds)}, ${THRESHOLDS.upstreamRtt.factor} times), which one look cannot know: compare with the dashboard`;
  if (lossy.length > 0) {
    return lossy.map((u) =>
      problem(UPSTREAMS, 'warning', `${percent(u.share ?? 0)} of the segments sent to upstream port ${u.port} are retransmitted: packets are lost on that path`, {
        evidence: [`${describeUpstream(u, observation)} (alert above ${percent(threshold)} with more than ${minSentPerSecond} segments/s over ${minSockets} connections)`, rttNote],
        remedy: UPSTREAM_REMEDY,
        labels: { port: u.port, direction: 'remote' },
        sustained,
      }),
    );
  }
  // No lossy upstream: name the worst one, by retransmitted share where there was traffic to judge, else by median RTT.
  const worst = [...judged].sort((a, b) => (b.share ?? 0) - (a.share ?? 0))[0] ?? [...all].sort((a, b) => (b.median ?? 0) - (a.median ?? 0))[0]!;
  return [healthy(UPSTREAMS, `Upstreams: none retransmits above ${percent(threshold)}; the worst is ${describeUpstream(worst, observation)}`, [rttNote])];
}

interface Listener {
  readonly port: string;
  readonly recovering: number;
  readonly share: number;
}

/** Sockets in recovery or loss and their share per listening port, averaged over the looks (as the alert averages over 5m). */
function listeners(observation: Observation): Listener[] {
  const looks = [observation.current, ...(observation.previous === undefined ? [] : [observation.previous])];
  const average = (read: (look: Snapshot) => number): number => looks.reduce((total, look) => total + read(look), 0) / looks.length;
  return [...sumBy(observation.current, 'tcpstate_tcpinfo_sockets', 'port', { direction: 'local' })].map(([port]) => {
    const sockets = average((look) => sum(look, 'tcpstate_tcpinfo_sockets', { direction: 'local', port }) ?? 0);
    const recovering = average((look) => ['recovery', 'loss'].reduce((n, ca_state) => n + (sum(look, 'tcpstate_tcpinfo_ca_state_sockets', { direction: 'local', port, ca_state }) ?? 0), 0));
    return { port, recovering, share: sockets > 0 ? recovering / sockets : 0 };
  });
}

/** TCPListenerLossRecovery: many of one listener's clients in congestion state recovery or loss. */
export function checkListenerLossRecovery(observation: Observation): Finding[] {
  const what = 'Clients in loss recovery';
  const missing = collectorProblem(observation, 'tcpinfo');
  if (missing !== undefined) return [skipped(LISTENERS, what, missing)];
  const all = listeners(observation).sort((a, b) => b.share - a.share || (a.port < b.port ? -1 : 1));
  if (all.length === 0) return [skipped(LISTENERS, what, 'no ESTABLISHED connection on a watched listening port')];
  const { share: threshold, minSockets, sustained } = THRESHOLDS.listenerLossRecovery;
  const describe = (l: Listener): string => `port ${l.port}: ${count(l.recovering)} connections in recovery or loss, ${percent(l.share)} of them`;
  const lossy = all.filter((l) => l.share > threshold && l.recovering >= minSockets);
  if (lossy.length === 0) return [healthy(LISTENERS, `Clients in loss recovery: the most on ${describe(all[0]!)} (alert above ${percent(threshold)} with ${minSockets} or more)`)];
  return lossy.map((l) =>
    problem(LISTENERS, 'warning', `${percent(l.share)} of the clients of port ${l.port} are recovering from packet loss`, {
      evidence: [`${describe(l)} (alert above ${percent(threshold)} with ${minSockets} or more, on average over 5m)`],
      remedy: LISTENER_REMEDY,
      labels: { port: l.port, direction: 'local' },
      sustained,
    }),
  );
}
