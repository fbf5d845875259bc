import type { EndpointKey } from '../kernel/endpoint-key.js';
import { HEX_BYTE } from '../kernel/endpoint-key.js';
import type { SocketRecord } from '../kernel/socket-record.js';
import type { Family } from '../kernel/tcp.js';
import { INET_DIAG_CGROUP_ID, INET_DIAG_MSG_LEN } from './protocol.js';
import { findAttribute, INET_DIAG_INFO, RTATTR_HDRLEN } from './tcp-info.js';

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
  /**
   * Set by the parser for each message: INET_DIAG_CGROUP_ID is looked for only when a sink reads
   * `cgroupId` (the cgroup collector does; the tcp_info dump and --no-collector.cgroup scrapes
   * never pay for the attribute walk).
   */
  cgroupIdPending = false;
  private cgroupIdValue = 0;
  /** Buffer and offset of the current inet_diag_msg, and its length (attributes included). */
  bytes: Uint8Array = EMPTY;
  /** The same buffer as 32-bit words (the parser's view; attributes are 4-byte aligned). */
  words: Uint32Array = EMPTY_WORDS;
  msgOffset = 0;
  msgLength = 0;
  /**
   * Bytes of tcp_info in the current message, as the last `locateInfo()` found them (0: the
   * message has no INET_DIAG_INFO attribute). Only meaningful right after `locateInfo()`.
   */
  infoLength = 0;
  /** Key cache: per entry, the remote address as 4 words (IPv4: one word, rest -1), port, and 4 or 6. */
  private readonly cacheTags = new Int32Array(KEY_CACHE_SIZE * 6).fill(-1);
  /** Filled with strings so that V8 keeps boxed elements: a double-elements array would box a new number on every read. */
  private readonly cacheKeys: Array<number | string> = new Array<number | string>(KEY_CACHE_SIZE).fill('');

  /**
   * The offset in `bytes` of the current message's struct tcp_info (the INET_DIAG_INFO
   * attribute's payload), or -1 when the message has none; sets `infoLength`. The attributes are
   * walked only here, when a sink asks: the counting dump never requests the extension and never
   * pays for looking for it.
   */
  get cgroupId(): number {
    if (this.cgroupIdPending) {
      this.cgroupIdValue = cgroupIdOf(this.words, this.msgOffset + INET_DIAG_MSG_LEN, this.msgOffset + this.msgLength);
      this.cgroupIdPending = false;
    }
    return this.cgroupIdValue;
  }

  /** For a test that renumbers ids of a replayed capture. */
  set cgroupId(id: number) {
    this.cgroupIdValue = id;
    this.cgroupIdPending = false;
  }

  locateInfo(): number {
    const start = this.msgOffset;
    const attr = findAttribute(this.bytes, start + INET_DIAG_MSG_LEN, start + this.msgLength, INET_DIAG_INFO);
    if (attr < 0) {
      this.infoLength = 0;
      return -1;
    }
    // The attribute's own length (u16, header included), as findAttribute checked it fits.
    const b = this.bytes;
    const len = LITTLE_ENDIAN ? b[attr]! | (b[attr + 1]! << 8) : (b[attr]! << 8) | b[attr + 1]!;
    this.infoLength = len - RTATTR_HDRLEN;
    return attr + RTATTR_HDRLEN;
  }

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
const EMPTY_WORDS = new Uint32Array(0);

/** rtattr type bits; the top two are flags (NLA_F_NESTED, NLA_F_NET_BYTEORDER). */
const NLA_TYPE_MASK = 0x3fff;

/**
 * The INET_DIAG_CGROUP_ID of one message, or 0 when it has none: walks the attributes in
 * `[at, end)` (4-byte aligned, as the message is) and stops at the first cgroup id. Full sockets
 * carry three or four small attributes (MARK when root, SHUTDOWN, CGROUP_ID, SOCKOPT), so this is
 * a few word reads per record. Each rtattr header is one little-endian word, len | type << 16, as
 * the rest of the parser reads the host-endian netlink header. A length below the header or beyond
 * the message ends the walk: nothing after it can be trusted, and the socket simply has no id.
 */
function cgroupIdOf(words: Uint32Array, at: number, end: number): number {
  let a = at;
  while (a + 4 <= end) {
    const header = words[a >>> 2]!;
    const len = header & 0xffff;
    if (len < 4 || a + len > end) return 0;
    if (((header >>> 16) & NLA_TYPE_MASK) === INET_DIAG_CGROUP_ID) {
      if (len < 12) return 0;
      // A u64 as hi * 2^32 + lo: exact below 2^53, far above the kernfs ids a kernel hands out.
      return words[(a >>> 2) + 2]! * 4294967296 + words[(a >>> 2) + 1]!;
    }
    a += (len + 3) & ~3;
  }
  return 0;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A big-endian 32-bit word as a signed int (cache tag); `>>> 0` gives the address. */
function be32(b: Uint8Array, at: number): number {
  return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}

