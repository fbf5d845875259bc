import { healthy, identity, problem, skipped, type CheckIdentity, type Finding, type Remedy } from '../finding.js';
import { count, percent, perSecond, secondsAgo } from '../format.js';
import { collectorProblem, intervalSeconds, rate, ratesProblem, type Observation } from '../observation.js';
import { select, selectNamespaced, sysctl, type LabelMatch, type Sample, type Snapshot } from '../snapshot.js';
import { THRESHOLDS } from '../thresholds.js';
import { window } from './common.js';

/**
 * The pod checks: TCPPodCloseWaitLeak, TCPPodListenQueueOverflow and TCPPodSynFlood, read from
 * the netns collector's series of every other network namespace (a pod's, a container's), one
 * finding per namespace (and port) that crosses the alerts' numbers, naming the pod, else the
 * container, else the namespace. The host checks never see these series (see Snapshot).
 */
const POD_CLOSE_WAIT = identity('pod_close_wait', 'TCPPodCloseWaitLeak');
const POD_LISTEN_QUEUE = identity('pod_listen_queue', 'TCPPodListenQueueOverflow');
const POD_SYN_FLOOD = identity('pod_syn_flood', 'TCPPodSynFlood');

const CLOSE_WAIT_REMEDY: Remedy = {
  application: 'The application in that pod (or container) never close()s these sockets: close in finally/defer/using on every path and when a read returns EOF. A rolling restart of its workload drains them but does not fix the bug.',
  kernel: 'None: no sysctl drains CLOSE_WAIT.',
};
const LISTEN_QUEUE_REMEDY: Remedy = {
  application: 'accept() faster in the pod: more workers, no blocking work in the accept loop, a CPU limit it does not hit at peak; raise its listen() backlog.',
  kernel: "net.core.somaxconn is per network namespace: raise the pod's own (securityContext.sysctls, once the kubelet allows it).",
};
const SYN_FLOOD_REMEDY: Remedy = {
  application: "Filter at the edge (load balancer, ingress, provider DDoS protection); raise the flooded listener's listen() backlog.",
  kernel: "Keep tcp_syncookies=1 in the pod's namespace; net.core.somaxconn there caps its backlogs (securityContext.sysctls).",
};

/** The owner labels a pod finding carries, non-empty ones only. */
const OWNER_LABELS = ['netns', 'namespace', 'pod', 'uid', 'container'] as const;

interface Namespace {
  readonly netns: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** How a person calls a namespace: "pod shop/web-0", "container redis", "network namespace blue". */
export function namespaceName(labels: Readonly<Record<string, string>>): string {
  const { netns = '', namespace = '', pod = '', container = '' } = labels;
  if (pod !== '') return `pod ${namespace === '' ? '' : `${namespace}/`}${pod}`;
  if (container !== '') return `container ${container}`;
  return `network namespace ${netns}`;
}

/** Every namespace with series, by netns; netns="other" (the sum beyond the cap, changing members) is left out. */
function namespacesOf(snapshot: Snapshot): Map<string, Namespace> {
  const found = new Map<string, Namespace>();
  for (const samples of snapshot.namespaced.values()) {
    for (const { labels } of samples) {
      const netns = labels.netns;
      if (netns === undefined || netns === 'other' || found.has(netns)) continue;
      const owner: Record<string, string> = {};
      for (const name of OWNER_LABELS) if ((labels[name] ?? '') !== '') owner[name] = labels[name]!;
      found.set(netns, { netns, labels: owner });
    }
  }
  return found;
}

function total(samples: readonly Sample[]): number {
  return samples.reduce((sum, sample) => sum + sample.value, 0);
}

/** How to look at it from the node: a name under /run/netns enters directly, an inode needs a pid. */
function lookInside(netns: string, command: string): string {
  return /^\d+$/.test(netns)
    ? `look inside: a pid from \`lsns -t net -o NS,PID | grep ${netns}\`, then \`nsenter -n -t PID ${command}\``
    : `look inside: \`nsenter --net=/run/netns/${netns} ${command}\` (or \`nsenter -n -t PID ${command}\`)`;
}

/** "netns cni-1, uid 4f1e…", the identifiers behind the name. */
function identifiers({ netns, labels }: Namespace): string {
  return [`netns ${netns}`, ...(labels.uid === undefined ? [] : [`uid ${labels.uid} (joins kube_pod_info{uid})`])].join(', ');
}

/**
 * "56 namespaces", and how many of their tables the per-scrape budget skipped in this look: those
 * show their last reading, or nothing yet (diagnose is one look; a scrape rotates through them).
 */
function namespacesSeen(snapshot: Snapshot, namespaces: number): string {
  const skippedTables = select(snapshot, 'tcpstate_netns_tables', { outcome: 'skipped' }).reduce((sum, sample) => sum + sample.value, 0);
  const note = skippedTables > 0 ? ` (${count(skippedTables)} tables not read in this look: raise --collector.netns.table-budget to see them all)` : '';
  return `${count(namespaces)} namespaces${note}`;
}

/** Why the pod checks cannot run, or undefined. */
function podsProblem(observation: Observation): string | undefined {
  return collectorProblem(observation, 'netns');
}

function noNamespaces(id: CheckIdentity, what: string): Finding {
  return healthy(id, `${what}: no other network namespace on this host`);
}

/** TCPPodCloseWaitLeak: a port of a pod with CLOSE_WAIT at or above the floor, not draining. */
export function checkPodCloseWait(observation: Observation): Finding[] {
  const what = 'CLOSE_WAIT in pods';
  const missing = podsProblem(observation);
  if (missing !== undefined) return [skipped(POD_CLOSE_WAIT, what, missing)];
  const { current, previous } = observation;
  const namespaces = namespacesOf(current);
  if (namespaces.size === 0) return [noNamespaces(POD_CLOSE_WAIT, what)];
  const samples = selectNamespaced(current, 'tcpstate_netns_close_wait_sockets');
  if (samples.length === 0) return [skipped(POD_CLOSE_WAIT, what, 'the namespaces\' socket tables were not read (--collector.netns.tables=off, or every table failed)')];
  const { floor, sustained } = THRESHOLDS.closeWait;
  const seconds = intervalSeconds(observation);

  const heavy = samples.filter((sample) => sample.value >= floor).sort((a, b) => b.value - a.value);
  const findings = heavy.flatMap((sample): Finding[] => {
    const ns = namespaces.get(sample.labels.netns ?? '');
    const port = sample.labels.port ?? 'other';
    if (ns === undefined) return [];
    const name = namespaceName(ns.labels);
    const where = port === 'other' ? 'ports beyond --collector.netns.max-ports and client-side connections (port="other")' : `port ${port}`;
    const evidence = [`${count(sample.value)} sockets in CLOSE_WAIT on ${where} of ${name} (alert floor ${floor}); ${identifiers(ns)}`];
    const earlier = previous === undefined ? undefined : total(selectNamespaced(previous, 'tcpstate_netns_close_wait_sockets', { netns: ns.netns, port }));
    const draining = earlier !== undefined && sample.value < earlier;
    if (earlier !== undefined && seconds !== undefined) evidence.push(`${count(earlier)} ${secondsAgo(seconds)}: ${draining ? 'draining' : 'not draining'}`);
    const age = total(selectNamespaced(current, 'tcpstate_netns_table_age_seconds', { netns: ns.netns }));
    if (age > 0) evidence.push(`figures from a table read ${Number(age.toFixed(1))} s ago (the per-scrape budget skipped it)`);
    evidence.push(lookInside(ns.netns, port === 'other' ? 'ss -tn state close-wait' : `ss -tnp state close-wait '( sport = :${port} )'`));
    const labels = { ...ns.labels, port };
    return [
      draining
        ? problem(POD_CLOSE_WAIT, 'info', `CLOSE_WAIT in ${name} on ${where} is draining: ${count(earlier)} -> ${count(sample.value)}`, { evidence, remedy: CLOSE_WAIT_REMEDY, labels, sustained })
        : problem(POD_CLOSE_WAIT, 'warning', `CLOSE_WAIT piling up in ${name} on ${where}: ${count(sample.value)} sockets the application never closed`, { evidence, remedy: CLOSE_WAIT_REMEDY, labels, sustained }),
    ];
  });
  if (findings.length > 0) return findings;

  const most = [...samples].sort((a, b) => b.value - a.value)[0]!;
  const mostLine = most.value > 0 ? ` (most: ${count(most.value)} on port ${most.labels.port ?? 'other'} of ${namespaceName(namespaces.get(most.labels.netns ?? '')?.labels ?? most.labels)})` : '';
  return [healthy(POD_CLOSE_WAIT, `${what}: ${namespacesSeen(current, namespaces.size)}, no port at the floor of ${floor}${mostLine}`)];
}

/** TCPPodListenQueueOverflow: a pod's accept queue near its backlog, or its own stack dropping completed handshakes. */
export function checkPodListenQueue(observation: Observation): Finding[] {
  const what = 'Accept queues in pods';
  const missing = podsProblem(observation);
  if (missing !== undefined) return [skipped(POD_LISTEN_QUEUE, what, missing)];
  const { current } = observation;
  const namespaces = namespacesOf(current);
  if (namespaces.size === 0) return [noNamespaces(POD_LISTEN_QUEUE, what)];
  const { queueShare, perSecond: threshold, sustained } = THRESHOLDS.listenQueue;
  const overflowsOf = (netns: string): number | undefined => rate(observation, 'tcpstate_listen_overflows_total', { netns }, selectNamespaced);
  const overflowLine = (netns: string): string => {
    const perSec = overflowsOf(netns);
    return perSec === undefined
      ? `its ListenOverflows: ${count(total(selectNamespaced(current, 'tcpstate_listen_overflows_total', { netns })))} since the namespace was made (no rate from one snapshot)`
      : `its ListenOverflows: ${perSecond(perSec)} ${window(observation)} (alert above ${perSecond(threshold)})`;
  };

  const findings: Finding[] = [];
  const flagged = new Set<string>();
  for (const max of selectNamespaced(current, 'tcpstate_netns_listen_queue_max')) {
    const ns = namespaces.get(max.labels.netns ?? '');
    const port = max.labels.port ?? '';
    const length = total(selectNamespaced(current, 'tcpstate_netns_listen_queue_length', { netns: max.labels.netns ?? '', port }));
    if (ns === undefined || max.value <= 0 || length / max.value <= queueShare) continue;
    flagged.add(ns.netns);
    const name = namespaceName(ns.labels);
    findings.push(
      problem(POD_LISTEN_QUEUE, 'warning', `Accept queue of port ${port} in ${name} is ${percent(length / max.value)} full (${count(length)} of ${count(max.value)}): the application does not accept() fast enough`, {
        evidence: [`${count(length)} connections wait for accept() on port ${port} of ${name}, backlog ${count(max.value)} (alert above ${percent(queueShare)}); ${identifiers(ns)}`, overflowLine(ns.netns), lookInside(ns.netns, 'ss -ltn')],
        remedy: LISTEN_QUEUE_REMEDY,
        labels: { ...ns.labels, port },
        sustained,
      }),
    );
  }
  const noRates = ratesProblem(observation);
  for (const ns of namespaces.values()) {
    const perSec = overflowsOf(ns.netns);
    if (flagged.has(ns.netns) || perSec === undefined || perSec <= threshold) continue;
    const name = namespaceName(ns.labels);
    findings.push(
      problem(POD_LISTEN_QUEUE, 'warning', `Accept queues overflowing in ${name}: ${perSecond(perSec)} completed handshakes dropped`, {
        evidence: [overflowLine(ns.netns), `no port of it is above ${percent(queueShare)} of its backlog now (or its table was read through procfs, which knows no backlog); ${identifiers(ns)}`, lookInside(ns.netns, 'ss -ltn')],
        remedy: LISTEN_QUEUE_REMEDY,
        labels: ns.labels,
        sustained,
      }),
    );
  }
  if (findings.length > 0) return findings;
  const overflowPart = noRates === undefined ? `no overflows ${window(observation)}` : 'overflow rates not measured (one snapshot)';
  return [healthy(POD_LISTEN_QUEUE, `${what}: ${namespacesSeen(current, namespaces.size)}, no queue above ${percent(queueShare)} of its backlog, ${overflowPart}`)];
}

/** The namespace's figures TCPPodSynFlood compares. */
function synFigures(observation: Observation, netns: string): { synRecv: number; backlog: number; perSec: (metric: string) => number | undefined } {
  const match: LabelMatch = { netns };
  const synRecv = total(selectNamespaced(observation.current, 'tcpstate_netns_sockets', { ...match, state: 'syn_recv' }));
  const backlog = Math.max(0, ...selectNamespaced(observation.current, 'tcpstate_netns_listen_queue_max', match).map((sample) => sample.value));
  return { synRecv, backlog, perSec: (metric) => rate(observation, metric, match, selectNamespaced) };
}

/**
 * TCPPodSynFlood: a namespace's SYN_RECV above a share of its largest backlog; or its stack
 * sending SYN cookies; or SYN_RECV high against tcp_max_syn_backlog while it drops SYNs.
 */
export function checkPodSynFlood(observation: Observation): Finding[] {
  const what = 'SYN floods in pods';
  const missing = podsProblem(observation);
  if (missing !== undefined) return [skipped(POD_SYN_FLOOD, what, missing)];
  const { current } = observation;
  const namespaces = namespacesOf(current);
  if (namespaces.size === 0) return [noNamespaces(POD_SYN_FLOOD, what)];
  const { portBacklogShare, cookiesPerSecond, backlogShare, sustained } = THRESHOLDS.synFlood;
  const maxSynBacklog = sysctl(current, 'net.ipv4.tcp_max_syn_backlog');

  const findings: Finding[] = [];
  for (const ns of namespaces.values()) {
    const { synRecv, backlog, perSec } = synFigures(observation, ns.netns);
    const cookies = perSec('tcpstate_syncookies_sent_total');
    const dropping = (perSec('tcpstate_syn_queue_drops_total') ?? 0) > 0 || (perSec('tcpstate_listen_drops_total') ?? 0) > 0;
    const overBacklog = backlog > 0 && synRecv > portBacklogShare * backlog;
    const overCookies = cookies !== undefined && cookies > cookiesPerSecond;
    const overLimit = maxSynBacklog !== undefined && maxSynBacklog > 0 && synRecv > backlogShare * maxSynBacklog && dropping;
    if (!overBacklog && !overCookies && !overLimit) continue;
    const name = namespaceName(ns.labels);
    const evidence = [
      `${count(synRecv)} half-open (SYN_RECV) connections in ${name}${backlog > 0 ? `, ${percent(synRecv / backlog)} of its largest backlog ${count(backlog)} (alert above ${percent(portBacklogShare)})` : ''}; ${identifiers(ns)}`,
      cookies === undefined ? 'its SYN cookies: no rate from one snapshot' : `its SYN cookies: ${perSecond(cookies)} ${window(observation)} (alert above ${perSecond(cookiesPerSecond)})${dropping ? '; it is dropping SYNs' : ''}`,
      lookInside(ns.netns, 'ss -tn state syn-recv'),
    ];
    findings.push(problem(POD_SYN_FLOOD, 'critical', `SYN flood in ${name}: ${count(synRecv)} half-open connections`, { evidence, remedy: SYN_FLOOD_REMEDY, labels: ns.labels, sustained }));
  }
  if (findings.length > 0) return findings;
  const cookiePart = ratesProblem(observation) === undefined ? `no SYN cookies above ${perSecond(cookiesPerSecond)} ${window(observation)}` : 'SYN-cookie rates not measured (one snapshot)';
  return [healthy(POD_SYN_FLOOD, `${what}: ${namespacesSeen(current, namespaces.size)}, none with SYN_RECV above ${percent(portBacklogShare)} of its largest backlog, ${cookiePart}`)];
}
