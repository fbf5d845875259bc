import { count, perSecond } from '../format.js';
import { intervalSeconds, rate, type Observation } from '../observation.js';
import { sum, sumBy, sysctl, type LabelMatch, type Snapshot } from '../snapshot.js';

/** "in the last 5 s", for evidence built from rates. */
export function window(observation: Observation): string {
  const seconds = intervalSeconds(observation);
  return seconds === undefined ? '' : `in the last ${Number(seconds.toFixed(1))} s`;
}

export interface PortCount {
  readonly port: string;
  readonly sockets: number;
}

/** The ports with the most sockets in a state, busiest first; ports with none are left out. */
export function busiestPorts(snapshot: Snapshot, state: string, limit = 3): PortCount[] {
  return [...sumBy(snapshot, 'tcpstate_port_sockets', 'port', { state })]
    .filter(([, sockets]) => sockets > 0)
    .sort(([portA, a], [portB, b]) => b - a || (portA < portB ? -1 : 1))
    .slice(0, limit)
    .map(([port, sockets]) => ({ port, sockets }));
}

/** "7004 120, 443 3". */
export function describePorts(ports: readonly PortCount[]): string {
  return ports.map(({ port, sockets }) => `${port} ${count(sockets)}`).join(', ');
}

/**
 * A counter as evidence: its rate with two snapshots, else its total since boot, saying which,
 * so a reader never mistakes a lifetime total for something happening now.
 */
export function counterEvidence(observation: Observation, label: string, metric: string, options: { alertAbove?: string; match?: LabelMatch } = {}): string {
  const perSec = rate(observation, metric, options.match);
  const alert = options.alertAbove === undefined ? '' : ` (alert above ${options.alertAbove})`;
  if (perSec !== undefined) return `${label}: ${perSecond(perSec)} ${window(observation)}${alert}`;
  const total = sum(observation.current, metric, options.match);
  if (total === undefined) return `${label}: not reported by this kernel`;
  return `${label}: ${count(total)} since boot (no rate from one snapshot)`;
}

/** "net.ipv4.tcp_keepalive_time 7200 s, intvl 75 s, probes 9", or undefined when unreadable. */
export function keepaliveSettings(snapshot: Snapshot): string | undefined {
  const time = sysctl(snapshot, 'net.ipv4.tcp_keepalive_time');
  const interval = sysctl(snapshot, 'net.ipv4.tcp_keepalive_intvl');
  const probes = sysctl(snapshot, 'net.ipv4.tcp_keepalive_probes');
  if (time === undefined || interval === undefined || probes === undefined) return undefined;
  return `net.ipv4.tcp_keepalive_time ${time} s, tcp_keepalive_intvl ${interval} s, tcp_keepalive_probes ${probes}`;
}
