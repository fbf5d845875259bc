import { healthy, identity, problem, skipped, type Finding, type Remedy } from '../finding.js';
import { count, percent, perSecond } from '../format.js';
import { collectorProblem, rate, ratesProblem, type Observation } from '../observation.js';
import { sum } from '../snapshot.js';
import { THRESHOLDS } from '../thresholds.js';
import { window } from './common.js';

const RETRANSMISSIONS = identity('retransmissions', 'TCPRetransmissionRateHigh');
const RESETS = identity('resets', 'TCPResetStorm');

const RETRANSMISSIONS_REMEDY: Remedy = {
  application: 'None in the application: packets are lost on the path. Find the peers with `ss -tin` (retrans:) and escalate with the list; check local drops with `ip -s link` and `ethtool -S`.',
  kernel: 'Local drops: larger NIC rings (ethtool -G), net.core.netdev_max_backlog, nf_conntrack_max; path MTU black holes: net.ipv4.tcp_mtu_probing=1.',
};

const RESETS_REMEDY: Remedy = {
  application: 'A service down or crash-looping while clients keep connecting: bring it back or take it out of the load balancer; read request bodies before closing (TCPAbortOnClose); drain connections before stopping instances.',
  kernel: 'Usually none; net.ipv4.tcp_abort_on_overflow=1 turns accept-queue overflows into resets, keep it 0.',
};

const ABORT_REASONS = ['data', 'close', 'memory', 'timeout', 'linger', 'failed'] as const;

/** TCPRetransmissionRateHigh: a high share of segments sent again, with traffic enough to mean something. */
export function checkRetransmissions(observation: Observation): Finding[] {
  const what = 'Retransmissions';
  const missing = collectorProblem(observation, 'netstat') ?? ratesProblem(observation);
  if (missing !== undefined) return [skipped(RETRANSMISSIONS, what, missing)];
  const sent = rate(observation, 'tcpstate_segments_sent_total');
  const retransmitted = rate(observation, 'tcpstate_retransmitted_segments_total');
  if (sent === undefined || retransmitted === undefined) return [skipped(RETRANSMISSIONS, what, 'the segment counters are missing from a snapshot')];
  const { share: shareThreshold, minSentPerSecond, sustained } = THRESHOLDS.retransmissions;
  const share = sent > 0 ? retransmitted / sent : 0;
  const level = `${perSecond(retransmitted)} retransmitted of ${perSecond(sent)} segments sent = ${percent(share)} ${window(observation)}`;
  if (sent <= minSentPerSecond) return [healthy(RETRANSMISSIONS, `Retransmissions: ${percent(share)}, too little traffic to judge (${perSecond(sent)} sent; the alert needs more than ${minSentPerSecond}/s)`)];
  if (share <= shareThreshold) return [healthy(RETRANSMISSIONS, `Retransmissions: ${percent(share)} of segments sent (alert above ${percent(shareThreshold)})`)];
  const evidence = [`${level} (alert above ${percent(shareThreshold)} with more than ${minSentPerSecond} segments/s)`];
  const retransmitting = sum(observation.current, 'tcpstate_retransmitting_sockets');
  if (retransmitting !== undefined) evidence.push(`${count(retransmitting)} sockets are retransmitting right now`);
  return [problem(RETRANSMISSIONS, 'warning', `${percent(share)} of segments are retransmitted: packets are lost on the path`, { evidence, remedy: RETRANSMISSIONS_REMEDY, sustained })];
}

/**
 * TCPResetStorm: resets sent above the alert's floor. The alert also compares with the host's
 * median of the last day, which one look cannot know; the evidence says so.
 */
export function checkResets(observation: Observation): Finding[] {
  const what = 'Resets';
  const missing = collectorProblem(observation, 'netstat') ?? ratesProblem(observation);
  if (missing !== undefined) return [skipped(RESETS, what, missing)];
  const resets = rate(observation, 'tcpstate_resets_sent_total');
  if (resets === undefined) return [skipped(RESETS, what, 'the reset counter is missing from a snapshot')];
  const { floorPerSecond, baselineFactor, sustained } = THRESHOLDS.resets;
  if (resets <= floorPerSecond) return [healthy(RESETS, `Resets: ${perSecond(resets)} RSTs sent ${window(observation)} (alert floor ${perSecond(floorPerSecond)})`)];

  const evidence = [`${perSecond(resets)} RSTs sent ${window(observation)} (alert floor ${perSecond(floorPerSecond)})`];
  const established = rate(observation, 'tcpstate_established_resets_total');
  if (established !== undefined) evidence.push(`established connections reset: ${perSecond(established)}`);
  const aborts = ABORT_REASONS.map((reason) => ({ reason, perSec: rate(observation, 'tcpstate_aborts_total', { reason }) ?? 0 })).filter(({ perSec }) => perSec > 0);
  if (aborts.length > 0) evidence.push(`kernel aborts by reason: ${aborts.map(({ reason, perSec }) => `${reason} ${perSecond(perSec)}`).join(', ')}`);
  evidence.push(`the alert also needs more than ${baselineFactor} times this host's median of the last day, which one look cannot know: compare with the dashboard`);
  return [problem(RESETS, 'warning', `Sending ${perSecond(resets)} TCP resets: something refuses or aborts connections`, { evidence, remedy: RESETS_REMEDY, sustained })];
}
