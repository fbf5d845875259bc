import { topN, type TopN } from './top-n.js';

/**
 * The watched server ports of one scrape: every port with a LISTEN socket plus the ports asked for
 * (--collector.sockets.ports), the `maxPorts` busiest (sockets in every state) kept, ties by port
 * number, the rest folded into port="other". The sockets collector (tcpstate_port_sockets) and the
 * tcpinfo collector both choose with this, so their `port` labels always agree.
 */
export function selectServerPorts(listening: Iterable<number>, asked: readonly number[], sockets: (port: number) => number, maxPorts: number): TopN<number> {
  return topN([...listening, ...asked], sockets, maxPorts, (a, b) => a - b);
}
