/**
 * Test-side walk over captured or live inet_diag dump datagrams: one plain object per message,
 * with its endpoints formatted as `ss -n` prints them, so tests can join the two.
 */

export interface DiagMessage {
  /** The datagram the message sits in. */
  bytes: Uint8Array;
  /** Offset of the inet_diag_msg (after the nlmsghdr) and its length. */
  payload: number;
  length: number;
  family: number;
  state: number;
  timer: number;
  retrans: number;
  localPort: number;
  remotePort: number;
  /** "127.0.0.1:7001" or "[::1]:7001", as ss -n prints it. */
  local: string;
  remote: string;
}

const NLMSG_DONE = 3;
const NLMSG_ERROR = 2;

/** Every inet_diag_msg of sequence `seq` in `chunks`; throws on NLMSG_ERROR or a missing NLMSG_DONE. */
export function inetDiagMessages(chunks: readonly Uint8Array[], seq: number): DiagMessage[] {
  const out: DiagMessage[] = [];
  for (const bytes of chunks) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let off = 0; off + 16 <= bytes.length; ) {
      const len = view.getUint32(off, true);
      const type = view.getUint16(off + 4, true);
      if (len < 16 || off + len > bytes.length) throw new Error(`bad netlink length ${len} at ${off}`);
      if (view.getUint32(off + 8, true) === seq) {
        if (type === NLMSG_DONE) return out;
        if (type === NLMSG_ERROR) throw new Error(`netlink error ${-view.getInt32(off + 16, true)}`);
        const p = off + 16;
        const family = bytes[p]!;
        out.push({
          bytes,
          payload: p,
          length: len - 16,
          family,
          state: bytes[p + 1]!,
          timer: bytes[p + 2]!,
          retrans: bytes[p + 3]!,
          localPort: view.getUint16(p + 4, false),
          remotePort: view.getUint16(p + 6, false),
          local: endpoint(bytes, family, p + 8, view.getUint16(p + 4, false)),
          remote: endpoint(bytes, family, p + 24, view.getUint16(p + 6, false)),
        });
      }
      off += (len + 3) & ~3;
    }
  }
  throw new Error('the dump has no NLMSG_DONE');
}

function endpoint(bytes: Uint8Array, family: number, at: number, port: number): string {
  if (family === 2) return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}:${port}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[at + i]! << 8) | bytes[at + i + 1]!).toString(16));
  // The WHATWG URL parser prints IPv6 in the compressed form ss uses.
  return `${new URL(`http://[${groups.join(':')}]/`).hostname}:${port}`;
}

/** A copy at the start of a fresh ArrayBuffer (the parsers want a 4-byte aligned start). */
export function aligned(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(new ArrayBuffer((bytes.length + 3) & ~3), 0, bytes.length);
  copy.set(bytes);
  return copy;
}
