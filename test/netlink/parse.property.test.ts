import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NetlinkKernelError, NetlinkParseError } from '../../src/netlink/errors.js';
import { newDumpProgress, parseDumpChunk } from '../../src/netlink/parse.js';
import { AF_INET, AF_INET6, INET_DIAG_MSG_LEN, NLMSG_DONE, NLMSG_HDRLEN, SOCK_DIAG_BY_FAMILY } from '../../src/netlink/protocol.js';
import { InetDiagRecord } from '../../src/netlink/record.js';

/** nlmsg_flags of every message of a dump reply. */
const NLM_F_MULTI = 0x2;
import { RecordingSink } from '../helpers/recording-sink.js';

/** Bounded: a few hundred dumps, and a time cap for a busy machine. */
const RUNS = { numRuns: 300, interruptAfterTimeLimit: 3000 } as const;
const SEQ = 42;

const socket = fc.record({
  family: fc.constantFrom(AF_INET, AF_INET6),
  state: fc.integer({ min: 1, max: 12 }),
  timer: fc.nat(4),
  retrans: fc.nat(255),
  localPort: fc.nat(65535),
  remotePort: fc.nat(65535),
  dst: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  rxQueue: fc.nat(0xffffffff),
  txQueue: fc.nat(0xffffffff),
  inode: fc.nat(0xffffffff),
  /** Bytes of attributes after the fixed struct, as the kernel appends (INET_DIAG_INFO and friends). */
  attributes: fc.nat(64).map((n) => n & ~3),
});
type Generated = typeof socket extends fc.Arbitrary<infer T> ? T : never;

function header(view: DataView, at: number, len: number, type: number, seq: number): void {
  view.setUint32(at, len, true);
  view.setUint16(at + 4, type, true);
  view.setUint16(at + 6, NLM_F_MULTI, true);
  view.setUint32(at + 8, seq, true);
}

/** A dump as the kernel writes it: one message per socket, then NLMSG_DONE. */
function encode(sockets: readonly Generated[], seq = SEQ, done = true): Uint8Array {
  const sizes = sockets.map((s) => NLMSG_HDRLEN + INET_DIAG_MSG_LEN + s.attributes);
  const total = sizes.reduce((a, b) => a + b, 0) + (done ? NLMSG_HDRLEN + 4 : 0);
  const bytes = new Uint8Array(new ArrayBuffer(total));
  const view = new DataView(bytes.buffer);
  let at = 0;
  sockets.forEach((s, i) => {
    header(view, at, sizes[i]!, SOCK_DIAG_BY_FAMILY, seq);
    const p = at + NLMSG_HDRLEN;
    bytes.set([s.family, s.state, s.timer, s.retrans], p);
    view.setUint16(p + 4, s.localPort, false);
    view.setUint16(p + 6, s.remotePort, false);
    bytes.set(s.dst, p + 24);
    view.setUint32(p + 56, s.rxQueue, true);
    view.setUint32(p + 60, s.txQueue, true);
    view.setUint32(p + 68, s.inode, true);
    at += sizes[i]!;
  });
  if (done) header(view, at, NLMSG_HDRLEN + 4, NLMSG_DONE, seq);
  return bytes;
}

function parse(bytes: Uint8Array, seq = SEQ) {
  const sink = new RecordingSink();
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
  const progress = parseDumpChunk(bytes, words, 0, bytes.length, seq, new InetDiagRecord(), sink, newDumpProgress());
  return { progress, seen: sink.seen };
}

describe('parseDumpChunk properties', () => {
  it('reads back every socket of a dump, and ends at NLMSG_DONE', () => {
    fc.assert(
      fc.property(fc.array(socket, { maxLength: 30 }), (sockets) => {
        const { progress, seen } = parse(encode(sockets));
        expect(progress.done).toBe(true);
        expect(progress.sockets).toBe(sockets.length);
        seen.forEach((record, i) => {
          const s = sockets[i]!;
          expect(record).toMatchObject({ family: s.family === AF_INET6 ? 1 : 0, state: s.state, timer: s.timer, localPort: s.localPort, remotePort: s.remotePort, rxQueue: s.rxQueue, txQueue: s.txQueue, inode: s.inode });
          expect(record.retransmits + record.probes).toBe(s.timer === 1 || s.timer === 2 || s.timer === 4 ? s.retrans : 0);
        });
      }),
      RUNS,
    );
  });

  it('skips the messages of another sequence number', () => {
    fc.assert(
      fc.property(fc.array(socket, { minLength: 1, maxLength: 10 }), fc.nat(0xffffffff), (sockets, other) => {
        fc.pre(other !== SEQ);
        const { progress, seen } = parse(encode(sockets, other, false));
        expect(seen).toHaveLength(0);
        expect(progress.done).toBe(false);
      }),
      RUNS,
    );
  });

  it('throws only its own errors on damaged bytes, whatever they are', () => {
    const onlyOwnErrors = (bytes: Uint8Array): void => {
      try {
        parse(bytes);
      } catch (error) {
        expect(error instanceof NetlinkParseError || error instanceof NetlinkKernelError).toBe(true);
        expect((error as Error).message).not.toContain('\n');
      }
    };
    fc.assert(
      fc.property(fc.array(socket, { minLength: 1, maxLength: 8 }), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 8 }), fc.nat(), (sockets, flips, cut) => {
        const bytes = encode(sockets);
        for (const [at, value] of flips) bytes[at % bytes.length] = value;
        const length = (cut % bytes.length) & ~3;
        onlyOwnErrors(bytes);
        onlyOwnErrors(new Uint8Array(bytes.buffer, 0, length));
      }),
      RUNS,
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (random) => {
        const bytes = new Uint8Array(new ArrayBuffer(random.length & ~3));
        bytes.set(random.subarray(0, bytes.length));
        // The sequence number of the first message is ours, so its body is actually parsed.
        if (bytes.length >= 12) new DataView(bytes.buffer).setUint32(8, SEQ, true);
        onlyOwnErrors(bytes);
      }),
      RUNS,
    );
  });
});
