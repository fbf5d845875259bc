import { healthy, identity, problem, skipped, type Finding, type Remedy } from '../finding.js';
import { count, percent, perSecond } from '../format.js';
import { collectorProblem, rate, type Observation } from '../observation.js';
import { select, sum, sysctl, type Snapshot } from '../snapshot.js';
import { THRESHOLDS } from '../thresholds.js';
import { counterEvidence, window } from './common.js';

const EPHEMERAL = identity('ephemeral_ports', 'TCPEphemeralPortExhaustion');
const TW_BUCKETS = identity('time_wait_buckets', 'TCPTimeWaitBucketsOverflow');
// No alert: the sysctl is gone from current kernels. Its runbook text lives with port exhaustion.
const TW_RECYCLE = identity('tw_recycle', undefined, 'TCPEphemeralPortExhaustion');

const EPHEMERAL_REMEDY: Remedy = {
  application: 'Reuse connections to that destination (HTTP keep-alive, connection pools, nginx upstream keepalive); let the server close first so TIME_WAIT lands there.',
  kernel: 'net.ipv4.tcp_tw_reuse=1 (outgoing connections, needs tcp_timestamps=1); widen net.ipv4.ip_local_port_range and list service ports in ip_local_reserved_ports. Never tcp_tw_recycle.',
};

const TW_BUCKETS_REMEDY: Remedy = {
  application: 'Open fewer short-lived connections: keep-alive and pools.',
  kernel: 'Raise net.ipv4.tcp_max_tw_buckets (a TIME_WAIT socket costs a few hundred bytes); tcp_tw_reuse=1 reuses ports but does not lower the count. Never tcp_tw_recycle.',
};

const TW_RECYCLE_REMEDY: Remedy = {
  application: 'None. If it was set to fight TIME_WAIT, reuse connections instead (keep-alive, pools).',
  kernel: 'sysctl -w net.ipv4.tcp_tw_recycle=0 and remove it from /etc/sysctl.conf and /etc/sysctl.d/; for outgoing port reuse use net.ipv4.tcp_tw_reuse=1.',
};

interface Destination {
  /** "10.0.0.5 port 5432", or "the busiest destination" without the per-destination series. */
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly share: number;
}

/**
 * The destinations the alert looks at: each of tcpstate_ephemeral_destination_usage_ratio (the
 * busiest --collector.sockets.ephemeral-destinations), busiest first; without that series the
 * busiest destination's unnamed ratio, as the alert's fallback does.
 */
function destinations(snapshot: Snapshot): Destination[] {
  const named = select(snapshot, 'tcpstate_ephemeral_destination_usage_ratio')
    .map(({ labels, value }) => ({
      name: `${labels.remote_address ?? '?'} port ${labels.remote_port ?? '?'}`,
      labels: { remote_address: labels.remote_address ?? '', remote_port: labels.remote_port ?? '' },
      share: value,
    }))
    .sort((a, b) => b.share - a.share || (a.name < b.name ? -1 : 1));
  if (named.length > 0) return named;
  const busiest = sum(snapshot, 'tcpstate_ephemeral_port_usage_ratio');
  return busiest === undefined ? [] : [{ name: 'the busiest destination', labels: {}, share: busiest }];
}

/** TCPEphemeralPortExhaustion: each busy destination's share of ip_local_port_range. */
export function checkEphemeralPorts(observation: Observation): Finding[] {
  const what = 'Ephemeral ports';
  const missing = collectorProblem(observation, 'sockets');
  if (missing !== undefined) return [skipped(EPHEMERAL, what, missing)];
  const { current } = observation;
  const busy = destinations(current);
  if (busy.length === 0) return [skipped(EPHEMERAL, what, 'net.ipv4.ip_local_port_range is not readable')];
  const { warningShare, criticalShare } = THRESHOLDS.ephemeralPorts;
  const limits = `warning above ${percent(warningShare)}, critical above ${percent(criticalShare)}`;
  const over = busy.filter((destination) => destination.share > warningShare);
  if (over.length === 0) return [healthy(EPHEMERAL, `Ephemeral ports: ${busy[0]!.name} uses ${percent(busy[0]!.share)} of ip_local_port_range, the most of any destination (${limits})`)];

  const low = sysctl(current, 'net.ipv4.ip_local_port_range', 0);
  const high = sysctl(current, 'net.ipv4.ip_local_port_range', 1);
  const common = [`TIME_WAIT: ${count(sum(current, 'tcpstate_sockets', { state: 'time_wait' }) ?? 0)} sockets; sockets on ephemeral local ports: ${count(sum(current, 'tcpstate_ephemeral_ports_used') ?? 0)}`];
  if (collectorProblem(observation, 'netstat') === undefined) common.push(counterEvidence(observation, 'new outgoing connections (active opens)', 'tcpstate_active_opens_total'));
  return over.map(({ name, labels, share }) => {
    const range = low !== undefined && high !== undefined ? ` ${low}-${high} (${high - low + 1} ports, about ${Math.round(share * (high - low + 1))} used towards it)` : '';
    const named = labels.remote_address !== undefined;
    const evidence = [`${named ? `destination ${name}` : 'busiest destination (remote address and port)'}: ${percent(share)} of ip_local_port_range${range} (${limits})`, ...common];
    evidence.push(
      named
        ? `its sockets: \`ss -tan '( dst = ${labels.remote_address!.includes(':') ? `[${labels.remote_address}]` : labels.remote_address} and dport = :${labels.remote_port} )'\``
        : 'find the destination: `ss -tan | awk \'NR>1 {print $5}\' | sort | uniq -c | sort -rn | head`',
    );
    const critical = share > criticalShare;
    const who = named ? `Connections to ${name} use` : 'One destination uses';
    return problem(EPHEMERAL, critical ? 'critical' : 'warning', `${who} ${percent(share)} of the ephemeral port range${critical ? ': connect() to it is about to fail with EADDRNOTAVAIL' : ''}`, {
      evidence,
      remedy: EPHEMERAL_REMEDY,
      labels,
      sustained: THRESHOLDS.ephemeralPorts.sustained,
    });
  });
}

/** TCPTimeWaitBucketsOverflow: tcp_max_tw_buckets reached, closing sockets skip TIME_WAIT. */
export function checkTimeWaitBuckets(observation: Observation): Finding[] {
  const what = 'TIME_WAIT buckets';
  const { current } = observation;
  const netstatMissing = collectorProblem(observation, 'netstat');
  const overflows = netstatMissing === undefined ? rate(observation, 'tcpstate_time_wait_overflow_total') : undefined;
  const usageMissing = collectorProblem(observation, 'sockstat') ?? collectorProblem(observation, 'sysctl');
  const buckets = usageMissing === undefined ? sum(current, 'tcpstate_sockstat_tw') : undefined;
  const limit = usageMissing === undefined ? sysctl(current, 'net.ipv4.tcp_max_tw_buckets') : undefined;
  const usageKnown = buckets !== undefined && limit !== undefined && limit > 0;
  if (netstatMissing !== undefined && !usageKnown) return [skipped(TW_BUCKETS, what, netstatMissing)];

  const { perSecond: threshold, sustained } = THRESHOLDS.timeWaitOverflow;
  const evidence: string[] = [];
  if (usageKnown) evidence.push(`TIME_WAIT buckets (sockstat tw): ${count(buckets)} of net.ipv4.tcp_max_tw_buckets ${count(limit)} (${percent(buckets / limit)})`);
  evidence.push(netstatMissing === undefined ? counterEvidence(observation, 'TCPTimeWaitOverflow (sockets that skipped TIME_WAIT)', 'tcpstate_time_wait_overflow_total', { alertAbove: perSecond(threshold) }) : `TCPTimeWaitOverflow: unknown, ${netstatMissing}`);

  if (overflows !== undefined && overflows > threshold) {
    return [problem(TW_BUCKETS, 'warning', `tcp_max_tw_buckets reached: ${perSecond(overflows)} closing sockets skip TIME_WAIT`, { evidence, remedy: TW_BUCKETS_REMEDY, sustained })];
  }
  // At the limit right now is the same event, seen from the other side, even without a rate.
  if (usageKnown && buckets >= limit) {
    return [problem(TW_BUCKETS, 'warning', `TIME_WAIT buckets at the limit: ${count(buckets)} of ${count(limit)}`, { evidence, remedy: TW_BUCKETS_REMEDY, sustained })];
  }
  const usage = usageKnown ? `${count(buckets)} of ${count(limit)} (${percent(buckets / limit)})` : 'usage unknown';
  const overflow = overflows === undefined ? 'overflow rate not measured' : `none destroyed early ${window(observation)}`;
  return [healthy(TW_BUCKETS, `TIME_WAIT buckets: ${usage}, ${overflow}`, evidence)];
}

/** net.ipv4.tcp_tw_recycle on: SYNs from clients behind NAT are dropped (removed in Linux 4.12 for it). */
export function checkTwRecycle(observation: Observation): Finding[] {
  const what = 'tcp_tw_recycle';
  const missing = collectorProblem(observation, 'sysctl');
  if (missing !== undefined) return [skipped(TW_RECYCLE, what, missing)];
  const value = sysctl(observation.current, 'net.ipv4.tcp_tw_recycle');
  if (value === undefined) return [healthy(TW_RECYCLE, 'tcp_tw_recycle: not present (removed in Linux 4.12)')];
  if (value === 0) return [healthy(TW_RECYCLE, 'tcp_tw_recycle: present (kernel older than 4.12) and off')];
  return [
    problem(TW_RECYCLE, 'critical', 'tcp_tw_recycle is on: clients behind NAT fail to connect', {
      evidence: [
        `net.ipv4.tcp_tw_recycle = ${value}`,
        'it drops SYNs whose TCP timestamp is older than the last one seen from the same address; clients behind one NAT address have unrelated clocks',
      ],
      remedy: TW_RECYCLE_REMEDY,
    }),
  ];
}
