import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NetTcpParser } from '../../src/procfs/net-tcp.js';
import type { Family } from '../../src/kernel/tcp.js';
import { RecordingSink, type SeenSocket } from '../helpers/recording-sink.js';
import { onlyProcParseErrors, parseErrorOf, RUNS } from './property-helpers.js';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const hex = (value: number, digits: number): string => value.toString(16).toUpperCase().padStart(digits, '0');

const socket = fc.record({
  address: fc.array(fc.nat(0xffffffff), { minLength: 4, maxLength: 4 }),
  remote: fc.array(fc.nat(0xffffffff), { minLength: 4, maxLength: 4 }),
  localPort: fc.nat(65535),
  remotePort: fc.nat(65535),
  state: fc.integer({ min: 1, max: 12 }),
  txQueue: fc.nat(0xffffffff),
  rxQueue: fc.nat(0xffffffff),
  timer: fc.nat(4),
  retransmits: fc.nat(0xffffffff),
  uid: fc.nat(0xffffffff),
  probes: fc.integer({ min: -1, max: 255 }),
  inode: fc.maxSafeNat(),
});
type Generated = typeof socket extends fc.Arbitrary<infer T> ? T : never;

/** One line as get_tcp4_sock / get_tcp6_sock print it. */
function line(s: Generated, index: number, family: Family, override: { txQueue?: string; inode?: string } = {}): string {
  const words = family === 0 ? 1 : 4;
  const address = (ws: number[]): string => ws.slice(0, words).map((w) => hex(w, 8)).join('');
  const txQueue = override.txQueue ?? hex(s.txQueue, 8);
  const inode = override.inode ?? String(s.inode);
  return `${String(index).padStart(4)}: ${address(s.address)}:${hex(s.localPort, 4)} ${address(s.remote)}:${hex(s.remotePort, 4)} ${hex(s.state, 2)} ${txQueue}:${hex(s.rxQueue, 8)} ${hex(s.timer, 2)}:00000000 ${hex(s.retransmits, 8)} ${String(s.uid).padStart(5)} ${String(s.probes).padStart(8)} ${inode} 1 0000000000000000 20 4 30 10 -1\n`;
}

function parse(text: Buffer, family: Family, chunkSizes: readonly number[]): SeenSocket[] {
  const sink = new RecordingSink();
  const parser = new NetTcpParser('/proc/net/tcp', family, sink);
  let at = 0;
  for (let i = 0; at < text.length; i++) {
    const size = chunkSizes.length === 0 ? text.length : Math.max(1, chunkSizes[i % chunkSizes.length]!);
    parser.push(text.subarray(at, at + size));
    at += size;
  }
  parser.finish();
  return sink.seen;
}

const family = fc.constantFrom<Family>(0, 1);
const chunks = fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 5 });

describe('NetTcpParser properties', () => {
  it('reads back every field of every line, however the file is split into reads', () => {
    fc.assert(
      fc.property(fc.array(socket, { maxLength: 20 }), family, chunks, (sockets, fam, sizes) => {
        const text = Buffer.from(HEADER + sockets.map((s, i) => line(s, i, fam)).join(''), 'latin1');
        const seen = parse(text, fam, sizes);
        expect(seen).toHaveLength(sockets.length);
        seen.forEach((record, i) => {
          const s = sockets[i]!;
          expect(record).toMatchObject({ family: fam, state: s.state, localPort: s.localPort, remotePort: s.remotePort, txQueue: s.txQueue, rxQueue: s.rxQueue, timer: s.timer, retransmits: s.retransmits, probes: s.probes, inode: s.inode });
        });
      }),
      RUNS,
    );
  });

  it('throws only ProcParseError on damaged input, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.array(socket, { minLength: 1, maxLength: 5 }), family, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 6 }), chunks, (sockets, fam, at, junk, sizes) => {
        const text = Buffer.from(HEADER + sockets.map((s, i) => line(s, i, fam)).join(''), 'latin1');
        const cut = at % text.length;
        onlyProcParseErrors(() => parse(Buffer.concat([text.subarray(0, cut), junk, text.subarray(cut)]), fam, sizes));
      }),
      RUNS,
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), family, (bytes, fam) => onlyProcParseErrors(() => parse(Buffer.concat([Buffer.from(HEADER), bytes]), fam, []))), RUNS);
  });

  it('an inode or queue beyond 2^53 is an error naming the line and field', () => {
    fc.assert(
      fc.property(socket, fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 1n }), fc.constantFrom('inode', 'tx_queue'), (s, big, field) => {
        const text = line(s, 0, 0, field === 'inode' ? { inode: String(big) } : { txQueue: big.toString(16).toUpperCase() });
        const error = parseErrorOf(() => parse(Buffer.from(HEADER + text), 0, []));
        expect(error.line).toBe(2);
        expect(error.field).toBe(field);
        expect(error.message).toMatch(/beyond 2\^53/);
      }),
      RUNS,
    );
  });
});
