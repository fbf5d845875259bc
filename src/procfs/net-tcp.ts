import { ProcParseError } from '../errors.js';
import type { SocketRecord, SocketSink } from '../kernel/socket-record.js';
import type { Family } from '../kernel/tcp.js';
import { HEX_BYTE, ipv4Key, type EndpointKey } from '../kernel/endpoint-key.js';

/**
 * /proc/net/tcp prints each 32-bit address word as the host reads the network-order bytes, so on
 * little-endian hosts the bytes come out reversed.
 */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
function networkOrder(printed: number): number {
  if (!LITTLE_ENDIAN) return printed >>> 0;
  return (((printed & 0xff) << 24) | ((printed & 0xff00) << 8) | ((printed >>> 8) & 0xff00) | (printed >>> 24)) >>> 0;
}

const SPACE = 0x20;
const NEWLINE = 0x0a;
const COLON = 0x3a;

/** Value of a hex digit byte, or -1. */
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[0x41 + i] = 10 + i;
  HEX[0x61 + i] = 10 + i;
}

/** Field names as the header line of /proc/net/tcp spells them, for error messages. */
type Field = 'sl' | 'local_address' | 'rem_address' | 'st' | 'tx_queue' | 'rx_queue' | 'tr' | 'tm->when' | 'retrnsmt' | 'uid' | 'timeout' | 'inode';

class LineError extends Error {
  constructor(
    readonly field: Field,
    detail: string,
  ) {
    super(detail);
  }
}

/**
 * Parses /proc/net/tcp or /proc/net/tcp6 as bytes, line by line, into a sink.
 *
 * It is pure (bytes in, records out) and incremental: feed it chunks of any size with push(),
 * then call finish(). The parser is itself the SocketRecord handed to the sink, refilled for
 * every line, so no object or string is made per socket. The remote address is decoded only
 * when the sink asks for it.
 *
 * Layout (net/ipv4/tcp_ipv4.c, get_tcp4_sock and friends):
 *   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ...
 *    0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   998        0 21857 ...
 * IPv6 addresses are 32 hex digits. Addresses are 32-bit words printed in host byte order.
 */
export class NetTcpParser implements SocketRecord {
  family: Family;
  state = 0;
  localPort = 0;
  remotePort = 0;
  rxQueue = 0;
  txQueue = 0;
  timer = 0;
  retransmits = 0;
  probes = 0;
  inode = 0;
  /** /proc/net/tcp has no cgroup column. */
  readonly cgroupId = 0;

  private readonly addressDigits: number;
  private line: Buffer = Buffer.alloc(0);
  private remoteAddressStart = 0;
  /** Bytes of an incomplete last line, carried to the next chunk. */
  private carry: Buffer = Buffer.alloc(0);
  private lineNumber = 0;
  private pos = 0;
  private end = 0;

  constructor(
    private readonly file: string,
    family: Family,
    private readonly sink: SocketSink,
  ) {
    this.family = family;
    this.addressDigits = family === 0 ? 8 : 32;
  }

  /** Parses every complete line in chunk[0, length). */
  push(chunk: Buffer, length = chunk.length): void {
    let start = 0;
    if (this.carry.length > 0) {
      const newline = chunk.indexOf(NEWLINE);
      if (newline < 0 || newline >= length) {
        this.carry = Buffer.concat([this.carry, chunk.subarray(0, length)]);
        return;
      }
      const joined = Buffer.concat([this.carry, chunk.subarray(0, newline)]);
      this.carry = Buffer.alloc(0);
      this.parseLine(joined, 0, joined.length);
      start = newline + 1;
    }
    while (start < length) {
      const newline = chunk.indexOf(NEWLINE, start);
      if (newline < 0 || newline >= length) {
        // Copy: the caller reuses its buffer for the next chunk.
        this.carry = Buffer.from(chunk.subarray(start, length));
        return;
      }
      this.parseLine(chunk, start, newline);
      start = newline + 1;
    }
  }

  /** Parses a last line that had no newline; throws if the file had no header. */
  finish(): void {
    if (this.carry.length > 0) {
      const last = this.carry;
      this.carry = Buffer.alloc(0);
      this.parseLine(last, 0, last.length);
    }
    if (this.lineNumber === 0) throw new ProcParseError(this.file, 1, 'sl', 'file is empty, expected the header line');
  }

  /** The same key netlink gives for the same endpoint (see endpoint-key.ts). */
  remoteEndpointKey(): EndpointKey {
    const line = this.line;
    const start = this.remoteAddressStart;
    if (this.family === 0) return ipv4Key(networkOrder(this.hexWord(line, start)), this.remotePort);
    // ::ffff:a.b.c.d is printed as three words 0, 0, 0x0000FFFF; the port space is IPv4's.
    if (isMappedIPv4(line, start)) return ipv4Key(networkOrder(this.hexWord(line, start + 24)), this.remotePort);
    let key = '';
    for (let word = start; word < start + 32; word += 8) {
      const value = networkOrder(this.hexWord(line, word));
      key += HEX_BYTE[value >>> 24]! + HEX_BYTE[(value >>> 16) & 255]! + HEX_BYTE[(value >>> 8) & 255]! + HEX_BYTE[value & 255]!;
    }
    return `${key}:${this.remotePort}`;
  }

  private parseLine(line: Buffer, start: number, end: number): void {
    this.lineNumber += 1;
    if (this.lineNumber === 1) {
      if (!startsWithHeader(line, start, end)) {
        throw new ProcParseError(this.file, 1, 'sl', 'missing header line "sl local_address rem_address st ..."');
      }
      return;
    }
    if (start === end) return;
    this.line = line;
    this.pos = start;
    this.end = end;
    try {
      this.skipSpaces();
      this.decimal('sl');
      this.expect(COLON, 'sl');
      this.skipSpaces();
      this.skipHex(this.addressDigits, 'local_address');
      this.expect(COLON, 'local_address');
      this.localPort = this.hexFixed(4, 'local_address');
      this.expect(SPACE, 'local_address');
      this.remoteAddressStart = this.pos;
      this.skipHex(this.addressDigits, 'rem_address');
      this.expect(COLON, 'rem_address');
      this.remotePort = this.hexFixed(4, 'rem_address');
      this.expect(SPACE, 'rem_address');
      this.state = this.hexFixed(2, 'st');
      this.expect(SPACE, 'st');
      this.txQueue = this.hexVariable('tx_queue');
      this.expect(COLON, 'tx_queue');
      this.rxQueue = this.hexVariable('rx_queue');
      this.expect(SPACE, 'rx_queue');
      this.timer = this.hexVariable('tr');
      this.expect(COLON, 'tr');
      this.hexVariable('tm->when');
      this.expect(SPACE, 'tm->when');
      this.retransmits = this.hexVariable('retrnsmt');
      this.skipSpaces();
      this.decimal('uid');
      this.skipSpaces();
      this.probes = this.signedDecimal('timeout');
      this.skipSpaces();
      this.inode = this.decimal('inode');
    } catch (error) {
      if (error instanceof LineError) throw new ProcParseError(this.file, this.lineNumber, error.field, error.message);
      throw error;
    }
    if (this.state < 1 || this.state > 12) {
      throw new ProcParseError(this.file, this.lineNumber, 'st', `unknown TCP state 0x${this.state.toString(16)}`);
    }
    this.sink.add(this);
  }

  private skipSpaces(): void {
    while (this.pos < this.end && this.line[this.pos] === SPACE) this.pos++;
  }

  private expect(byte: number, field: Field): void {
    if (this.pos >= this.end) throw new LineError(field, 'line ends early');
    if (this.line[this.pos] !== byte) {
      throw new LineError(field, `unexpected character ${JSON.stringify(String.fromCharCode(this.line[this.pos]!))}`);
    }
    this.pos++;
  }

  private hexFixed(digits: number, field: Field): number {
    if (this.end - this.pos < digits) throw new LineError(field, 'line ends early');
    let value = 0;
    for (let i = 0; i < digits; i++) {
      const digit = HEX[this.line[this.pos++]!]!;
      if (digit < 0) throw new LineError(field, 'not a hex number');
      value = value * 16 + digit;
    }
    return value;
  }

  private skipHex(digits: number, field: Field): void {
    if (this.end - this.pos < digits) throw new LineError(field, 'line ends early');
    for (let i = 0; i < digits; i++) {
      if (HEX[this.line[this.pos++]!]! < 0) throw new LineError(field, `not a ${digits}-digit hex address`);
    }
  }

  private hexVariable(field: Field): number {
    const first = this.pos;
    let value = 0;
    while (this.pos < this.end) {
      const digit = HEX[this.line[this.pos]!]!;
      if (digit < 0) break;
      value = value * 16 + digit;
      this.pos++;
    }
    if (this.pos === first) throw new LineError(field, this.pos >= this.end ? 'line ends early' : 'not a hex number');
    if (value > Number.MAX_SAFE_INTEGER) throw new LineError(field, 'beyond 2^53, not exactly representable');
    return value;
  }

  private decimal(field: Field): number {
    const first = this.pos;
    let value = 0;
    while (this.pos < this.end) {
      const byte = this.line[this.pos]!;
      if (byte < 0x30 || byte > 0x39) break;
      value = value * 10 + (byte - 0x30);
      this.pos++;
    }
    if (this.pos === first) throw new LineError(field, this.pos >= this.end ? 'line ends early' : 'not a decimal number');
    if (value > Number.MAX_SAFE_INTEGER) throw new LineError(field, 'beyond 2^53, not exactly representable');
    return value;
  }

  private signedDecimal(field: Field): number {
    if (this.line[this.pos] === 0x2d) {
      this.pos++;
      return -this.decimal(field);
    }
    return this.decimal(field);
  }

  private hexWord(line: Buffer, start: number): number {
    let value = 0;
    for (let i = start; i < start + 8; i++) value = value * 16 + HEX[line[i]!]!;
    return value;
  }
}

function startsWithHeader(line: Buffer, start: number, end: number): boolean {
  let pos = start;
  while (pos < end && line[pos] === SPACE) pos++;
  return line.toString('latin1', pos, Math.min(end, pos + 3)) === 'sl ';
}

const ZERO = 0x30;
function isMappedIPv4(line: Buffer, start: number): boolean {
  for (let i = start; i < start + 16; i++) if (line[i] !== ZERO) return false;
  // The third word, 0x0000FFFF in network order, reads as FFFF0000 on little-endian hosts and
  // 0000FFFF on big-endian ones.
  const word = line.toString('latin1', start + 16, start + 24).toUpperCase();
  return word === 'FFFF0000' || word === '0000FFFF';
}
