import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  findAttribute,
  INET_DIAG_INFO,
  TCP_CA_LOSS,
  TCP_CA_OPEN,
  TCP_INFO_LAYOUT,
  TcpInfoReader,
  type TcpInfoField,
} from '../../src/netlink/tcp-info.js';
import { aligned, inetDiagMessages, type DiagMessage } from '../helpers/inet-diag-messages.js';
import { parseSsInfo, ssNumber, type SsSocket } from '../helpers/ss-info.js';

const dir = fileURLToPath(new URL('../fixtures/netlink/tcpinfo/', import.meta.url));
const meta = JSON.parse(readFileSync(dir + 'meta.json', 'utf8')) as { kernel: string; dumpToSsEndMs: number; seq: { ipv4: number; ipv6: number } };

function dump(family: 'ipv4' | 'ipv6'): DiagMessage[] {
  const chunks = readdirSync(dir)
    .filter((f) => f.startsWith(`info-${family}-`))
    .sort()
    .map((f) => aligned(readFileSync(dir + f)));
  return inetDiagMessages(chunks, meta.seq[family]);
}

const messages = [...dump('ipv4'), ...dump('ipv6')];
const ss = new Map<string, SsSocket>(parseSsInfo(readFileSync(dir + 'ss.txt', 'utf8')).map((s) => [`${s.local} ${s.remote}`, s]));

/** ss prints these as `key:value` when the value is non-zero; value = tcp_info field ÷ divisor. */
const PRINTED_WHEN_NONZERO: ReadonlyArray<readonly [string, TcpInfoField, number]> = [
  ['backoff', 'backoff', 1],
  ['ato', 'ato', 1000],
  ['mss', 'sndMss', 1],
  ['pmtu', 'pmtu', 1],
  ['rcvmss', 'rcvMss', 1],
  ['advmss', 'advmss', 1],
  ['cwnd', 'sndCwnd', 1],
  ['bytes_sent', 'bytesSent', 1],
  ['bytes_retrans', 'bytesRetrans', 1],
  ['bytes_acked', 'bytesAcked', 1],
  ['bytes_received', 'bytesReceived', 1],
  ['segs_out', 'segsOut', 1],
  ['segs_in', 'segsIn', 1],
  ['data_segs_out', 'dataSegsOut', 1],
  ['data_segs_in', 'dataSegsIn', 1],
  ['delivered', 'delivered', 1],
  ['unacked', 'unacked', 1],
  ['lost', 'lost', 1],
  ['sacked', 'sacked', 1],
  ['dsack_dups', 'dsackDups', 1],
  ['reord_seen', 'reordSeen', 1],
  ['rcv_rtt', 'rcvRtt', 1000],
  ['rcv_space', 'rcvSpace', 1],
  ['rcv_ssthresh', 'rcvSsthresh', 1],
  ['notsent', 'notsentBytes', 1],
  ['minrtt', 'minRtt', 1000],
  ['snd_wnd', 'sndWnd', 1],
  ['rcv_ooopack', 'rcvOoopack', 1],
];
/** Clocks that ran on between the dump and ss: ss may be ahead by the capture's span, never behind. */
const TICKING: ReadonlyArray<readonly [string, TcpInfoField, number]> = [
  ['lastsnd', 'lastDataSent', 1],
  ['lastrcv', 'lastDataRecv', 1],
  ['lastack', 'lastAckRecv', 1],
  ['busy', 'busyTime', 1000],
  ['rwnd_limited', 'rwndLimited', 1000],
  ['sndbuf_limited', 'sndbufLimited', 1000],
];

function close(actual: number, expected: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.abs(expected) * 1e-5 + 1e-9);
}

describe('tcp_info from a real INET_DIAG_INFO dump (Linux ' + meta.kernel + '), checked against ss -tinoH of the same instant', () => {
  const info = new TcpInfoReader();

  it('finds every ESTABLISHED socket ss listed, each with a full tcp_info', () => {
    expect(messages.length).toBe(ss.size);
    expect(messages.length).toBeGreaterThanOrEqual(16);
    for (const m of messages) {
      expect(m.state).toBe(1);
      expect(ss.has(`${m.local} ${m.remote}`), `${m.local} ${m.remote} in ss`).toBe(true);
      expect(info.fromInetDiagMessage(m.bytes, m.payload, m.length)).toBe(true);
      expect(info.length).toBe(280); // 6.18: up to tcpi_accecn_opt_seen
      expect(info.get('accecnOptSeen')).toBeDefined();
      expect(info.get('state')).toBe(1);
    }
  });

  it('matches ss on rto, rtt/rttvar, retrans/total_retrans and every other figure ss prints', () => {
    for (const m of messages) {
      const s = ss.get(`${m.local} ${m.remote}`)!;
      info.fromInetDiagMessage(m.bytes, m.payload, m.length);
      const where = `${m.local} -> ${m.remote}`;
      const [rtt, rttvar] = s.fields.get('rtt')!.split('/').map(Number);
      close(rtt!, info.get('rtt')! / 1000);
      close(rttvar!, info.get('rttvar')! / 1000);
      close(ssNumber(s, 'rto')!, info.get('rto')! / 1000);
      const retrans = s.fields.get('retrans') ?? '0/0';
      expect(`${info.get('retrans')}/${info.get('totalRetrans')}`, where).toBe(retrans);
      if (info.get('sndSsthresh')! < 0xffff) expect(ssNumber(s, 'ssthresh'), where).toBe(info.get('sndSsthresh'));
      else expect(s.fields.has('ssthresh'), where).toBe(false);
      expect(ssNumber(s, 'reordering') ?? 3, where).toBe(info.get('reordering'));
      for (const [key, field, divisor] of PRINTED_WHEN_NONZERO) {
        const value = info.get(field)!;
        if (value === 0) expect(s.fields.has(key), `${where} ${key}`).toBe(false);
        else close(ssNumber(s, key)!, value / divisor);
      }
      for (const [key, field, divisor] of TICKING) {
        const ours = Math.floor(info.get(field)! / divisor);
        const theirs = ssNumber(s, key) ?? 0;
        expect(theirs - ours, `${where} ${key}`).toBeGreaterThanOrEqual(0);
        expect(theirs - ours, `${where} ${key}`).toBeLessThanOrEqual(Math.ceil(meta.dumpToSsEndMs) + 1);
      }
      const [snd, rcv] = s.fields.get('wscale')!.split(',').map(Number);
      expect([info.sndWscale(), info.rcvWscale()], where).toEqual([snd, rcv]);
      expect(info.deliveryRateAppLimited(), where).toBe(s.flags.has('app_limited'));
      expect(((info.get('options')! & 1) !== 0) === s.flags.has('ts') && ((info.get('options')! & 2) !== 0) === s.flags.has('sack'), where).toBe(true);
    }
  });

  it('reads the loss state of the blackholed sockets (7003): Loss, RTO backoff, lost segments', () => {
    const dark = messages.filter((m) => m.remotePort === 7003);
    expect(dark).toHaveLength(2);
    for (const m of dark) {
      const s = ss.get(`${m.local} ${m.remote}`)!;
      info.fromInetDiagMessage(m.bytes, m.payload, m.length);
      expect(info.get('caState')).toBe(TCP_CA_LOSS);
      expect(s.timer?.name).toBe('on');
      expect(info.get('retransmits')).toBe(s.timer!.count); // icsk_retransmits, as ss -o shows it
      expect(info.get('retransmits')).toBeGreaterThan(0);
      expect(info.get('backoff')).toBeGreaterThan(0);
      expect(info.get('lost')).toBeGreaterThan(0);
      expect(info.get('totalRto')).toBe(info.get('retransmits')); // every retransmission here was an RTO
    }
    const cleanPort = messages.filter((m) => m.localPort === 7001 || m.remotePort === 7001);
    expect(cleanPort.length).toBeGreaterThanOrEqual(6);
    for (const m of cleanPort) {
      info.fromInetDiagMessage(m.bytes, m.payload, m.length);
      expect([info.get('caState'), info.get('totalRetrans'), info.get('lost'), info.get('retransmits')]).toEqual([TCP_CA_OPEN, 0, 0, 0]);
    }
    const lossy = messages.filter((m) => m.remotePort === 7002).map((m) => info.fromInetDiagMessage(m.bytes, m.payload, m.length) && info.get('totalRetrans')!);
    expect(lossy.every((n) => typeof n === 'number' && n > 0)).toBe(true);
  });
});

describe('tcp_info cut short, as an older kernel sends it', () => {
  const m = messages.find((x) => x.remotePort === 7003)!;

  /** A copy of the message whose INET_DIAG_INFO attribute claims only `infoLength` bytes. */
  function truncated(infoLength: number): { bytes: Uint8Array; payload: number; length: number } {
    const bytes = aligned(m.bytes);
    const attr = findAttribute(bytes, m.payload + 72, m.payload + m.length, INET_DIAG_INFO);
    expect(attr).toBeGreaterThan(0);
    new DataView(bytes.buffer).setUint16(attr, 4 + infoLength, true);
    return { bytes, payload: m.payload, length: m.length };
  }

  it('leaves every field after tcpi_rcv_space absent when the struct ends there (100 bytes)', () => {
    const t = truncated(100);
    const info = new TcpInfoReader();
    expect(info.fromInetDiagMessage(t.bytes, t.payload, t.length)).toBe(true);
    expect(info.length).toBe(100);
    expect(info.get('rcvSpace')).toBe(65495);
    expect(info.get('rtt')).toBeGreaterThan(0);
    for (const field of ['totalRetrans', 'minRtt', 'deliveryRate', 'busyTime', 'rwndLimited', 'sndbufLimited', 'totalRtoTime'] as const) {
      expect(info.has(field), field).toBe(false);
      expect(info.get(field), field).toBeUndefined();
    }
    const present = Object.keys(TCP_INFO_LAYOUT).filter((f) => info.has(f as TcpInfoField));
    expect(present.at(-1)).toBe('rcvSpace');
  });

  it('treats a field cut in the middle as absent, and a message without the attribute as all-absent', () => {
    const info = new TcpInfoReader();
    info.fromInetDiagMessage(...Object.values(truncated(108)) as [Uint8Array, number, number]);
    expect(info.get('totalRetrans')).toBe(4);
    expect(info.get('pacingRate')).toBeUndefined(); // 104..112, only 4 of its bytes sent
    const bare = { bytes: aligned(m.bytes), payload: m.payload };
    expect(info.fromInetDiagMessage(bare.bytes, bare.payload, 72)).toBe(false);
    expect(info.length).toBe(0);
    expect(info.get('state')).toBeUndefined();
    expect(info.sndWscale()).toBeUndefined();
  });

  it('refuses a window outside the buffer with a one-line RangeError', () => {
    expect(() => new TcpInfoReader().at(new Uint8Array(10), 4, 248)).toThrow(/^tcp_info: 248 bytes at 4 do not fit a 10-byte buffer$/);
  });
});
