import { count } from '../format.js';
import { select, type Sample, type Snapshot } from '../snapshot.js';

/**
 * Who owns the sockets a finding is about, from the cgroup collector's owner series (no
 * --collector.process needed): the systemd unit, container, or pod and container. Shared by the
 * CLOSE_WAIT and accept-queue checks.
 */

/** The owner labels a finding carries, as on the owner series (absent ones left out). */
const OWNER_LABELS = ['namespace', 'pod', 'uid', 'container', 'unit'] as const;

/** How a person calls one owner: "container app of pod shop/checkout-7d9f", "unit nginx.service". */
export function ownerName(labels: Readonly<Record<string, string>>): string {
  const { namespace = '', pod = '', uid = '', container = '', unit = '' } = labels;
  if (unit === 'other') return 'other owners (beyond --collector.cgroup.top)';
  if (unit === 'unknown') return 'no nameable owner';
  const inPod = pod !== '' ? `pod ${namespace === '' ? '' : `${namespace}/`}${pod}` : uid !== '' ? `pod uid ${uid}` : '';
  if (container !== '') return inPod === '' ? `container ${container}` : `container ${container} of ${inPod}`;
  if (inPod !== '') return inPod;
  return unit.startsWith('/') ? `cgroup ${unit}` : `unit ${unit}`;
}

function ownerLabelsOf(sample: Sample): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const name of OWNER_LABELS) {
    const value = sample.labels[name];
    if (value !== undefined && value !== '') labels[name] = value;
  }
  return labels;
}

export interface PortOwners {
  /** One evidence line, or none when the cgroup collector gave no owner series. */
  readonly evidence: string[];
  /** The owner labels of the biggest holder, when it is a named owner (not other/unknown). */
  readonly labels: Record<string, string>;
}

const NONE: PortOwners = { evidence: [], labels: {} };

function describe(samples: readonly Sample[], what: string): PortOwners {
  const holders = samples.filter((sample) => sample.value > 0).sort((a, b) => b.value - a.value || (ownerName(a.labels) < ownerName(b.labels) ? -1 : 1));
  if (holders.length === 0) return NONE;
  const top = holders[0]!;
  const named = top.labels.unit !== 'other' && top.labels.unit !== 'unknown';
  return {
    evidence: [`${what}: ${holders.slice(0, 5).map((sample) => `${ownerName(sample.labels)} ${count(sample.value)}`).join(', ')}`],
    labels: named ? ownerLabelsOf(top) : {},
  };
}

/** Owners of the CLOSE_WAIT sockets on one local port (or port="other"). */
export function closeWaitOwnersOfPort(snapshot: Snapshot, port: string): PortOwners {
  return describe(select(snapshot, 'tcpstate_owner_port_sockets', { port, state: 'close_wait' }), `owned by (cgroup, CLOSE_WAIT on port ${port})`);
}

/** Owners of the CLOSE_WAIT sockets on every port: for the client side, which no port label shows. */
export function closeWaitOwners(snapshot: Snapshot): PortOwners {
  return describe(select(snapshot, 'tcpstate_owner_sockets', { state: 'close_wait' }), 'owned by (cgroup, CLOSE_WAIT on all ports)');
}

/** Owners of the listeners whose accept queue on one port holds connections. */
export function queueOwnersOfPort(snapshot: Snapshot, port: string): PortOwners {
  return describe(select(snapshot, 'tcpstate_owner_listen_queue_length', { port }), `waiting for accept() by listener owner (cgroup)`);
}
