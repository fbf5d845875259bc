import { NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN } from './protocol.js';

/** NLMSG_DONE as the kernel sends it to a socket without extended acks (ours): a header and the int status. */
const DONE_LEN = NLMSG_HDRLEN + 4;

/**
 * Whether a datagram ends the dump of the request with sequence `seq`: it holds that request's
 * NLMSG_DONE or NLMSG_ERROR. Only the framing is read; the main thread's parser still walks every
 * message and is the one that decides what the dump held and whether it was sound. A framing it
 * cannot follow is "not the end": the parser will say why.
 *
 * Cheap on the host's dump (hundreds of datagrams of hundreds of messages): the kernel puts
 * NLMSG_DONE at the very end of the last datagram, and an error that stops a dump from starting
 * comes alone, so only those two places are looked at, and the messages are walked (to be sure
 * the candidate is a message, not bytes inside one that look like it) only when the tail is one.
 *
 * `words` is the same memory as `bytes` (native-endian u32), and `start` is 4-byte aligned, as
 * every datagram in the dump thread's slots is.
 */
export function endsDump(bytes: Uint8Array, words: Uint32Array, start: number, length: number, seq: number): boolean {
  const wantSeq = seq >>> 0;
  if (length >= NLMSG_HDRLEN && isMessage(bytes, words, start, NLMSG_ERROR, wantSeq) && words[start >>> 2]! <= length) return true;
  const tail = start + length - DONE_LEN;
  if (tail < start || (tail & 3) !== 0 || words[tail >>> 2] !== DONE_LEN || !isMessage(bytes, words, tail, NLMSG_DONE, wantSeq)) return false;
  return walksTo(words, start, start + length, tail);
}

/** Whether the header at `at` is of `type` and sequence `seq`. */
function isMessage(bytes: Uint8Array, words: Uint32Array, at: number, type: number, seq: number): boolean {
  return (bytes[at + 4]! | (bytes[at + 5]! << 8)) === type && words[(at >>> 2) + 2] === seq;
}

/** Whether the messages from `start` follow one another, whole, to one that starts at `target`. */
function walksTo(words: Uint32Array, start: number, end: number, target: number): boolean {
  for (let off = start; end - off >= NLMSG_HDRLEN; ) {
    if (off === target) return true;
    const len = words[off >>> 2]!;
    if (len < NLMSG_HDRLEN || len > end - off) return false;
    off += (len + 3) & ~3;
  }
  return false;
}

/** The sequence number of an encoded request (its nlmsghdr's seq, at byte 8). */
export function requestSeq(message: Uint8Array): number {
  return new DataView(message.buffer, message.byteOffset, message.byteLength).getUint32(8, true);
}
