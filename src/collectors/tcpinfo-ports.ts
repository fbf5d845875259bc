/**
 * Which sockets the tcpinfo collector summarises, and under which `{port, direction}` series:
 * the watched server ports of this scrape (the same selection and cap as tcpstate_port_sockets)
 * as direction="local", and every --collector.sockets.remote-ports port as direction="remote".
 *
 * The server ports depend on this scrape's listeners and socket counts, so a ServerPortTally
 * rides along the counting dump (two array writes per socket) and the selection is made after it,
 * with the function the sockets collector uses; the tcp_info dump comes after that.
 */
import { selectServerPorts } from '../aggregate/server-ports.js';
import type { TopN } from '../aggregate/top-n.js';
import type { SocketRecord, SocketSink } from '../kernel/socket-record.js';
import { TCP_LISTEN, stateSlot } from '../kernel/tcp.js';
import { bytesPerPort, MAX_BYTECODE_LEN, type PortFilter } from '../netlink/bytecode.js';

const PORTS = 65536;

/** Per local port, during the counting dump: sockets in every state, and whether one listens. */
export class ServerPortTally implements SocketSink {
  readonly sockets = new Uint32Array(PORTS);
  readonly listening = new Uint8Array(PORTS);

  add(socket: SocketRecord): void {
    const slot = stateSlot(socket.state);
    if (slot < 0) return;
    const port = socket.localPort;
    this.sockets[port]! += 1;
    if (slot === TCP_LISTEN) this.listening[port] = 1;
  }

  listeningPorts(): number[] {
    const ports: number[] = [];
    for (let port = 0; port < PORTS; port++) if (this.listening[port] === 1) ports.push(port);
    return ports;
  }

  /** This scrape's watched server ports, as tcpstate_port_sockets has them. */
  select(asked: readonly number[], maxPorts: number): TopN<number> {
    return selectServerPorts(this.listeningPorts(), asked, (port) => this.sockets[port]!, maxPorts);
  }

  reset(): void {
    this.sockets.fill(0);
    this.listening.fill(0);
  }
}

export type Direction = 'local' | 'remote';

/** One exported series: its label values. Its index in WatchedPorts.series is its summary slot. */
export interface WatchedSeries {
  readonly port: string;
  readonly direction: Direction;
}

export interface WatchedPorts {
  readonly series: readonly WatchedSeries[];
  /** Summary slot by local port, -1 where the port is not watched. */
  readonly localSlot: Int32Array;
  /** Summary slot by remote port, -1 where the port is not watched. */
  readonly remoteSlot: Int32Array;
  /**
   * The kernel-side filter when every watched port has its own series; undefined when port="other"
   * is in play (every ESTABLISHED socket of a folded port is needed, and there may be thousands of
   * listeners: the kernel runs the program once per socket, linearly) or the program would be
   * longer than the kernel takes.
   */
  readonly filter: PortFilter | undefined;
}

/** The slots of one scrape: kept server ports ascending, then "other", then the remote ports. */
export function watchedPorts(selection: TopN<number>, remotePorts: readonly number[]): WatchedPorts {
  const series: WatchedSeries[] = [];
  const localSlot = new Int32Array(PORTS).fill(-1);
  const remoteSlot = new Int32Array(PORTS).fill(-1);
  const kept = [...selection.kept].sort((a, b) => a - b);
  for (const port of kept) {
    localSlot[port] = series.length;
    series.push({ port: String(port), direction: 'local' });
  }
  if (selection.folded.length > 0) {
    for (const port of selection.folded) localSlot[port] = series.length;
    series.push({ port: 'other', direction: 'local' });
  }
  const remote = [...new Set(remotePorts)].sort((a, b) => a - b);
  for (const port of remote) {
    remoteSlot[port] = series.length;
    series.push({ port: String(port), direction: 'remote' });
  }
  // The range form is the longer one: a filter that fits it fits the kernel either way.
  const fits = (kept.length + remote.length) * bytesPerPort('range') <= MAX_BYTECODE_LEN;
  const filter = selection.folded.length === 0 && series.length > 0 && fits ? { localPorts: kept, remotePorts: remote } : undefined;
  return { series, localSlot, remoteSlot, filter };
}
