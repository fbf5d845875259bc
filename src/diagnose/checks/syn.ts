import { healthy, identity, problem, skipped, type Finding, type Remedy } from '../finding.js';
import { count, perSecond, percent } from '../format.js';
import { collectorProblem, rate, ratesProblem, type Observation } from '../observation.js';
import { sum, sysctl } from '../snapshot.js';
import { THRESHOLDS } from '../thresholds.js';
import { busiestPorts, counterEvidence, describePorts, window } from './common.js';

const SYN_FLOOD = identity('syn_flood', 'TCPSynFlood');
const SYN_QUEUE_DROPS = identity('syn_queue_drops', 'TCPSynQueueDrops');
const SYNCOOKIES = identity('syncookies', 'TCPSyncookiesDisabled');

const SYN_FLOOD_REMEDY: Remedy = {
  application: 'Raise the flooded service\'s listen() backlog (nginx "listen 443 backlog=4096;", Java ServerSocket(port, backlog)); mitigate upstream if you can (provider DDoS protection, an nftables/iptables SYN proxy).',
  kernel: 'Keep net.ipv4.tcp_syncookies=1; raise net.core.somaxconn and net.ipv4.tcp_max_syn_backlog; net.ipv4.tcp_synack_retries=2 frees the slots of unanswered SYNs after ~7 s instead of ~63 s.',
};

const SLOW_HANDSHAKE_REMEDY: Remedy = {
  application: 'Nothing yet: without cookies or drops this looks like slow or lossy clients, not a flood; see the retransmission check.',
  kernel: 'If it grows: net.ipv4.tcp_synack_retries=2 frees slots sooner (lossy clients get fewer chances to finish the handshake).',
};

const SYN_QUEUE_DROPS_REMEDY: Remedy = {
  application: 'Raise the listener\'s listen() backlog to match its connection rate.',
  kernel: 'net.ipv4.tcp_syncookies=1 (persist it in /etc/sysctl.d/); raise net.core.somaxconn and net.ipv4.tcp_max_syn_backlog together.',
};

const SYNCOOKIES_REMEDY: Remedy = {
  application: 'None. If it is deliberate (the host sits behind a SYN proxy), ignore this.',
  kernel: 'sysctl -w net.ipv4.tcp_syncookies=1 and persist it in /etc/sysctl.d/ (in a container it is per network namespace: Kubernetes securityContext.sysctls).',
};

/** The counters that show the kernel defending a SYN queue (TCPSynFlood's second half). */
const DEFENCE_COUNTERS: ReadonlyArray<readonly [label: string, metric: string]> = [
  ['SYN cookies sent', 'tcpstate_syncookies_sent_total'],
  ['SYN queue drops', 'tcpstate_syn_queue_drops_total'],
  ['listen drops', 'tcpstate_listen_drops_total'],
];

/** TCPSynFlood: SYN_RECV piling up toward tcp_max_syn_backlog while the kernel sends cookies or drops SYNs. */
export function checkSynFlood(observation: Observation): Finding[] {
  const missing = collectorProblem(observation, 'sockets') ?? collectorProblem(observation, 'sysctl');
  if (missing !== undefined) return [skipped(SYN_FLOOD, 'SYN flood', missing)];
  const { current } = observation;
  const synRecv = sum(current, 'tcpstate_sockets', { state: 'syn_recv' });
  const backlog = sysctl(current, 'net.ipv4.tcp_max_syn_backlog');
  if (synRecv === undefined || backlog === undefined || backlog <= 0) return [skipped(SYN_FLOOD, 'SYN flood', 'net.ipv4.tcp_max_syn_backlog is not readable')];

  const { backlogShare, sustained } = THRESHOLDS.synFlood;
  const share = synRecv / backlog;
  const level = `SYN_RECV ${count(synRecv)} = ${percent(share)} of net.ipv4.tcp_max_syn_backlog ${backlog} (alert above ${percent(backlogShare)})`;
  if (share <= backlogShare) return [healthy(SYN_FLOOD, `No SYN flood: ${level}`)];

  const evidence = [level];
  const ports = busiestPorts(current, 'syn_recv');
  if (ports.length > 0) evidence.push(`SYN_RECV by port: ${describePorts(ports)}`);
  // The busiest port locates the flood for machines, as the port label would on an alert.
  const labels: Record<string, string> = ports[0] === undefined ? {} : { port: ports[0].port };

  const noDefenceData = ratesProblem(observation) ?? collectorProblem(observation, 'netstat');
  if (noDefenceData !== undefined) {
    evidence.push(...DEFENCE_COUNTERS.map(([label, metric]) => counterEvidence(observation, label, metric)));
    evidence.push(`whether the kernel is defending itself now is unknown: ${noDefenceData}`);
    return [problem(SYN_FLOOD, 'warning', `SYN_RECV at ${percent(share)} of tcp_max_syn_backlog: possible SYN flood`, { evidence, remedy: SYN_FLOOD_REMEDY, labels, sustained })];
  }
  const defence = DEFENCE_COUNTERS.map(([label, metric]) => ({ label, perSec: rate(observation, metric) }));
  evidence.push(
    `${window(observation)}: ${defence.map(({ label, perSec }) => `${label} ${perSec === undefined ? 'n/a' : perSecond(perSec)}`).join(', ')}`,
  );
  if (defence.some(({ perSec }) => perSec !== undefined && perSec > 0)) {
    return [problem(SYN_FLOOD, 'critical', `SYN flood: SYN_RECV at ${percent(share)} of tcp_max_syn_backlog and the kernel is sending cookies or dropping SYNs`, { evidence, remedy: SYN_FLOOD_REMEDY, labels, sustained })];
  }
  return [problem(SYN_FLOOD, 'info', `Many half-open handshakes (${percent(share)} of tcp_max_syn_backlog) but no SYN cookies or drops: slow clients rather than a flood`, { evidence, remedy: SLOW_HANDSHAKE_REMEDY, labels, sustained })];
}

/** TCPSynQueueDrops: SYNs dropped because a SYN queue was full and no cookie could be sent. */
export function checkSynQueueDrops(observation: Observation): Finding[] {
  const what = 'SYN queue drops';
  const missing = collectorProblem(observation, 'netstat');
  if (missing !== undefined) return [skipped(SYN_QUEUE_DROPS, what, missing)];
  const sinceBoot = sum(observation.current, 'tcpstate_syn_queue_drops_total');
  if (sinceBoot === undefined) return [skipped(SYN_QUEUE_DROPS, what, 'this kernel does not report TcpExt TCPReqQFullDrop')];
  const noRates = ratesProblem(observation);
  if (noRates !== undefined) return [skipped(SYN_QUEUE_DROPS, what, noRates, [`${count(sinceBoot)} SYNs dropped on a full SYN queue since boot`])];
  const drops = rate(observation, 'tcpstate_syn_queue_drops_total');
  if (drops === undefined) return [skipped(SYN_QUEUE_DROPS, what, 'the counter is missing from the first snapshot')];

  const { perSecond: threshold, sustained } = THRESHOLDS.synQueueDrops;
  if (drops <= threshold) return [healthy(SYN_QUEUE_DROPS, `No SYNs dropped on a full SYN queue ${window(observation)}`)];
  const cookies = sysctl(observation.current, 'net.ipv4.tcp_syncookies');
  const evidence = [`TCPReqQFullDrop: ${perSecond(drops)} ${window(observation)} (alert above ${perSecond(threshold)})`];
  evidence.push(cookies === undefined ? 'net.ipv4.tcp_syncookies: not readable' : `net.ipv4.tcp_syncookies = ${cookies}`);
  const ports = busiestPorts(observation.current, 'syn_recv');
  if (ports.length > 0) evidence.push(`SYN_RECV by port: ${describePorts(ports)}`);
  return [problem(SYN_QUEUE_DROPS, 'warning', `Dropping ${perSecond(drops)} SYNs on a full SYN queue: clients see connect timeouts`, { evidence, remedy: SYN_QUEUE_DROPS_REMEDY, sustained })];
}

/** TCPSyncookiesDisabled (info): a SYN flood, or any burst bigger than a backlog, will turn real clients away. */
export function checkSyncookies(observation: Observation): Finding[] {
  const what = 'SYN cookies';
  const missing = collectorProblem(observation, 'sysctl');
  if (missing !== undefined) return [skipped(SYNCOOKIES, what, missing)];
  const value = sysctl(observation.current, 'net.ipv4.tcp_syncookies');
  if (value === undefined) return [skipped(SYNCOOKIES, what, 'net.ipv4.tcp_syncookies is not readable')];
  if (value !== THRESHOLDS.syncookies.disabledValue) return [healthy(SYNCOOKIES, `SYN cookies are on (net.ipv4.tcp_syncookies = ${value})`)];
  const evidence = [`net.ipv4.tcp_syncookies = ${value}: a full SYN queue drops new SYNs instead of answering with a cookie`];
  if (collectorProblem(observation, 'netstat') === undefined) evidence.push(counterEvidence(observation, 'SYNs dropped on a full SYN queue', 'tcpstate_syn_queue_drops_total'));
  return [problem(SYNCOOKIES, 'info', 'SYN cookies are disabled: a SYN flood will lock out real clients', { evidence, remedy: SYNCOOKIES_REMEDY, sustained: THRESHOLDS.syncookies.sustained })];
}
