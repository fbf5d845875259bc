import { healthy, identity, problem, skipped, type Finding, type Remedy } from '../finding.js';
import { count, secondsAgo } from '../format.js';
import { collectorProblem, intervalSeconds, type Observation } from '../observation.js';
import { sum, sumBy, type Snapshot } from '../snapshot.js';
import { THRESHOLDS } from '../thresholds.js';
import { closeWaitOwners as cgroupCloseWaitOwners, closeWaitOwnersOfPort } from './owners.js';

const CLOSE_WAIT = identity('close_wait', 'TCPCloseWaitLeak');

const SERVER_REMEDY: Remedy = {
  application: 'The application never close()s these sockets: close in finally/defer/using on every path (errors, timeouts, early returns) and when a read returns EOF. A restart drains them at once but does not fix the bug.',
  kernel: 'None: no sysctl drains CLOSE_WAIT (tcp_fin_timeout bounds FIN_WAIT2, the other side).',
};

const CLIENT_REMEDY: Remedy = {
  application: 'Connections this host opened that the server closed: validate pooled connections on checkout and set the pool\'s idle timeout below the server\'s; close or drain HTTP response bodies (Go: resp.Body.Close()).',
  kernel: 'None: no sysctl drains CLOSE_WAIT. Watch the upstream with --collector.sockets.remote-ports.',
};

/** Names given to the processes the process collector could not name. */
const UNNAMED_PROCESSES = new Set(['unknown', 'other']);

interface Owners {
  /** Evidence lines about who holds CLOSE_WAIT sockets. */
  evidence: string[];
  /** The process holding the most, when the collector could name it. */
  top: string | undefined;
}

/**
 * Who holds CLOSE_WAIT sockets. The process collector counts per process and state, not per
 * port, so this is host-wide; with one leaking port it names that port's owner.
 */
function closeWaitOwners(observation: Observation): Owners {
  const missing = collectorProblem(observation, 'process');
  if (missing !== undefined) return { evidence: [`owning processes unknown: ${missing}`], top: undefined };
  const { current } = observation;
  const holders = [...sumBy(current, 'tcpstate_process_sockets', 'process', { state: 'close_wait' })]
    .filter(([, sockets]) => sockets > 0)
    .sort(([nameA, a], [nameB, b]) => b - a || (nameA < nameB ? -1 : 1));
  const evidence = [
    holders.length === 0
      ? 'held by: no process'
      : `held by (CLOSE_WAIT on all ports): ${holders.slice(0, 5).map(([name, sockets]) => `${name} ${count(sockets)}`).join(', ')}`,
  ];
  // The collector ranks processes by all their sockets, so a small leaker on a busy host can be folded away.
  if (holders.some(([name]) => name === 'other')) evidence.push('"other" sums the processes beyond the busiest --collector.process.top (default 20): raise it to name them');
  const unreadable = sum(current, 'tcpstate_process_unreadable') ?? 0;
  // Unreadable: no permission (not root), or the process exited during the walk.
  if (unreadable > 0) evidence.push(`${count(unreadable)} processes could not be inspected (not root, or exited meanwhile): their sockets count as "unknown"`);
  // Only the biggest holder is named: a process with 3 of them beside "unknown 25" is not the culprit.
  const biggest = holders[0]?.[0];
  const top = biggest !== undefined && !UNNAMED_PROCESSES.has(biggest) ? biggest : undefined;
  return { evidence, top };
}

function closeWaitByPort(snapshot: Snapshot): Map<string, number> {
  return sumBy(snapshot, 'tcpstate_port_sockets', 'port', { state: 'close_wait' });
}

function portName(port: string): string {
  return port === 'other' ? 'ports beyond --collector.sockets.max-ports (port="other")' : `port ${port}`;
}

/**
 * TCPCloseWaitLeak: a port with a CLOSE_WAIT population at or above the floor that is not
 * shrinking; also CLOSE_WAIT on client-side connections (ephemeral local ports), which no
 * watched port shows.
 */
export function checkCloseWait(observation: Observation): Finding[] {
  const missing = collectorProblem(observation, 'sockets');
  if (missing !== undefined) return [skipped(CLOSE_WAIT, 'CLOSE_WAIT', missing)];
  const { current, previous } = observation;
  const { floor, sustained } = THRESHOLDS.closeWait;
  const seconds = intervalSeconds(observation);
  const now = closeWaitByPort(current);
  const before = previous === undefined ? undefined : closeWaitByPort(previous);
  const owners = closeWaitOwners(observation);
  const ownerLabel: Record<string, string> = owners.top === undefined ? {} : { process: owners.top };

  const findings: Finding[] = [];
  const heavy = [...now].filter(([, sockets]) => sockets >= floor).sort(([portA, a], [portB, b]) => b - a || (portA < portB ? -1 : 1));
  for (const [port, sockets] of heavy) {
    const evidence = [`${count(sockets)} sockets in CLOSE_WAIT on local ${portName(port)} (alert floor ${floor})`];
    const earlier = before?.get(port);
    const draining = earlier !== undefined && sockets < earlier;
    if (earlier !== undefined && seconds !== undefined) evidence.push(`${count(earlier)} ${secondsAgo(seconds)}: ${draining ? 'draining' : 'not draining'}`);
    // The owning unit, container or pod, from the cgroup collector; then the process names.
    const byCgroup = closeWaitOwnersOfPort(current, port);
    evidence.push(...byCgroup.evidence, ...owners.evidence);
    findings.push(
      draining
        ? problem(CLOSE_WAIT, 'info', `CLOSE_WAIT on ${portName(port)} is draining: ${count(earlier)} -> ${count(sockets)}`, { evidence, remedy: SERVER_REMEDY, labels: { port, ...ownerLabel, ...byCgroup.labels }, sustained })
        : problem(CLOSE_WAIT, 'warning', `CLOSE_WAIT piling up on ${portName(port)}: ${count(sockets)} sockets the application never closed`, { evidence, remedy: SERVER_REMEDY, labels: { port, ...ownerLabel, ...byCgroup.labels }, sustained }),
    );
  }

  // Sockets in CLOSE_WAIT on no watched (listening) port: this host is the client.
  const total = sum(current, 'tcpstate_sockets', { state: 'close_wait' }) ?? 0;
  const onWatchedPorts = [...now.values()].reduce((a, b) => a + b, 0);
  const clientSide = total - onWatchedPorts;
  if (clientSide >= floor) {
    const remote = [...sumBy(current, 'tcpstate_remote_port_sockets', 'port', { state: 'close_wait' })].filter(([, sockets]) => sockets > 0);
    const byCgroup = cgroupCloseWaitOwners(current);
    const evidence = [
      `${count(clientSide)} sockets in CLOSE_WAIT outside the listening ports (alert floor ${floor}; the alert watches listening ports only)`,
      remote.length > 0
        ? `by remote port: ${remote.map(([port, sockets]) => `${port} ${count(sockets)}`).join(', ')}`
        : 'find the upstream: `ss -tn state close-wait` (Peer Address:Port column)',
      ...byCgroup.evidence,
      ...owners.evidence,
    ];
    findings.push(problem(CLOSE_WAIT, 'warning', `CLOSE_WAIT piling up on client-side connections: ${count(clientSide)} sockets`, { evidence, remedy: CLIENT_REMEDY, labels: { side: 'client', ...ownerLabel, ...byCgroup.labels }, sustained }));
  }
  if (findings.length > 0) return findings;

  if (total === 0) return [healthy(CLOSE_WAIT, 'No sockets in CLOSE_WAIT')];
  const [busiestPort, most] = [...now].sort(([, a], [, b]) => b - a)[0] ?? ['', 0];
  const where = most > 0 ? ` (most on one port: ${count(most)} on ${portName(busiestPort)})` : '';
  return [healthy(CLOSE_WAIT, `CLOSE_WAIT: ${count(total)} sockets, no port at the floor of ${floor}${where}`)];
}
