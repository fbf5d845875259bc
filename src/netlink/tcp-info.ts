/**
 * Pure reader of struct tcp_info as the kernel puts it in the INET_DIAG_INFO attribute of an
 * inet_diag_msg (no I/O, no per-socket object).
 *
 * Layout, from include/uapi/linux/tcp.h (host-endian, natural alignment, no holes). Each kernel
 * release only ever appends fields, and inet_diag copies exactly sizeof(struct tcp_info) of the
 * running kernel, so the attribute's length says which fields exist: a field that ends beyond it
 * is absent (undefined), never zero. Sizes: 104 bytes up to tcpi_total_retrans (2.6.x), 232 up to
 * tcpi_snd_wnd (5.4), 248 up to tcpi_total_rto_time (6.7), 280 with the AccECN counters (6.18, as
 * captured in test/fixtures/netlink/tcpinfo).
 *
 * Times are as the kernel reports them: RTTs, RTO, ATO in microseconds; last_* in milliseconds;
 * busy/rwnd_limited/sndbuf_limited in microseconds; rates in bytes per second.
 */

import { INET_DIAG_MSG_LEN } from './protocol.js';

type Width = 1 | 2 | 4 | 8;

/** Every whole-byte field: [offset, width]. The sub-byte bitfields at offset 6 and 7 have their own readers. */
export const TCP_INFO_LAYOUT = {
  state: [0, 1],
  caState: [1, 1],
  retransmits: [2, 1],
  probes: [3, 1],
  backoff: [4, 1],
  options: [5, 1],
  rto: [8, 4],
  ato: [12, 4],
  sndMss: [16, 4],
  rcvMss: [20, 4],
  unacked: [24, 4],
  sacked: [28, 4],
  lost: [32, 4],
  retrans: [36, 4],
  fackets: [40, 4],
  lastDataSent: [44, 4],
  lastAckSent: [48, 4],
  lastDataRecv: [52, 4],
  lastAckRecv: [56, 4],
  pmtu: [60, 4],
  rcvSsthresh: [64, 4],
  rtt: [68, 4],
  rttvar: [72, 4],
  sndSsthresh: [76, 4],
  sndCwnd: [80, 4],
  advmss: [84, 4],
  reordering: [88, 4],
  rcvRtt: [92, 4],
  rcvSpace: [96, 4],
  totalRetrans: [100, 4],
  pacingRate: [104, 8],
  maxPacingRate: [112, 8],
  bytesAcked: [120, 8],
  bytesReceived: [128, 8],
  segsOut: [136, 4],
  segsIn: [140, 4],
  notsentBytes: [144, 4],
  minRtt: [148, 4],
  dataSegsIn: [152, 4],
  dataSegsOut: [156, 4],
  deliveryRate: [160, 8],
  busyTime: [168, 8],
  rwndLimited: [176, 8],
  sndbufLimited: [184, 8],
  delivered: [192, 4],
  deliveredCe: [196, 4],
  bytesSent: [200, 8],
  bytesRetrans: [208, 8],
  dsackDups: [216, 4],
  reordSeen: [220, 4],
  rcvOoopack: [224, 4],
  sndWnd: [228, 4],
  rcvWnd: [232, 4],
  rehash: [236, 4],
  totalRto: [240, 2],
  totalRtoRecoveries: [242, 2],
  totalRtoTime: [244, 4],
  receivedCe: [248, 4],
  deliveredE1Bytes: [252, 4],
  deliveredE0Bytes: [256, 4],
  deliveredCeBytes: [260, 4],
  receivedE1Bytes: [264, 4],
  receivedE0Bytes: [268, 4],
  receivedCeBytes: [272, 4],
  accecnFailMode: [276, 2],
  accecnOptSeen: [278, 2],
} as const satisfies Record<string, readonly [number, Width]>;

export type TcpInfoField = keyof typeof TCP_INFO_LAYOUT;

/** The newest layout this reader knows (Linux 6.18); longer attributes are read up to here. */
export const TCP_INFO_KNOWN_LENGTH = 280;

/** tcpi_ca_state values (enum tcp_ca_state in include/uapi/linux/tcp.h). */
export const TCP_CA_OPEN = 0;
export const TCP_CA_DISORDER = 1;
export const TCP_CA_CWR = 2;
export const TCP_CA_RECOVERY = 3;
export const TCP_CA_LOSS = 4;

/** inet_diag attribute types (enum in include/uapi/linux/inet_diag.h). */
export const INET_DIAG_INFO = 2;
/** struct rtattr / nlattr header: len u16, type u16. */
export const RTATTR_HDRLEN = 4;
/** nla_type's top two bits are flags (NLA_F_NESTED, NLA_F_NET_BYTEORDER), not part of the type. */
const NLA_TYPE_MASK = 0x3fff;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const EMPTY = new Uint8Array(0);

/**
 * A window onto one tcp_info inside a receive buffer. Point it at the next socket with `at()` (or
 * `fromInetDiagMessage()`); it keeps one DataView per buffer, so a dump allocates nothing per socket.
 */
export class TcpInfoReader {
  private bytes: Uint8Array = EMPTY;
  private view: DataView = new DataView(EMPTY.buffer);
  private start = 0;
  /** Bytes of tcp_info the kernel sent (0 when the message had no INET_DIAG_INFO). */
  length = 0;

  /** Reads the `length` bytes at `bytes[offset]` as a tcp_info. */
  at(bytes: Uint8Array, offset: number, length: number): this {
    if (offset < 0 || length < 0 || offset + length > bytes.length) {
      throw new RangeError(`tcp_info: ${length} bytes at ${offset} do not fit a ${bytes.length}-byte buffer`);
    }
    if (bytes !== this.bytes) {
      this.bytes = bytes;
      this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    this.start = offset;
    this.length = length;
    return this;
  }

  /**
   * Points the reader at the INET_DIAG_INFO attribute of the inet_diag_msg whose payload (after
   * the nlmsghdr) starts at `payloadOffset` and is `payloadLength` bytes long. Returns false, with
   * length 0 (every field absent), when the message carries no such attribute.
   */
  fromInetDiagMessage(bytes: Uint8Array, payloadOffset: number, payloadLength: number): boolean {
    const attr = findAttribute(bytes, payloadOffset + INET_DIAG_MSG_LEN, payloadOffset + payloadLength, INET_DIAG_INFO);
    if (attr < 0) {
      this.at(bytes, payloadOffset, 0);
      return false;
    }
    const len = readU16(bytes, attr);
    this.at(bytes, attr + RTATTR_HDRLEN, len - RTATTR_HDRLEN);
    return true;
  }

  /** Whether the kernel sent `field` (older kernels send a shorter struct). */
  has(field: TcpInfoField): boolean {
    const layout = TCP_INFO_LAYOUT[field];
    return layout[0] + layout[1] <= this.length;
  }

  /**
   * The field's value, or undefined when the kernel's tcp_info ends before it. u64 fields lose
   * precision past 2^53. For the per-socket hot path prefer u8At/u32At/u64At with offsets taken
   * from TCP_INFO_LAYOUT once: looking a field up by a variable name costs a hash lookup.
   */
  get(field: TcpInfoField): number | undefined {
    const layout = TCP_INFO_LAYOUT[field];
    const offset = layout[0];
    switch (layout[1]) {
      case 1:
        return this.u8At(offset);
      case 2:
        return this.u16At(offset);
      case 4:
        return this.u32At(offset);
      default:
        return this.u64At(offset);
    }
  }

  /** The u8 at `offset` of the struct, or undefined beyond the kernel's length. */
  u8At(offset: number): number | undefined {
    return offset + 1 <= this.length ? this.bytes[this.start + offset]! : undefined;
  }

  u16At(offset: number): number | undefined {
    return offset + 2 <= this.length ? this.view.getUint16(this.start + offset, LITTLE_ENDIAN) : undefined;
  }

  u32At(offset: number): number | undefined {
    return offset + 4 <= this.length ? this.view.getUint32(this.start + offset, LITTLE_ENDIAN) : undefined;
  }

  u64At(offset: number): number | undefined {
    if (offset + 8 > this.length) return undefined;
    const at = this.start + offset;
    const lo = this.view.getUint32(at + (LITTLE_ENDIAN ? 0 : 4), LITTLE_ENDIAN);
    const hi = this.view.getUint32(at + (LITTLE_ENDIAN ? 4 : 0), LITTLE_ENDIAN);
    return hi * 4294967296 + lo;
  }

  /** tcpi_snd_wscale: the low nibble of byte 6 on little-endian bitfield order. */
  sndWscale(): number | undefined {
    if (this.length < 7) return undefined;
    const b = this.bytes[this.start + 6]!;
    return LITTLE_ENDIAN ? b & 0x0f : b >>> 4;
  }

  /** tcpi_rcv_wscale: the other nibble of byte 6. */
  rcvWscale(): number | undefined {
    if (this.length < 7) return undefined;
    const b = this.bytes[this.start + 6]!;
    return LITTLE_ENDIAN ? b >>> 4 : b & 0x0f;
  }

  /** tcpi_delivery_rate_app_limited: bit 0 of byte 7 (4.9+; always present from the 8-byte head on). */
  deliveryRateAppLimited(): boolean | undefined {
    if (this.length < 8) return undefined;
    const b = this.bytes[this.start + 7]!;
    return ((LITTLE_ENDIAN ? b : b >>> 7) & 1) === 1;
  }
}

function readU16(bytes: Uint8Array, at: number): number {
  return LITTLE_ENDIAN ? bytes[at]! | (bytes[at + 1]! << 8) : (bytes[at]! << 8) | bytes[at + 1]!;
}

/**
 * The offset of the first netlink attribute of `type` in `bytes[start, end)`, or -1. Attributes
 * are rtattr-framed (len u16 including the 4-byte header, type u16) and 4-byte aligned. A length
 * below the header or beyond `end` ends the search (the message is malformed: nothing to trust).
 */
export function findAttribute(bytes: Uint8Array, start: number, end: number, type: number): number {
  let off = start;
  while (off + RTATTR_HDRLEN <= end) {
    const len = readU16(bytes, off);
    if (len < RTATTR_HDRLEN || off + len > end) return -1;
    if ((readU16(bytes, off + 2) & NLA_TYPE_MASK) === type) return off;
    off += (len + 3) & ~3;
  }
  return -1;
}
