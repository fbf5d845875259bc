import { healthy, identity, problem, skipped, type Finding, type Remedy } from '../finding.js';
import { count, perSecond, percent } from '../format.js';
import { collectorProblem, rate, ratesProblem, type Observation } from '../observation.js';
import { sum, sumBy, sysctl, type Snapshot } from '../snapshot.js';
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

/** The counters that show the kernel defending a SYN queue (TCPSynFlood's kernel-evidence legs). */
const DEFENCE_COUNTERS: ReadonlyArray<readonly [label: string, metric: string]> = [
  ['SYN cookies sent', 'tcpstate_syncookies_sent_total'],
  ['SYN queue drops', 'tcpstate_syn_queue_drops_total'],
  ['listen drops', 'tcpstate_listen_drops_total'],
];

interface SynQueue {
  readonly port: string;
  readonly synRecv: number;
  readonly backlog: number;
  readonly share: number;
}

/**
 * Each listening port's SYN queue: SYN_RECV on the port against its backlog, which is the
 * kernel's SYN-queue limit per listener (netlink source only: procfs has no backlog). Fullest first.
 */
function synQueues(snapshot: Snapshot): SynQueue[] {
  const synRecv = sumBy(snapshot, 'tcpstate_port_sockets', 'port', { state: 'syn_recv' });
  return [...sumBy(snapshot, 'tcpstate_listen_queue_max', 'port')]
    .filter(([, backlog]) => backlog > 0)
    .map(([port, backlog]) => ({ port, backlog, synRecv: synRecv.get(port) ?? 0, share: (synRecv.get(port) ?? 0) / backlog }))
    .sort((a, b) => b.share - a.share || (a.port < b.port ? -1 : 1));
}

const queueText = ({ port, synRecv, backlog, share }: SynQueue): string => `port ${port}: SYN_RECV ${count(synRecv)} = ${percent(share)} of its backlog ${count(backlog)}`;

/**
 * TCPSynFlood, as the alert: a port whose SYN_RECV is above a share of its own backlog; else,
 * host-wide, SYN cookies at a sustained rate, or SYN_RECV high against tcp_max_syn_backlog while
 * SYNs are dropped (the tcp_syncookies=0 limit), on the port with the most SYN_RECV.
 */
export function checkSynFlood(observation: Observation): Finding[] {
  const what = 'SYN flood';
  const missing = collectorProblem(observation, 'sockets');
  if (missing !== undefined) return [skipped(SYN_FLOOD, what, missing)];
  const { current } = observation;
  const { portBacklogShare, cookiesPerSecond, backlogShare, sustained } = THRESHOLDS.synFlood;
  const queues = synQueues(current);
  const maxSynBacklog = collectorProblem(observation, 'sysctl') === undefined ? sysctl(current, 'net.ipv4.tcp_max_syn_backlog') : undefined;
  if (queues.length === 0 && (maxSynBacklog === undefined || maxSynBacklog <= 0)) {
    return [skipped(SYN_FLOOD, what, 'neither the listeners\' backlogs (netlink source) nor net.ipv4.tcp_max_syn_backlog are readable')];
  }

  const noDefenceData = ratesProblem(observation) ?? collectorProblem(observation, 'netstat');
  const defence = DEFENCE_COUNTERS.map(([label, metric]) => ({ label, metric, perSec: noDefenceData === undefined ? rate(observation, metric) : undefined }));
  const defenceEvidence =
    noDefenceData === undefined
      ? `${window(observation)}: ${defence.map(({ label, perSec }) => `${label} ${perSec === undefined ? 'n/a' : perSecond(perSec)}`).join(', ')}`
      : `${DEFENCE_COUNTERS.map(([label, metric]) => counterEvidence(observation, label, metric)).join('; ')}; whether the kernel is defending itself now is unknown: ${noDefenceData}`;

  // 1. Per port, against the port's own backlog: no rate needed.
  const flooded = queues.filter((queue) => queue.share > portBacklogShare);
  if (flooded.length > 0) {
    return flooded.map((queue) =>
      problem(SYN_FLOOD, 'critical', `SYN flood on port ${queue.port}: ${count(queue.synRecv)} half-open connections, ${percent(queue.share)} of its backlog`, {
        evidence: [`${queueText(queue)} (alert above ${percent(portBacklogShare)})`, defenceEvidence],
        remedy: SYN_FLOOD_REMEDY,
        labels: { port: queue.port },
        sustained,
      }),
    );
  }

  // 2. Host-wide, from the kernel's counters, on the port with the most SYN_RECV.
  const synRecv = sum(current, 'tcpstate_sockets', { state: 'syn_recv' }) ?? 0;
  const share = maxSynBacklog !== undefined && maxSynBacklog > 0 ? synRecv / maxSynBacklog : undefined;
  const level = share === undefined ? `SYN_RECV ${count(synRecv)}` : `SYN_RECV ${count(synRecv)} = ${percent(share)} of net.ipv4.tcp_max_syn_backlog ${maxSynBacklog} (alert above ${percent(backlogShare)} with drops)`;
  const evidence = [level];
  if (queues[0] !== undefined) evidence.push(`fullest SYN queue: ${queueText(queues[0])} (alert above ${percent(portBacklogShare)})`);
  const ports = busiestPorts(current, 'syn_recv');
  if (ports.length > 0) evidence.push(`SYN_RECV by port: ${describePorts(ports)}`);
  evidence.push(defenceEvidence);
  const labels: Record<string, string> = ports[0] === undefined ? {} : { port: ports[0].port };
  const highShare = share !== undefined && share > backlogShare;

  if (noDefenceData !== undefined) {
    if (!highShare) return [healthy(SYN_FLOOD, `No SYN flood: no port's SYN queue above ${percent(portBacklogShare)} of its backlog; ${level}`, evidence)];
    return [problem(SYN_FLOOD, 'warning', `SYN_RECV at ${percent(share)} of tcp_max_syn_backlog: possible SYN flood`, { evidence, remedy: SYN_FLOOD_REMEDY, labels, sustained })];
  }
  const perSec = (metric: string): number => defence.find((d) => d.metric === metric)?.perSec ?? 0;
  const cookies = perSec('tcpstate_syncookies_sent_total');
  const dropping = perSec('tcpstate_syn_queue_drops_total') > 0 || perSec('tcpstate_listen_drops_total') > 0;
  if (cookies > cookiesPerSecond) {
    return [problem(SYN_FLOOD, 'critical', `SYN flood: the kernel sends ${perSecond(cookies)} SYN cookies (a SYN queue is full; alert above ${perSecond(cookiesPerSecond)})`, { evidence, remedy: SYN_FLOOD_REMEDY, labels, sustained })];
  }
  if (highShare && dropping) {
    return [problem(SYN_FLOOD, 'critical', `SYN flood: SYN_RECV at ${percent(share)} of tcp_max_syn_backlog and the kernel is dropping SYNs`, { evidence, remedy: SYN_FLOOD_REMEDY, labels, sustained })];
  }
  if (highShare) {
    return [problem(SYN_FLOOD, 'info', `Many half-open handshakes (${percent(share)} of tcp_max_syn_backlog) but no SYN-queue filling up: slow clients rather than a flood`, { evidence, remedy: SLOW_HANDSHAKE_REMEDY, labels, sustained })];
  }
  const fullest = queues[0] === undefined ? level : queueText(queues[0]);
  return [healthy(SYN_FLOOD, `No SYN flood: ${fullest}`, evidence)];
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
