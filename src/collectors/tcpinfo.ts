/**
 * Connection quality per watched port from the kernel's tcp_info (docs/tcpinfo.md): RTT and idle
 * histograms, loss recovery, retransmission and limit sums over the ESTABLISHED sockets of every
 * watched server port (direction="local") and every --collector.sockets.remote-ports port
 * (direction="remote"). Off by default: its dump costs the kernel a socket lock and a 280-byte
 * copy per socket it covers.
 *
 * Which server ports are watched depends on this scrape's listeners and socket counts. A
 * ServerPortTally rides the counting dump of the host table when another collector (sockets, by
 * default) has it made, at two array writes per socket; alone, the collector asks the kernel for
 * the LISTEN sockets only, which costs a walk of the listening hash and not of the established
 * one. report() then chooses the ports as tcpstate_port_sockets does, makes the collector's own
 * dump through the same source, and registers the series.
 */
import type { Logger } from 'pino';
import { choiceFlag } from '../config/flag.js';
import { TcpInfoSummary } from '../netlink/tcpinfo-summary.js';
import { CollectorUnavailableError, HOST_TABLE, type SocketTable, type TableCollector } from './collector.js';
import { SOCKETS_FLAGS } from './sockets.js';
import { dumpTcpInfo, serverPortsWithoutCountingDump } from './tcpinfo-dump.js';
import { ServerPortTally, watchedPorts } from './tcpinfo-ports.js';
import { reportTcpInfo } from './tcpinfo-report.js';

export const TCPINFO_FLAGS = {
  portFilter: choiceFlag('collector.tcpinfo.port-filter', {
    help: 'how the kernel is told which sockets to copy tcp_info for: auto (port equality ops, S_GE/S_LE where the kernel refuses them), range (S_GE/S_LE), off (every ESTABLISHED socket)',
    choices: ['auto', 'range', 'off'],
    default: 'auto',
    example: 'range',
  }),
  // The same ports as tcpstate_port_sockets and tcpstate_remote_port_sockets: shared, not copied.
  ports: SOCKETS_FLAGS.ports,
  maxPorts: SOCKETS_FLAGS.maxPorts,
  remotePorts: SOCKETS_FLAGS.remotePorts,
};

/** The tally arrays (320 KiB) outlive a scrape; concurrent collections each take their own. */
const idleTallies: ServerPortTally[] = [];

function debugDump(logger: Logger, fields: Record<string, unknown>): void {
  logger.debug({ collector: 'tcpinfo', ...fields }, 'tcp_info dumped');
}

export const tcpinfoCollector: TableCollector<typeof TCPINFO_FLAGS> = {
  name: 'tcpinfo',
  defaultEnabled: false,
  description: 'RTT, loss recovery, retransmissions and idle time per watched port, from tcp_info (netlink only; one more dump per scrape)',
  flags: TCPINFO_FLAGS,
  reads: 'socket-tables',
  prepareTally({ logger }, options) {
    const ports = idleTallies.pop() ?? new ServerPortTally();
    let host: SocketTable | undefined;
    return Promise.resolve({
      sinkFor: () => undefined,
      riderFor(table) {
        if (table.id !== HOST_TABLE) return undefined;
        host = table;
        return ports;
      },
      async report(registry, scans) {
        if (host === undefined) throw new Error('the socket table of this namespace is not in the scrape');
        const dump = host.source.requestedDump?.();
        if (dump === undefined) throw new CollectorUnavailableError(`tcp_info needs the netlink socket source; the ${host.source.name} source has none (/proc/net/tcp does not show it)`);
        const started = performance.now();
        const selection = scans.has(host) ? ports.select(options.ports, options.maxPorts) : await serverPortsWithoutCountingDump(host.source, dump, ports, options.ports, options.maxPorts);
        const watched = watchedPorts(selection, options.remotePorts);
        const summary = new TcpInfoSummary(watched.series.length);
        if (watched.series.length > 0) {
          const selected = performance.now();
          const result = await dumpTcpInfo(host.source, dump, watched, summary, options.portFilter, logger);
          const now = performance.now();
          debugDump(logger, { series: watched.series.length, filter: result.filter, records: result.records, rodeCountingDump: scans.has(host), selectMs: selected - started, dumpMs: now - selected });
        }
        reportTcpInfo(registry, summary, watched);
      },
      release() {
        ports.reset();
        idleTallies.push(ports);
      },
    });
  },
};
