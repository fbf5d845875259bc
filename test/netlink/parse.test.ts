import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SocketAggregate } from '../../src/aggregate/socket-aggregate.js';
import { NetlinkKernelError, NetlinkParseError } from '../../src/netlink/errors.js';
import { newDumpProgress, parseDumpChunk, type DumpProgress } from '../../src/netlink/parse.js';
import {
  AF_INET6,
  ALL_TCP_STATES,
  ALL_FAMILIES_REQUEST_LEN,
  DUMP_REQUEST_LEN,
  encodeAllFamiliesDumpRequest,
  encodeDumpRequest,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  SOCK_DIAG_BY_FAMILY,
  TCPDIAG_GETSOCK,
} from '../../src/netlink/protocol.js';
import { InetDiagRecord } from '../../src/netlink/record.js';
import type { SocketSink } from '../../src/kernel/socket-record.js';
import { STATE_SLOTS, TCP_ESTABLISHED, TCP_LISTEN, TCP_SYN_RECV, TCP_TIME_WAIT } from '../../src/kernel/tcp.js';
import { aligned, CAPTURED_SEQ, capturedDatagrams, capturedFile, wordsOf } from '../helpers/captured-netlink.js';
import { RecordingSink, type SeenSocket } from '../helpers/recording-sink.js';

const dir = fileURLToPath(new URL('../fixtures/netlink/', import.meta.url));
const SEQ = CAPTURED_SEQ;
const fixture = capturedFile;
const datagrams = capturedDatagrams;

function parseAll(chunks: Uint8Array[], sink: SocketSink, seq = SEQ): DumpProgress {
  const record = new InetDiagRecord();
  const progress = newDumpProgress();
  for (const chunk of chunks) {
    expect(progress.done).toBe(false);
    parseDumpChunk(chunk, wordsOf(chunk), 0, chunk.length, seq, record, sink, progress);
  }
  return progress;
}

function parseOne(chunk: Uint8Array, sink: SocketSink = new RecordingSink(), seq = SEQ): DumpProgress {
  return parseDumpChunk(chunk, wordsOf(chunk), 0, chunk.length, seq, new InetDiagRecord(), sink, newDumpProgress());
}

// ---- the oracle: ss -tanoeH, taken right after the capture ----

const SS_STATES: Record<string, number> = {
  ESTAB: 1,
  'SYN-SENT': 2,
  'SYN-RECV': 3,
  'FIN-WAIT-1': 4,
  'FIN-WAIT-2': 5,
  'TIME-WAIT': 6,
  UNCONN: 7,
  'CLOSE-WAIT': 8,
  'LAST-ACK': 9,
  LISTEN: 10,
  CLOSING: 11,
};
const SS_TIMERS: Record<string, number> = { on: 1, keepalive: 2, timewait: 3, persist: 4 };

interface SsLine {
  family: number;
  /** ss prints request sockets as SYN-RECV (3); the dump says 12, which we count as syn_recv. */
  state: number;
  rxQueue: number;
  txQueue: number;
  localPort: number;
  remotePort: number;
  timer: number;
  retrans: number;
  inode: number;
}

function ssLines(): SsLine[] {
  return readFileSync(dir + 'ss.txt', 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const f = line.trim().split(/\s+/);
      const local = f[3]!;
      const peer = f[4]!;
      const timer = /timer:\((\w+),[^,]*,(\d+)\)/.exec(line);
      const port = (endpoint: string): number => {
        const p = endpoint.slice(endpoint.lastIndexOf(':') + 1);
        return p === '*' ? 0 : Number(p);
      };
      return {
        family: local.startsWith('[') ? 1 : 0,
        state: SS_STATES[f[0]!]!,
        rxQueue: Number(f[1]),
        txQueue: Number(f[2]),
        localPort: port(local),
        remotePort: port(peer),
        timer: timer ? SS_TIMERS[timer[1]!]! : 0,
        retrans: timer ? Number(timer[2]) : 0,
        inode: Number(/ino:(\d+)/.exec(line)?.[1] ?? 0),
      };
    });
}

function signature(s: { family: number; state: number; localPort: number; remotePort: number; rxQueue: number; txQueue: number; timer: number; inode: number }, retrans: number): string {
  const state = s.state === 12 ? 3 : s.state;
  return [s.family, state, s.localPort, s.remotePort, s.rxQueue, s.txQueue, s.timer, retrans, s.inode].join(' ');
}

describe('encodeAllFamiliesDumpRequest', () => {
  it('builds nlmsghdr + the original inet_diag_req: TCPDIAG_GETSOCK, every state, no extensions', () => {
    const req = encodeAllFamiliesDumpRequest(42);
    const view = new DataView(req.buffer);
    expect(req.length).toBe(ALL_FAMILIES_REQUEST_LEN);
    expect(view.getUint32(0, true)).toBe(16 + 60);
    expect(view.getUint16(4, true)).toBe(TCPDIAG_GETSOCK);
    expect(view.getUint16(6, true)).toBe(NLM_F_REQUEST | NLM_F_DUMP);
    expect(view.getUint32(8, true)).toBe(42);
    expect(req[16 + 3]).toBe(0); // idiag_ext
    expect(view.getUint32(16 + 52, true)).toBe(ALL_TCP_STATES);
    expect(view.getUint32(16 + 56, true)).toBe(0); // idiag_dbs
  });
});

describe('encodeDumpRequest', () => {
  it('builds nlmsghdr + inet_diag_req_v2 for a TCP dump with no extensions', () => {
    const req = encodeDumpRequest(AF_INET6, 0x01020304);
    const view = new DataView(req.buffer);
    expect(req.length).toBe(DUMP_REQUEST_LEN);
    expect(view.getUint32(0, true)).toBe(72);
    expect(view.getUint16(4, true)).toBe(SOCK_DIAG_BY_FAMILY);
    expect(view.getUint16(6, true)).toBe(NLM_F_REQUEST | NLM_F_DUMP);
    expect(view.getUint32(8, true)).toBe(0x01020304);
    expect([req[16], req[17], req[18], req[19]]).toEqual([AF_INET6, 6, 0, 0]);
    expect(view.getUint32(20, true)).toBe(ALL_TCP_STATES);
    expect(req.subarray(24).every((b) => b === 0)).toBe(true);
  });

  it('matches, byte for byte, the request the kernel echoed back in a real NLMSG_ERROR', () => {
    const error = fixture('error-einval.bin');
    const echoed = error.subarray(20, 20 + DUMP_REQUEST_LEN);
    const ours = encodeDumpRequest(200, 11);
    // The kernel's copy has our port id filled in; everything else must be what we sent.
    expect(echoed.subarray(0, 12)).toEqual(ours.subarray(0, 12));
    expect(echoed.subarray(16)).toEqual(ours.subarray(16));
  });

  it('asks for every state from ESTABLISHED to NEW_SYN_RECV and not BOUND_INACTIVE', () => {
    for (let state = 1; state <= 12; state++) expect(ALL_TCP_STATES & (1 << state)).not.toBe(0);
    expect(ALL_TCP_STATES & 1).toBe(0);
    expect(ALL_TCP_STATES & (1 << 13)).toBe(0);
  });
});

describe('parseDumpChunk on real captures', () => {
  const oracle = ssLines();

  for (const [name, family] of [['ipv4', 0], ['ipv6', 1]] as const) {
    it(`${name}: every record equals what ss saw, across a multi-part dump`, () => {
      const chunks = datagrams(name);
      expect(chunks.length).toBeGreaterThan(1);
      const sink = new RecordingSink();
      const progress = parseAll(chunks, sink);
      expect(progress.done).toBe(true);
      expect(progress.sockets).toBe(sink.seen.length);

      const expected = oracle.filter((l) => l.family === family).map((l) => signature(l, l.retrans)).sort();
      // ss prints idiag_retrans whatever the timer; we split it into retransmits and probes.
      const got = sink.seen.map((s) => signature(s, s.retransmits + s.probes)).sort();
      expect(got).toEqual(expected);
    });
  }

  it('the single-walk TCPDIAG_GETSOCK dump gives exactly the two per-family dumps together', () => {
    const chunks = datagrams('all');
    expect(chunks.length).toBeGreaterThan(1);
    const all = new RecordingSink();
    expect(parseAll(chunks, all).done).toBe(true);
    const both = new RecordingSink();
    parseAll(datagrams('ipv4'), both);
    parseAll(datagrams('ipv6'), both);
    const sig = (s: SeenSocket): string => `${signature(s, s.retransmits + s.probes)} ${s.key}`;
    expect(all.seen.map(sig).sort()).toEqual(both.seen.map(sig).sort());
    expect(all.seen.some((s) => s.family === 0) && all.seen.some((s) => s.family === 1)).toBe(true);
  });

  it('the dump has every state the farm made; request sockets come as SYN_RECV without an inode', () => {
    const sink = new RecordingSink();
    parseAll(datagrams('ipv4'), sink);
    const states = new Set(sink.seen.map((s) => s.state));
    for (const state of [1, 2, 3, 5, 6, 8, 10]) expect(states).toContain(state);
    // tcp_req_diag_fill reports TCP_SYN_RECV for a request socket (NEW_SYN_RECV in the hash).
    const requests = sink.seen.filter((s) => s.state === TCP_SYN_RECV);
    expect(requests).toHaveLength(3);
    expect(requests.every((s) => s.inode === 0 && s.timer === 1)).toBe(true);
  });

  it('splits idiag_retrans: retransmits under the retransmit timer, probes under keepalive', () => {
    const sink = new RecordingSink();
    parseAll(datagrams('ipv4'), sink);
    const synSent = sink.seen.filter((s) => s.state === 2);
    expect(synSent.length).toBeGreaterThan(0);
    for (const s of synSent) {
      expect(s.timer).toBe(1);
      expect(s.retransmits).toBeGreaterThan(0);
      expect(s.probes).toBe(0);
    }
    const probing = sink.seen.filter((s) => s.timer === 2 && s.probes > 0);
    expect(probing.length).toBe(4); // both ends of the two half-open connections (keepidle 1 s)
    for (const s of probing) expect(s.retransmits).toBe(0);
  });

  it('reports the accept queue and its limit for LISTEN sockets', () => {
    const sink = new RecordingSink();
    parseAll(datagrams('ipv4'), sink);
    const slow = sink.seen.find((s) => s.state === TCP_LISTEN && s.localPort === 9000);
    expect(slow).toMatchObject({ rxQueue: 4, txQueue: 7 });
  });

  it('tallies into SocketAggregate', () => {
    const agg = new SocketAggregate({ ephemeralRange: [32768, 60999], remotePorts: new Set() });
    parseAll(datagrams('ipv4'), agg);
    parseAll(datagrams('ipv6'), agg);
    const count = (family: number, state: number): number => oracle.filter((l) => l.family === family && l.state === state).length;
    for (const state of [TCP_ESTABLISHED, TCP_SYN_RECV, TCP_TIME_WAIT, TCP_LISTEN]) {
      expect(agg.stateCounts[state]).toBe(count(0, state));
      expect(agg.stateCounts[STATE_SLOTS + state]).toBe(count(1, state));
    }
    expect(agg.keepaliveProbing).toBe(4);
    expect(agg.listenQueueLength.get(9000)).toBe(4);
    expect(agg.listenQueueLimit.get(9000)).toBe(7);
    expect(agg.listenQueueLimit.get(8443)).toBe(64);
  });

  it('keys remote endpoints: IPv4 as a number, IPv6 as a string, IPv4-mapped IPv6 as IPv4', () => {
    const v4 = new RecordingSink();
    parseAll(datagrams('ipv4'), v4);
    const toWeb = v4.seen.find((s) => s.remotePort === 8080)!;
    expect(toWeb.key).toBe(0x7f000001 * 65536 + 8080);

    const v6 = new RecordingSink();
    parseAll(datagrams('ipv6'), v6);
    const toWeb6 = v6.seen.find((s) => s.remotePort === 8443)!;
    expect(typeof toWeb6.key).toBe('string');
    expect(toWeb6.key).toBe('00000000000000000000000000000001:8443');

    // Rewrite that message's remote address to ::ffff:127.0.0.1: the key must equal IPv4's.
    const chunk = aligned(datagrams('ipv6')[0]!);
    const words = wordsOf(chunk);
    let off = 0;
    let rewritten = false;
    while (off < chunk.length && !rewritten) {
      const len = words[off >>> 2]!;
      const p = off + 16;
      if (chunk[off + 4] === SOCK_DIAG_BY_FAMILY && ((chunk[p + 6]! << 8) | chunk[p + 7]!) === 8443) {
        chunk.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1], p + 24);
        rewritten = true;
      }
      off += (len + 3) & ~3;
    }
    expect(rewritten).toBe(true);
    const mapped = new RecordingSink();
    parseOne(chunk, mapped);
    expect(mapped.seen.some((s) => s.remotePort === 8443 && s.key === 0x7f000001 * 65536 + 8443)).toBe(true);
  });

  it('keys many sockets towards one destination alike, and different destinations apart (through the key cache)', () => {
    const v4 = new RecordingSink();
    parseAll(datagrams('ipv4'), v4);
    const keys = new Map<number | string, Set<string>>();
    for (const s of v4.seen) {
      if (s.remotePort === 0) continue;
      const endpoints = keys.get(s.key) ?? new Set<string>();
      endpoints.add(String(s.remotePort)); // every remote address in the capture is 127.0.0.1
      keys.set(s.key, endpoints);
    }
    for (const endpoints of keys.values()) expect(endpoints.size).toBe(1);
    expect(keys.get(0x7f000001 * 65536 + 8080)).toBeDefined();

    // One record, alternating between an IPv4 and an IPv6 message whose words would collide
    // if the cache ignored the family: ::ffff:ffff:ffff:ffff:ffff:ffff:7f00:1 vs 127.0.0.1.
    const v4chunk = aligned(datagrams('ipv4')[1]!);
    const v6chunk = aligned(datagrams('ipv6')[0]!);
    const record = new InetDiagRecord();
    const keyOf = (chunk: Uint8Array, family: 0 | 1, port: number, address?: number[]): number | string => {
      const p = 16;
      if (address) chunk.set(address, p + 24);
      record.bytes = chunk;
      record.msgOffset = p;
      record.family = family;
      record.remotePort = port;
      return record.remoteEndpointKey();
    };
    const a = keyOf(v4chunk, 0, 8080, [127, 0, 0, 1]);
    const b = keyOf(v6chunk, 1, 8080, [0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 127, 0, 0, 1]);
    expect(a).toBe(0x7f000001 * 65536 + 8080);
    expect(b).toBe('0000ffffffffffffffffffff7f000001:8080');
    expect(keyOf(v4chunk, 0, 8080)).toBe(a);
    expect(keyOf(v4chunk, 0, 8081)).toBe(0x7f000001 * 65536 + 8081);
    expect(keyOf(v6chunk, 1, 8080)).toBe(b);
  });

  it('reports a zero-window probe timer (4) as probes, not retransmits', () => {
    const chunk = aligned(datagrams('ipv4')[1]!);
    chunk[16 + 2] = 4; // idiag_timer of the first message
    chunk[16 + 3] = 5; // idiag_retrans
    const sink = new RecordingSink();
    parseOne(chunk, sink);
    expect(sink.seen[0]).toMatchObject({ timer: 4, probes: 5, retransmits: 0 });
  });

  it('skips messages of another sequence number', () => {
    const sink = new RecordingSink();
    const progress = parseAll(datagrams('ipv4'), sink, SEQ + 1);
    expect(sink.seen).toHaveLength(0);
    expect(progress.done).toBe(false);
  });
});

describe('parseDumpChunk on errors and broken bytes', () => {
  it('throws NetlinkKernelError for a real NLMSG_ERROR', () => {
    const error = fixture('error-einval.bin');
    expect(() => parseOne(error, new RecordingSink(), 11)).toThrowError(NetlinkKernelError);
    try {
      parseOne(error, new RecordingSink(), 11);
    } catch (e) {
      expect((e as NetlinkKernelError).errno).toBe(22);
      expect((e as Error).message).toMatch(/EINVAL/);
    }
  });

  it('throws NetlinkKernelError for an NLMSG_DONE that carries a negative errno', () => {
    const done = fixture('done-enoent.bin');
    try {
      parseOne(done, new RecordingSink(), 9);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(NetlinkKernelError);
      expect((e as NetlinkKernelError).errno).toBe(2);
    }
  });

  it('treats an NLMSG_ERROR with error 0 (an ack) as the end', () => {
    const ack = aligned(fixture('error-einval.bin'));
    new DataView(ack.buffer).setInt32(16, 0, true);
    expect(parseOne(ack, new RecordingSink(), 11).done).toBe(true);
  });

  it('throws NetlinkParseError for a datagram cut inside a message', () => {
    const whole = datagrams('ipv4')[1]!;
    for (const cut of [7, 16 + 40, 130, whole.length - 3]) {
      const chunk = aligned(whole.subarray(0, cut));
      expect(() => parseOne(chunk)).toThrowError(NetlinkParseError);
    }
  });

  it('reports where: the offending byte offset and the lengths', () => {
    const chunk = aligned(datagrams('ipv4')[1]!.subarray(0, 100));
    expect(() => parseOne(chunk)).toThrowError(/message at byte 0 claims length \d+, 100 bytes left/);
  });

  it('throws for a message length below the header size (no endless loop)', () => {
    const chunk = aligned(datagrams('ipv4')[1]!);
    new DataView(chunk.buffer).setUint32(0, 4, true);
    expect(() => parseOne(chunk)).toThrowError(/claims length 4/);
  });

  it('throws for an inet_diag_msg shorter than the struct', () => {
    const chunk = aligned(datagrams('ipv4')[1]!.subarray(0, 60));
    new DataView(chunk.buffer).setUint32(0, 60, true);
    expect(() => parseOne(chunk)).toThrowError(/is 44 bytes, want 72/);
  });

  it('throws NLMSG_OVERRUN as an error', () => {
    const chunk = aligned(fixture('ipv4-003.bin'));
    new DataView(chunk.buffer).setUint16(4, 4, true);
    expect(() => parseOne(chunk)).toThrowError(/OVERRUN/);
  });

  it('ignores NLMSG_NOOP and unknown message types', () => {
    const chunk = aligned(datagrams('ipv4')[1]!);
    new DataView(chunk.buffer).setUint16(4, 1, true); // first message becomes NOOP
    const sink = new RecordingSink();
    parseOne(chunk, sink);
    const all = new RecordingSink();
    parseOne(aligned(datagrams('ipv4')[1]!), all);
    expect(sink.seen.length).toBe(all.seen.length - 1);
  });

  it('an empty chunk changes nothing', () => {
    const progress = parseOne(new Uint8Array(0));
    expect(progress).toEqual({ done: false, sockets: 0 });
  });

  it('refuses an unaligned start', () => {
    const chunk = datagrams('ipv4')[1]!;
    expect(() => parseDumpChunk(chunk, wordsOf(chunk), 2, chunk.length, SEQ, new InetDiagRecord(), new RecordingSink(), newDumpProgress())).toThrowError(RangeError);
  });
});
