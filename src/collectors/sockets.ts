import type { Gauge, Registry } from 'prom-client';
import { PortTablePool } from '../aggregate/port-table-pool.js';
import { SocketAggregate } from '../aggregate/socket-aggregate.js';
import { selectServerPorts } from '../aggregate/server-ports.js';
import { integerFlag, portListFlag, type FlagValues } from '../config/flag.js';
import { endpointOfKey } from '../kernel/endpoint-key.js';
import type { ScanResult } from '../kernel/socket-record.js';
import { FAMILIES, STATE_SLOTS, TCP_LISTEN, stateName } from '../kernel/tcp.js';
import type { ProcRoot } from '../procfs/proc-root.js';
import { parsePortRange } from '../procfs/sysctl.js';
import { HOST_TABLE, type SocketTable, type TableCollector } from './collector.js';
import { scrapeGauge } from './metric-helpers.js';

export const SOCKETS_FLAGS = {
  ports: portListFlag('collector.sockets.ports', { help: 'local ports to watch in tcpstate_port_sockets besides listening ports', example: '8080,8443' }),
  maxPorts: integerFlag('collector.sockets.max-ports', { help: 'most ports given their own label; the rest are summed into port="other"', default: 64, min: 1, example: '8' }),
  remotePorts: portListFlag('collector.sockets.remote-ports', { help: 'remote ports to count in tcpstate_remote_port_sockets (client-side pools)', example: '5432,6379' }),
  ephemeralDestinations: integerFlag('collector.sockets.ephemeral-destinations', {
    help: 'busiest destinations given their own tcpstate_ephemeral_destination_usage_ratio series; 0 for none',
    default: 5,
    min: 0,
    max: 100,
    example: '2',
  }),
};
type Options = FlagValues<typeof SOCKETS_FLAGS>;

/** ip_local_port_range, read every scrape because it can be changed at any time. */
async function readEphemeralRange(proc: ProcRoot): Promise<[number, number] | null> {
  const text = await proc.readTextIfExists('sys', 'net', 'ipv4', 'ip_local_port_range');
  return text === undefined ? null : parsePortRange(proc.sysctlPath('net.ipv4.ip_local_port_range'), text);
}

/** Sets one series per state from a per-port table row. */
function setStates(gauge: Gauge<'port' | 'state'>, port: string, table: Uint32Array, ports: readonly number[]): void {
  for (let slot = 1; slot < STATE_SLOTS; slot++) {
    let count = 0;
    for (const p of ports) count += table[p * STATE_SLOTS + slot]!;
    gauge.set({ port, state: stateName(slot) }, count);
  }
}

function sumOver(map: ReadonlyMap<number, number>, ports: readonly number[]): number {
  let total = 0;
  for (const port of ports) total += map.get(port) ?? 0;
  return total;
}

const portTables = new PortTablePool();

/** The socket table: states, per-port views, queues, timers and ephemeral ports. */
export const socketsCollector: TableCollector<typeof SOCKETS_FLAGS> = {
  name: 'sockets',
  defaultEnabled: true,
  description: 'The TCP socket table: states, per-port counts, accept queues, keepalive and retransmit timers, ephemeral ports',
  flags: SOCKETS_FLAGS,
  reads: 'socket-tables',
  async prepareTally({ proc }, options) {
    const range = await readEphemeralRange(proc);
    const aggregate = new SocketAggregate({ ephemeralRange: range, remotePorts: new Set(options.remotePorts), tables: portTables });
    let host: SocketTable | undefined;
    return {
      sinkFor(table) {
        // The exporter's own namespace; other tables belong to the namespace collector.
        if (table.id !== HOST_TABLE) return undefined;
        host = table;
        return aggregate;
      },
      report(registry, scans) {
        const scan = host === undefined ? undefined : scans.get(host);
        if (scan === undefined) throw new Error('the socket table of this namespace was not dumped');
        report(registry, options, aggregate, scan, range);
      },
      release: () => aggregate.release(),
    };
  },
};

/** Registers every metric of the sockets collector from a finished tally. */
function report(registry: Registry, options: Options, aggregate: SocketAggregate, scan: ScanResult, range: readonly [number, number] | null): void {
  const byState = scrapeGauge(registry, 'tcpstate_sockets', 'TCP sockets in each state; request sockets count as syn_recv.', ['family', 'state']);
  for (const family of scan.families) {
    for (let slot = 1; slot < STATE_SLOTS; slot++) {
      byState.set({ family: FAMILIES[family], state: stateName(slot) }, aggregate.stateCounts[family * STATE_SLOTS + slot]!);
    }
  }

  const receive = scrapeGauge(registry, 'tcpstate_receive_queue_bytes', 'Bytes received but not yet read by the application, by state (LISTEN excluded).', ['state']);
  const send = scrapeGauge(registry, 'tcpstate_send_queue_bytes', 'Bytes sent but not yet acknowledged by the peer, by state (LISTEN excluded).', ['state']);
  const keepalive = scrapeGauge(registry, 'tcpstate_keepalive_sockets', 'Sockets whose keepalive timer is armed, by state.', ['state']);
  for (let slot = 1; slot < STATE_SLOTS; slot++) {
    const state = stateName(slot);
    keepalive.set({ state }, aggregate.keepaliveByState[slot]!);
    if (slot === TCP_LISTEN) continue;
    receive.set({ state }, aggregate.receiveQueueBytes[slot]!);
    send.set({ state }, aggregate.sendQueueBytes[slot]!);
  }
  scrapeGauge(registry, 'tcpstate_keepalive_probing_sockets', 'Sockets with unanswered keepalive probes: the peer has probably vanished (half-open).').set(aggregate.keepaliveProbing);
  scrapeGauge(registry, 'tcpstate_retransmitting_sockets', 'Sockets with a retransmit timer armed and at least one retransmission.').set(aggregate.retransmitting);

  reportPorts(registry, options, aggregate, scan);

  if (aggregate.remotePortStates !== null) {
    const remote = scrapeGauge(registry, 'tcpstate_remote_port_sockets', 'Sockets whose remote port is one of --collector.sockets.remote-ports, by state.', ['port', 'state']);
    for (const port of options.remotePorts) setStates(remote, String(port), aggregate.remotePortStates, [port]);
  }

  if (range !== null) reportEphemeral(registry, options, aggregate, range);
}

/** Server ports: every port with a listener, plus the ones asked for, under the cap. */
function reportPorts(registry: Registry, options: Options, aggregate: SocketAggregate, scan: ScanResult): void {
  const selection = selectServerPorts(aggregate.listeningPorts(), options.ports, (port) => aggregate.localPortTotal(port), options.maxPorts);
  const portSockets = scrapeGauge(registry, 'tcpstate_port_sockets', 'Sockets whose local port is a watched server port, by state; ports beyond the cap are summed into port="other".', ['port', 'state']);
  const queueLength = scrapeGauge(registry, 'tcpstate_listen_queue_length', 'Connections waiting in the accept queue, summed over the listeners on the port.', ['port']);
  const queueLimit = scan.listenQueueLimitKnown
    ? scrapeGauge(registry, 'tcpstate_listen_queue_max', 'Accept-queue limit (the listen backlog), summed over the listeners on the port.', ['port'])
    : undefined;
  const listening = new Set(aggregate.listeningPorts());
  const groups: Array<[string, number[]]> = [...selection.kept].sort((a, b) => a - b).map((port) => [String(port), [port]]);
  if (selection.folded.length > 0) groups.push(['other', selection.folded]);
  for (const [label, ports] of groups) {
    setStates(portSockets, label, aggregate.localPortStates, ports);
    const listeners = ports.filter((port) => listening.has(port));
    if (listeners.length === 0) continue;
    queueLength.set({ port: label }, sumOver(aggregate.listenQueueLength, listeners));
    queueLimit?.set({ port: label }, sumOver(aggregate.listenQueueLimit, listeners));
  }
}

function reportEphemeral(registry: Registry, options: Options, aggregate: SocketAggregate, range: readonly [number, number]): void {
  scrapeGauge(registry, 'tcpstate_ephemeral_ports_used', 'Sockets whose local port is inside net.ipv4.ip_local_port_range.').set(aggregate.ephemeralPortsUsed);
  const rangeSize = range[1] - range[0] + 1;
  scrapeGauge(registry, 'tcpstate_ephemeral_port_usage_ratio', 'Sockets with an ephemeral local port towards the busiest destination (remote address and port), divided by the size of ip_local_port_range.').set(aggregate.busiestDestinationSockets() / rangeSize);
  const destinations = aggregate.busiestDestinations(options.ephemeralDestinations);
  if (destinations.length === 0) return;
  const perDestination = scrapeGauge(registry, 'tcpstate_ephemeral_destination_usage_ratio', 'For the busiest --collector.sockets.ephemeral-destinations destinations: sockets with an ephemeral local port towards that remote address and port, divided by the size of ip_local_port_range.', ['remote_address', 'remote_port']);
  for (const { key, sockets } of destinations) {
    const { address, port } = endpointOfKey(key);
    perDestination.set({ remote_address: address, remote_port: String(port) }, sockets / rangeSize);
  }
}
