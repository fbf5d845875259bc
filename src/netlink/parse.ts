/**
 * Pure encoder/decoder for the NETLINK_SOCK_DIAG inet_diag dump (no I/O here).
 *
 * Layouts, from include/uapi/linux/{netlink,sock_diag,inet_diag}.h (all host-endian except
 * the ports and addresses inside inet_diag_sockid, which are network order):
 *
 *   struct nlmsghdr        (16) len u32 @0, type u16 @4, flags u16 @6, seq u32 @8, pid u32 @12
 *   struct inet_diag_req_v2 (56) family u8 @0, protocol u8 @1, ext u8 @2, pad u8 @3,
 *                                 states u32 @4, id inet_diag_sockid @8
 *   struct inet_diag_sockid (48) sport be16 @0, dport be16 @2, src be32[4] @4, dst be32[4] @20,
 *                                 if u32 @36, cookie u32[2] @40
 *   struct inet_diag_msg   (72) family u8 @0, state u8 @1, timer u8 @2, retrans u8 @3,
 *                                 id @4, expires u32 @52, rqueue u32 @56, wqueue u32 @60,
 *                                 uid u32 @64, inode u32 @68; then netlink attributes
 *
 * The hot path reads fields straight out of the receive buffer into one reused record: no
 * per-socket object, no per-message slice or DataView.
 */
import type { SocketRecord, SocketSink } from '../kernel/socket-record.js';
import type { Family } from '../kernel/tcp.js';
import { HEX_BYTE, type EndpointKey } from '../kernel/endpoint-key.js';
import { TIMER_KEEPALIVE, TIMER_RETRANSMIT, TIMER_ZERO_WINDOW_PROBE } from '../kernel/tcp.js';

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const IPPROTO_TCP = 6;

export const NLMSG_HDRLEN = 16;
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;
export const SOCK_DIAG_BY_FAMILY = 20;
/** The original inet_diag request type (include/uapi/linux/inet_diag.h): a TCP dump of every family. */
export const TCPDIAG_GETSOCK = 18;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP = 0x300; // NLM_F_ROOT | NLM_F_MATCH

export const INET_DIAG_REQ_V2_LEN = 56;
export const INET_DIAG_MSG_LEN = 72;
export const DUMP_REQUEST_LEN = NLMSG_HDRLEN + INET_DIAG_REQ_V2_LEN;
/** struct inet_diag_req: family, src_len, dst_len, ext (u8 each), id (48), states u32 @52, dbs u32 @56. */
export const INET_DIAG_REQ_LEN = 60;
export const ALL_FAMILIES_REQUEST_LEN = NLMSG_HDRLEN + INET_DIAG_REQ_LEN;

/**
 * Every state from TCP_ESTABLISHED (1) to TCP_NEW_SYN_RECV (12): bits 1..12. Bit 13,
 * TCP_BOUND_INACTIVE (kernel 6.8+), is deliberately left out: it would add bound-but-idle sockets
 * that /proc/net/tcp does not list. Request sockets (NEW_SYN_RECV in the ehash) are dumped when
 * bit 3 or 12 is set, and come back with idiag_state TCP_SYN_RECV (3), timer 1, no inode, and
 * idiag_retrans = num_retrans (SYN-ACKs actually sent again; /proc/net/tcp shows num_timeout,
 * which also counts retransmissions that failed locally, e.g. dropped by an OUTPUT rule).
 * TIME_WAIT sockets are matched on their substate: TIME_WAIT, or FIN_WAIT2 for an orphaned
 * FIN_WAIT2 socket the kernel turned into a timewait socket (timer 3, as in /proc/net/tcp).
 */
export const ALL_TCP_STATES = 0x1ffe;

/** Keep in step with the kernel: one skb of a dump is at most 32 KiB (netlink_recvmsg caps it). */
export const MIN_RECV_BUFFER = 32768;

/**
 * The dump request for one family: nlmsghdr + inet_diag_req_v2 for IPPROTO_TCP, `states`
 * (ALL_TCP_STATES, or 0 for a cheap probe that only checks the kernel would answer), no
 * extensions (idiag_ext = 0: asking for tcp_info roughly doubles the kernel's work).
 */
export function encodeDumpRequest(family: number, seq: number, states: number = ALL_TCP_STATES): Uint8Array {
  const bytes = new Uint8Array(DUMP_REQUEST_LEN);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, DUMP_REQUEST_LEN, true);
  view.setUint16(4, SOCK_DIAG_BY_FAMILY, true);
  view.setUint16(6, NLM_F_REQUEST | NLM_F_DUMP, true);
  view.setUint32(8, seq >>> 0, true);
  view.setUint32(12, 0, true); // the kernel fills in our port id
  bytes[NLMSG_HDRLEN] = family;
  bytes[NLMSG_HDRLEN + 1] = IPPROTO_TCP;
  bytes[NLMSG_HDRLEN + 2] = 0; // idiag_ext
  view.setUint32(NLMSG_HDRLEN + 4, states >>> 0, true);
  // inet_diag_sockid stays zero: no port/address filter; cookie zero is ignored for dumps.
  return bytes;
}

/**
 * One dump of TCP sockets of every family in a single walk of the hash table: the original
 * TCPDIAG_GETSOCK request (struct inet_diag_req), which the kernel still serves through
 * inet_diag_rcv_msg_compat with sdiag_family = AF_UNSPEC. Two SOCK_DIAG_BY_FAMILY dumps
 * (AF_INET, then AF_INET6) each walk the whole table (every namespace's sockets, skipping the
 * other family's), so on a host with 600k IPv4 sockets the AF_INET6 dump alone costs ~100 ms
 * for nothing. Replies are the same inet_diag_msg records, with nlmsg_type TCPDIAG_GETSOCK and
 * each socket's own idiag_family. Same states, no extensions.
 */
export function encodeAllFamiliesDumpRequest(seq: number, states: number = ALL_TCP_STATES): Uint8Array {
  const bytes = new Uint8Array(ALL_FAMILIES_REQUEST_LEN);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, ALL_FAMILIES_REQUEST_LEN, true);
  view.setUint16(4, TCPDIAG_GETSOCK, true);
  view.setUint16(6, NLM_F_REQUEST | NLM_F_DUMP, true);
  view.setUint32(8, seq >>> 0, true);
  bytes[NLMSG_HDRLEN] = AF_INET; // idiag_family: not used by a dump
  view.setUint32(NLMSG_HDRLEN + 52, states >>> 0, true);
  return bytes;
}

/** An error the kernel reported in the dump (NLMSG_ERROR, or a negative NLMSG_DONE payload). */
export class NetlinkKernelError extends Error {
  readonly errno: number;
  constructor(errno: number, context: string) {
    super(`netlink sock_diag: kernel returned error ${errno} (${errnoName(errno)}) ${context}`);
    this.name = 'NetlinkKernelError';
    this.errno = errno;
  }
}

/** The bytes do not form a valid sock_diag reply (truncated message, impossible length). */
export class NetlinkParseError extends Error {
  constructor(message: string) {
    super(`netlink sock_diag: ${message}`);
    this.name = 'NetlinkParseError';
  }
}

const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM',
  2: 'ENOENT',
  4: 'EINTR',
  12: 'ENOMEM',
  13: 'EACCES',
  16: 'EBUSY',
  22: 'EINVAL',
  71: 'EPROTO',
  93: 'EPROTONOSUPPORT',
  95: 'EOPNOTSUPP',
  97: 'EAFNOSUPPORT',
  105: 'ENOBUFS',
};

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

/** Entries of the remote-endpoint key cache (a power of two). */
const KEY_CACHE_SIZE = 1024;

/**
 * The one record the parser fills for every socket. `remoteEndpointKey()` reads the remote
 * address lazily from the buffer the record currently points at, so it is only valid during
 * `sink.add()`, as the SocketRecord contract says.
 *
 * Keys go through a small direct-mapped cache: most sockets with an ephemeral local port talk to
 * a handful of destinations, and handing back the same key value for the same destination spares
 * the heap one number (IPv4, ~2^47, never a small integer) or string (IPv6) per socket: at 600k
 * sockets that was most of the scrape's garbage.
 */
export class InetDiagRecord implements SocketRecord {
  family: Family = 0;
  state = 0;
  localPort = 0;
  remotePort = 0;
  rxQueue = 0;
  txQueue = 0;
  timer = 0;
  retransmits = 0;
  probes = 0;
  inode = 0;
  /** Buffer and offset of the current inet_diag_msg. */
  bytes: Uint8Array = EMPTY;
  msgOffset = 0;
  /** Key cache: per entry, the remote address as 4 words (IPv4: one word, rest -1), port, and 4 or 6. */
  private readonly cacheTags = new Int32Array(KEY_CACHE_SIZE * 6).fill(-1);
  /** Filled with strings so that V8 keeps boxed elements: a double-elements array would box a new number on every read. */
  private readonly cacheKeys: Array<number | string> = new Array<number | string>(KEY_CACHE_SIZE).fill('');

  remoteEndpointKey(): EndpointKey {
    const b = this.bytes;
    const dst = this.msgOffset + 24; // inet_diag_msg.id.idiag_dst
    const port = this.remotePort;
    let w0: number;
    let w1 = -1;
    let w2 = -1;
    let w3 = -1;
    let v4: boolean;
    if (this.family === 0) {
      w0 = be32(b, dst);
      v4 = true;
    } else if (
      // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) shares the IPv4 port space: same key.
      (b[dst]! | b[dst + 1]! | b[dst + 2]! | b[dst + 3]! | b[dst + 4]! | b[dst + 5]! | b[dst + 6]! | b[dst + 7]! | b[dst + 8]! | b[dst + 9]!) === 0 &&
      b[dst + 10] === 0xff &&
      b[dst + 11] === 0xff
    ) {
      w0 = be32(b, dst + 12);
      v4 = true;
    } else {
      w0 = be32(b, dst);
      w1 = be32(b, dst + 4);
      w2 = be32(b, dst + 8);
      w3 = be32(b, dst + 12);
      v4 = false;
    }
    const slot = (Math.imul(w0 ^ Math.imul(w1 ^ w2 ^ w3, 0x9e3779b1), 0x85ebca6b) ^ port) & (KEY_CACHE_SIZE - 1);
    const tags = this.cacheTags;
    const t = slot * 6;
    const kind = v4 ? 4 : 6;
    if (tags[t] === w0 && tags[t + 1] === w1 && tags[t + 2] === w2 && tags[t + 3] === w3 && tags[t + 4] === port && tags[t + 5] === kind) {
      return this.cacheKeys[slot]!;
    }
    let key: number | string;
    if (v4) {
      key = (w0 >>> 0) * 65536 + port;
    } else {
      key = '';
      for (let i = 0; i < 16; i++) key += HEX_BYTE[b[dst + i]!]!;
      key += ':' + port;
    }
    tags[t] = w0;
    tags[t + 1] = w1;
    tags[t + 2] = w2;
    tags[t + 3] = w3;
    tags[t + 4] = port;
    tags[t + 5] = kind;
    this.cacheKeys[slot] = key;
    return key;
  }
}

const EMPTY = new Uint8Array(0);

/** A big-endian 32-bit word as a signed int (cache tag); `>>> 0` gives the address. */
function be32(b: Uint8Array, at: number): number {
  return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}

/** Where a dump stands after a chunk has been parsed. */
export interface DumpProgress {
  /** NLMSG_DONE was seen: the dump of this family is complete. */
  done: boolean;
  /** inet_diag_msg records handed to the sink so far. */
  sockets: number;
  /** Messages flagged NLM_F_DUMP_INTR (the table changed under the dump; counts may be off by a few). */
  interrupted: number;
}

export function newDumpProgress(): DumpProgress {
  return { done: false, sockets: 0, interrupted: 0 };
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
        record.msgOffset = p;
        sink.add(record);
        sockets++;
        if ((bytes[off + 6]! & NLM_F_DUMP_INTR) !== 0) progress.interrupted++;
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
