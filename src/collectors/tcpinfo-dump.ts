/**
 * The tcpinfo collector's own dump: ESTABLISHED sockets with INET_DIAG_INFO, through the table's
 * netlink source (its queue and its dump thread, like the counting dump), narrowed by a bytecode
 * port filter where WatchedPorts has one. Each record is folded into its series' slots of a
 * TcpInfoSummary while it sits in the receive buffer: nothing is kept per socket.
 *
 * The equality ops (S_EQ/D_EQ) are the short form of the filter; a kernel without them answers
 * EINVAL before it walks anything, and from then on this source's filters use S_GE + S_LE.
 */
import type { Logger } from 'pino';
import type { TopN } from '../aggregate/top-n.js';
import type { DumpRequestEncoder, RequestedDump, SocketRecord, SocketSink, SocketSource } from '../kernel/socket-record.js';
import { ERRNO } from '../kernel/errno.js';
import { TCP_ESTABLISHED, TCP_LISTEN } from '../kernel/tcp.js';
import { encodePortFilter, type PortFilter } from '../netlink/bytecode.js';
import { NetlinkKernelError } from '../netlink/errors.js';
import { encodeAllFamiliesInfoDumpRequest, encodeInfoDumpRequest } from '../netlink/info-request.js';
import { AF_UNSPEC, encodeAllFamiliesDumpRequest, encodeDumpRequest } from '../netlink/protocol.js';
import { InetDiagRecord } from '../netlink/record.js';
import { TcpInfoReader } from '../netlink/tcp-info.js';
import type { TcpInfoSummary } from '../netlink/tcpinfo-summary.js';
import type { ServerPortTally, WatchedPorts } from './tcpinfo-ports.js';

/** --collector.tcpinfo.port-filter */
export type PortFilterMode = 'auto' | 'range' | 'off';

/** How the kernel was asked to narrow the dump. */
export type FilterUsed = 'eq' | 'range' | 'none';

/** Sources whose kernel refused the equality ops once: asked with the range form from then on. */
const refusesEquality = new WeakSet<SocketSource>();

/** The request encoder of one tcp_info dump: one walk of every family, or one family. */
export function infoDumpEncoder(bytecode: Uint8Array | undefined): DumpRequestEncoder {
  const options = { bytecode };
  return (family, seq) => (family === AF_UNSPEC ? encodeAllFamiliesInfoDumpRequest(seq, options) : encodeInfoDumpRequest(family, seq, options));
}

/** LISTEN sockets only, no extension: the kernel walks its listening hash and skips the established one. */
const listenersOnly: DumpRequestEncoder = (family, seq) => (family === AF_UNSPEC ? encodeAllFamiliesDumpRequest(seq, 1 << TCP_LISTEN) : encodeDumpRequest(family, seq, 1 << TCP_LISTEN));

/**
 * This scrape's server ports when no other collector had the table dumped (the tally rode no
 * counting dump): the listeners come from a LISTEN-only dump. Under the cap every candidate is
 * kept whatever its socket count, so only over the cap does the ranking need the sockets of every
 * state, and then the collector makes the counting dump itself.
 */
export async function serverPortsWithoutCountingDump(source: SocketSource, dump: RequestedDump, tally: ServerPortTally, asked: readonly number[], maxPorts: number): Promise<TopN<number>> {
  await dump(tally, listenersOnly);
  if (new Set([...tally.listeningPorts(), ...asked]).size > maxPorts) {
    tally.reset();
    await source.scan(tally);
  }
  return tally.select(asked, maxPorts);
}

/** Folds every watched ESTABLISHED socket of the dump into the summary. */
export class TcpInfoSink implements SocketSink {
  /** Records the kernel sent (watched or not: without a filter, every ESTABLISHED socket). */
  records = 0;
  private readonly reader = new TcpInfoReader();

  constructor(
    private readonly watched: WatchedPorts,
    private readonly summary: TcpInfoSummary,
  ) {}

  add(socket: SocketRecord): void {
    if (!(socket instanceof InetDiagRecord)) throw new Error('tcpinfo: the tcp_info dump needs inet_diag records (a netlink source)');
    this.records++;
    if (socket.state !== TCP_ESTABLISHED) return;
    const local = this.watched.localSlot[socket.localPort]!;
    const remote = this.watched.remoteSlot[socket.remotePort]!;
    if (local < 0 && remote < 0) return;
    const at = socket.locateInfo();
    // No INET_DIAG_INFO: the socket is counted, every field is absent.
    const info = at < 0 ? this.reader.at(socket.bytes, 0, 0) : this.reader.at(socket.bytes, at, socket.infoLength);
    if (local >= 0) this.summary.add(local, info);
    if (remote >= 0) this.summary.add(remote, info);
  }
}

export interface InfoDumpResult {
  readonly filter: FilterUsed;
  readonly records: number;
}

function programFor(filter: PortFilter | undefined, form: FilterUsed): Uint8Array | undefined {
  return filter === undefined || form === 'none' ? undefined : encodePortFilter(filter, { equality: form });
}

/**
 * One tcp_info dump of `source` into `summary` (which must start empty). Throws what the dump
 * throws, except the equality ops' EINVAL, which is retried once with the range form.
 */
export async function dumpTcpInfo(source: SocketSource, dump: RequestedDump, watched: WatchedPorts, summary: TcpInfoSummary, mode: PortFilterMode, logger: Logger): Promise<InfoDumpResult> {
  let form: FilterUsed = watched.filter === undefined || mode === 'off' ? 'none' : mode === 'range' || refusesEquality.has(source) ? 'range' : 'eq';
  for (;;) {
    const sink = new TcpInfoSink(watched, summary);
    try {
      await dump(sink, infoDumpEncoder(programFor(watched.filter, form)));
      return { filter: form, records: sink.records };
    } catch (error) {
      // The kernel audits the program before the walk, so nothing reached the summary; reset anyway.
      if (form !== 'eq' || !(error instanceof NetlinkKernelError) || error.errno !== ERRNO.EINVAL) throw error;
      refusesEquality.add(source);
      summary.reset();
      form = 'range';
      logger.info({ collector: 'tcpinfo' }, 'the kernel refuses the inet_diag port equality ops (EINVAL, before Linux 4.16): filtering with S_GE/S_LE instead');
    }
  }
}
