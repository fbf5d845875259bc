import { healthy, identity, problem, skipped, type Finding, type Remedy } from '../finding.js';
import { count, duration, percent } from '../format.js';
import { collectorProblem, type Observation } from '../observation.js';
import { sum, type Snapshot } from '../snapshot.js';
import { THRESHOLDS } from '../thresholds.js';
import { counterEvidence, keepaliveSettings } from './common.js';

const HALF_OPEN = identity('half_open', 'TCPHalfOpenConnections');
// No alert: a configuration fact. Its runbook text is in the half-open section.
const KEEPALIVE = identity('keepalive', undefined, 'TCPHalfOpenConnections');

const KEEPALIVE_REMEDY: Remedy = {
  application: 'Send keepalives more often than the idle timeout of your NAT gateways, load balancers and firewalls (TCP_KEEPIDLE/TCP_KEEPINTVL/TCP_KEEPCNT or the driver/pool option), or use application heartbeats (HTTP/2 PING, database pings).',
  kernel: 'Host-wide, e.g. net.ipv4.tcp_keepalive_time=300, tcp_keepalive_intvl=30, tcp_keepalive_probes=5 (detects in 7.5 minutes; more probes on idle connections).',
};

/** "keepalive armed on 3 of 12 established connections (25.0%)". */
function coverage(snapshot: Snapshot): string | undefined {
  const established = sum(snapshot, 'tcpstate_sockets', { state: 'established' });
  const armed = sum(snapshot, 'tcpstate_keepalive_sockets', { state: 'established' });
  if (established === undefined || armed === undefined) return undefined;
  if (established === 0) return 'no established connections';
  return `keepalive armed on ${count(armed)} of ${count(established)} established connections (${percent(armed / established)}); the others notice a vanished peer only through application timeouts`;
}

/** TCPHalfOpenConnections: many sockets with unanswered keepalive probes. */
export function checkHalfOpen(observation: Observation): Finding[] {
  const what = 'Half-open connections';
  const missing = collectorProblem(observation, 'sockets');
  if (missing !== undefined) return [skipped(HALF_OPEN, what, missing)];
  const probing = sum(observation.current, 'tcpstate_keepalive_probing_sockets');
  if (probing === undefined) return [skipped(HALF_OPEN, what, 'the sockets collector reported no keepalive timers')];
  const { probingSockets, sustained } = THRESHOLDS.halfOpen;
  const level = `${count(probing)} sockets with unanswered keepalive probes (alert above ${probingSockets})`;
  if (probing <= probingSockets) return [healthy(HALF_OPEN, `Half-open connections: ${level}`)];
  const evidence = [level];
  const settings = keepaliveSettings(observation.current);
  if (settings !== undefined) evidence.push(settings);
  if (collectorProblem(observation, 'netstat') === undefined) evidence.push(counterEvidence(observation, 'keepalive probes sent', 'tcpstate_keepalive_probes_total'));
  evidence.push('group them by peer: `ss -tno state established | grep -E \'timer:\\(keepalive,[^,]+,[1-9]\'`');
  return [problem(HALF_OPEN, 'warning', `${count(probing)} connections with unanswered keepalive probes: peers vanished without FIN or RST`, { evidence, remedy: KEEPALIVE_REMEDY, sustained })];
}

/** No alert (info): how long a vanished peer goes unnoticed, and how many connections would notice at all. */
export function checkKeepalive(observation: Observation): Finding[] {
  const what = 'Keepalive';
  const missing = collectorProblem(observation, 'sysctl');
  if (missing !== undefined) return [skipped(KEEPALIVE, what, missing)];
  const { current } = observation;
  const detection = sum(current, 'tcpstate_keepalive_detection_seconds');
  if (detection === undefined) return [skipped(KEEPALIVE, what, 'the keepalive sysctls are not readable')];
  const evidence: string[] = [];
  const settings = keepaliveSettings(current);
  if (settings !== undefined) evidence.push(`${settings}: ${duration(detection)} worst case`);
  const covered = collectorProblem(observation, 'sockets') === undefined ? coverage(current) : undefined;
  if (covered !== undefined) evidence.push(covered);
  const { detectionSeconds } = THRESHOLDS.keepalive;
  if (detection <= detectionSeconds) return [healthy(KEEPALIVE, `Keepalive notices a vanished peer within ${duration(detection)}`, evidence)];
  evidence.push(`middleboxes often drop idle connections after 4 to 10 minutes; this report mentions detection times above ${duration(detectionSeconds)}`);
  return [problem(KEEPALIVE, 'info', `A vanished peer goes unnoticed for up to ${duration(detection)} on keepalive connections`, { evidence, remedy: KEEPALIVE_REMEDY })];
}
