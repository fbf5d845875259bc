import { healthy, identity, problem, skipped, type Finding, type Remedy } from '../finding.js';
import { count, percent, perSecond } from '../format.js';
import { collectorProblem, rate, type Observation } from '../observation.js';
import { sumBy } from '../snapshot.js';
import { THRESHOLDS } from '../thresholds.js';
import { counterEvidence, window } from './common.js';
import { queueOwnersOfPort } from './owners.js';

const LISTEN_QUEUE = identity('listen_queue', 'TCPListenQueueOverflow');

const REMEDY: Remedy = {
  application: 'accept() faster: more workers (SO_REUSEPORT gives each its own queue), no blocking work in the accept loop, shed load early; raise the listen() backlog (Java defaults to 50, nginx and Node to 511).',
  kernel: 'Raise net.core.somaxconn (it silently caps every listen() backlog); keep net.ipv4.tcp_abort_on_overflow=0 unless clients retry on resets.',
};

/**
 * TCPListenQueueOverflow: a port whose accept queue is near its backlog, and completed
 * handshakes dropped because an accept queue was full.
 */
export function checkListenQueue(observation: Observation): Finding[] {
  const what = 'Accept queues';
  const missing = collectorProblem(observation, 'sockets');
  if (missing !== undefined) return [skipped(LISTEN_QUEUE, what, missing)];
  const { current } = observation;
  const { queueShare, perSecond: overflowThreshold, sustained } = THRESHOLDS.listenQueue;

  const lengths = sumBy(current, 'tcpstate_listen_queue_length', 'port');
  // Only the netlink source knows a listener's backlog; /proc/net/tcp does not show it.
  const backlogKnown = current.metrics.has('tcpstate_listen_queue_max');
  const backlogs = sumBy(current, 'tcpstate_listen_queue_max', 'port');
  const netstatMissing = collectorProblem(observation, 'netstat');
  const overflows = netstatMissing === undefined ? rate(observation, 'tcpstate_listen_overflows_total') : undefined;
  const overflowLine =
    netstatMissing === undefined
      ? counterEvidence(observation, 'ListenOverflows (handshakes dropped on a full accept queue)', 'tcpstate_listen_overflows_total', { alertAbove: perSecond(overflowThreshold) })
      : `ListenOverflows: unknown, ${netstatMissing}`;

  const nearLimit = [...lengths]
    .map(([port, length]) => ({ port, length, backlog: backlogs.get(port) ?? 0 }))
    .filter(({ length, backlog }) => backlog > 0 && length / backlog > queueShare)
    .sort((a, b) => b.length / b.backlog - a.length / a.backlog || (a.port < b.port ? -1 : 1));

  const findings = nearLimit.map(({ port, length, backlog }) => {
    // The listener's unit, container or pod, from the cgroup collector.
    const owners = queueOwnersOfPort(current, port);
    return problem(LISTEN_QUEUE, 'warning', `Accept queue of port ${port} is ${percent(length / backlog)} full (${count(length)} of ${count(backlog)}): the application does not accept() fast enough`, {
      evidence: [`${count(length)} connections wait for accept() on port ${port}, backlog ${count(backlog)} (alert above ${percent(queueShare)})`, ...owners.evidence, overflowLine],
      remedy: REMEDY,
      labels: { port, ...owners.labels },
      sustained,
    });
  });
  if (findings.length > 0) return findings;

  const queued = [...lengths].filter(([, length]) => length > 0).map(([port, length]) => `${port} ${count(length)}`);
  if (overflows !== undefined && overflows > overflowThreshold) {
    const where = backlogKnown
      ? `no port is above ${percent(queueShare)} of its backlog now: a queue fills and drains between looks`
      : 'the procfs socket source does not know backlogs: compare Recv-Q with Send-Q in `ss -ltn`';
    return [
      problem(LISTEN_QUEUE, 'warning', `Accept queues overflowing: ${perSecond(overflows)} completed handshakes dropped`, {
        evidence: [overflowLine, where, queued.length > 0 ? `waiting for accept() now, by port: ${queued.join(', ')}` : 'no connection waits for accept() right now'],
        remedy: REMEDY,
        sustained,
      }),
    ];
  }

  if (lengths.size === 0) return [healthy(LISTEN_QUEUE, 'Accept queues: no listening ports')];
  const fill = backlogKnown ? `no queue above ${percent(queueShare)} of its backlog` : 'backlogs unknown with the procfs socket source';
  const overflowPart = overflows === undefined ? 'overflow rate not measured' : `no overflows ${window(observation)}`;
  return [healthy(LISTEN_QUEUE, `Accept queues: ${fill}, ${overflowPart}`, [overflowLine])];
}
