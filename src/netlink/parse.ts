/**
 * Decodes what one recv() of an inet_diag dump returned (see protocol.ts for the layouts). The
 * hot path reads fields straight out of the receive buffer into one reused record: no per-socket
 * object, no per-message slice or DataView. Pure: bytes in, records out to a sink.
 */
import type { SocketSink } from '../kernel/socket-record.js';
import { TIMER_KEEPALIVE, TIMER_RETRANSMIT, TIMER_ZERO_WINDOW_PROBE } from '../kernel/tcp.js';
import { NetlinkKernelError, NetlinkParseError } from './errors.js';
import { AF_INET6, INET_DIAG_MSG_LEN, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLMSG_OVERRUN, SOCK_DIAG_BY_FAMILY, TCPDIAG_GETSOCK } from './protocol.js';
import type { InetDiagRecord } from './record.js';

/** Where a dump stands after a chunk has been parsed. */
export interface DumpProgress {
  /** NLMSG_DONE was seen: the dump of this family is complete. */
  done: boolean;
  /** inet_diag_msg records handed to the sink so far. */
  sockets: number;
}

export function newDumpProgress(): DumpProgress {
  return { done: false, sockets: 0 };
}

/**
 * Parses the netlink messages in `bytes[start, end)` (what one recv() returned) and feeds every
 * inet_diag_msg of sequence `seq` to `sink` through `record`. Messages of another sequence
 * number are skipped. Returns the progress object, updated; throws NetlinkKernelError for an
 * NLMSG_ERROR (or a failed NLMSG_DONE) and NetlinkParseError for malformed bytes.
 *
 * `start` must be 4-byte aligned relative to the buffer's ArrayBuffer (netlink messages are
 * 4-byte aligned, so the u32 fields are read through one Uint32Array over the whole buffer).
 */
export function parseDumpChunk(
  bytes: Uint8Array,
  words: Uint32Array,
  start: number,
  end: number,
  seq: number,
  record: InetDiagRecord,
  sink: SocketSink,
  progress: DumpProgress,
): DumpProgress {
  if (bytes.byteOffset !== words.byteOffset || (bytes.byteOffset & 3) !== 0 || (start & 3) !== 0) {
    throw new RangeError('parseDumpChunk: buffer and words must share a 4-byte aligned start');
  }
  if (end > bytes.length) throw new RangeError('parseDumpChunk: end beyond the buffer');
  record.bytes = bytes;
  record.words = words;
  const wantSeq = seq >>> 0;
  let off = start;
  let sockets = progress.sockets;
  while (off < end) {
    if (end - off < NLMSG_HDRLEN) {
      throw new NetlinkParseError(`truncated message header at byte ${off - start} (${end - off} of ${NLMSG_HDRLEN} bytes)`);
    }
    const w = off >>> 2;
    const len = words[w]!;
    const type = bytes[off + 4]! | (bytes[off + 5]! << 8);
    if (len < NLMSG_HDRLEN || len > end - off) {
      throw new NetlinkParseError(`message at byte ${off - start} claims length ${len}, ${end - off} bytes left`);
    }
    if (words[w + 2] === wantSeq) {
      if (type === SOCK_DIAG_BY_FAMILY || type === TCPDIAG_GETSOCK) {
        if (len < NLMSG_HDRLEN + INET_DIAG_MSG_LEN) {
          throw new NetlinkParseError(`inet_diag_msg at byte ${off - start} is ${len - NLMSG_HDRLEN} bytes, want ${INET_DIAG_MSG_LEN}`);
        }
        const p = off + NLMSG_HDRLEN;
        const pw = w + 4;
        record.family = bytes[p] === AF_INET6 ? 1 : 0;
        record.state = bytes[p + 1]!;
        const timer = bytes[p + 2]!;
        const retrans = bytes[p + 3]!;
        record.timer = timer;
        // idiag_retrans is icsk_retransmits under the retransmit timer, but icsk_probes_out
        // under the keepalive and zero-window-probe timers (inet_sk_diag_fill). /proc/net/tcp
        // has the two in separate columns; split them back so both sources aggregate alike.
        if (timer === TIMER_RETRANSMIT) {
          record.retransmits = retrans;
          record.probes = 0;
        } else if (timer === TIMER_KEEPALIVE || timer === TIMER_ZERO_WINDOW_PROBE) {
          record.retransmits = 0;
          record.probes = retrans;
        } else {
          record.retransmits = 0;
          record.probes = 0;
        }
        record.localPort = (bytes[p + 4]! << 8) | bytes[p + 5]!;
        record.remotePort = (bytes[p + 6]! << 8) | bytes[p + 7]!;
        record.rxQueue = words[pw + 14]!; // @56
        record.txQueue = words[pw + 15]!; // @60
        record.inode = words[pw + 17]!; // @68
        record.cgroupIdPending = true;
        record.msgOffset = p;
        record.msgLength = len - NLMSG_HDRLEN;
        sink.add(record);
        sockets++;
      } else if (type === NLMSG_DONE) {
        // The payload is an int: 0, or a negative errno when the dump failed part-way.
        const status = len >= NLMSG_HDRLEN + 4 ? words[w + 4]! | 0 : 0;
        progress.sockets = sockets;
        if (status < 0) throw new NetlinkKernelError(-status, 'at the end of the dump');
        progress.done = true;
        return progress;
      } else if (type === NLMSG_ERROR) {
        if (len < NLMSG_HDRLEN + 4) throw new NetlinkParseError(`NLMSG_ERROR at byte ${off - start} has no error code`);
        const status = words[w + 4]! | 0;
        progress.sockets = sockets;
        // error 0 is an acknowledgement, which a dump does not ask for; treat it as the end.
        if (status === 0) {
          progress.done = true;
          return progress;
        }
        throw new NetlinkKernelError(-status, 'in reply to the dump request');
      } else if (type === NLMSG_OVERRUN) {
        throw new NetlinkParseError('NLMSG_OVERRUN: the kernel lost messages of the dump');
      }
      // NLMSG_NOOP and unknown types: skip.
    }
    off += (len + 3) & ~3;
  }
  progress.sockets = sockets;
  return progress;
}
