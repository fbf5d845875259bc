import { NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN } from './protocol.js';

/**
 * Whether a datagram ends the dump of the request with sequence `seq`: it holds that request's
 * NLMSG_DONE or NLMSG_ERROR. Only the framing is read (each message's length, type and seq); the
 * main thread's parser still walks every message and is the one that decides what the dump held
 * and whether it was sound. A framing it cannot follow is "not the end": the parser will say why.
 *
 * `words` is the same memory as `bytes` (native-endian u32), and `start` is 4-byte aligned, as
 * every datagram in the dump thread's slots is.
 */
export function endsDump(bytes: Uint8Array, words: Uint32Array, start: number, length: number, seq: number): boolean {
  const end = start + length;
  const wantSeq = seq >>> 0;
  for (let off = start; end - off >= NLMSG_HDRLEN; ) {
    const len = words[off >>> 2]!;
    if (len < NLMSG_HDRLEN || len > end - off) return false;
    const type = bytes[off + 4]! | (bytes[off + 5]! << 8);
    if ((type === NLMSG_DONE || type === NLMSG_ERROR) && words[(off >>> 2) + 2] === wantSeq) return true;
    off += (len + 3) & ~3;
  }
  return false;
}

/** The sequence number of an encoded request (its nlmsghdr's seq, at byte 8). */
export function requestSeq(message: Uint8Array): number {
  return new DataView(message.buffer, message.byteOffset, message.byteLength).getUint32(8, true);
}
