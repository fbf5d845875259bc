import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findAttribute, INET_DIAG_INFO, TcpInfoReader } from '../../src/netlink/tcp-info.js';
import { CA_STATES, TcpInfoSummary } from '../../src/netlink/tcpinfo-summary.js';
import { aligned, inetDiagMessages } from '../helpers/inet-diag-messages.js';
import { parseSsInfo, ssNumber, type SsSocket } from '../helpers/ss-info.js';

const dir = fileURLToPath(new URL('../fixtures/netlink/tcpinfo/', import.meta.url));
const meta = JSON.parse(readFileSync(dir + 'meta.json', 'utf8')) as { dumpToSsEndMs: number; seq: { ipv4: number; ipv6: number } };
const messages = (['ipv4', 'ipv6'] as const).flatMap((family) =>
  inetDiagMessages(
    readdirSync(dir).filter((f) => f.startsWith(`info-${family}-`)).sort().map((f) => aligned(readFileSync(dir + f))),
    meta.seq[family],
  ),
);
const ss = new Map(parseSsInfo(readFileSync(dir + 'ss.txt', 'utf8')).map((s) => [`${s.local} ${s.remote}`, s]));
const PORTS = [7001, 7002, 7003, 7004];
const slotOf = (port: number, direction: 'local' | 'remote'): number => PORTS.indexOf(port) * 2 + (direction === 'local' ? 0 : 1);

describe('tcp_info summary per {port, direction}, against ss -tinoH of the same instant', () => {
  const summary = new TcpInfoSummary(PORTS.length * 2);
  const bySlot = new Map<number, SsSocket[]>();
  const info = new TcpInfoReader();
  for (const m of messages) {
    expect(info.fromInetDiagMessage(m.bytes, m.payload, m.length)).toBe(true);
    for (const [port, direction] of [[m.localPort, 'local'], [m.remotePort, 'remote']] as const) {
      if (!PORTS.includes(port)) continue;
      const slot = slotOf(port, direction);
      summary.add(slot, info);
      bySlot.set(slot, [...(bySlot.get(slot) ?? []), ss.get(`${m.local} ${m.remote}`)!]);
    }
  }
  const sum = (list: SsSocket[], f: (s: SsSocket) => number): number => list.reduce((a, s) => a + f(s), 0);

  it('has every series of the fixture, with socket counts, retransmission and loss sums as ss shows them', () => {
    expect(bySlot.size).toBe(8);
    for (const [slot, list] of bySlot) {
      expect(summary.sockets[slot], `slot ${slot}`).toBe(list.length);
      expect(summary.totalRetransSum[slot], `slot ${slot}`).toBe(sum(list, (s) => Number((s.fields.get('retrans') ?? '0/0').split('/')[1])));
      expect(summary.lostSum[slot], `slot ${slot}`).toBe(sum(list, (s) => ssNumber(s, 'lost') ?? 0));
      // segs_out only grows, and ss ran right after the dump.
      const ssSegsOut = sum(list, (s) => ssNumber(s, 'segs_out') ?? 0);
      expect(summary.segsOutSum[slot]!, `slot ${slot}`).toBeLessThanOrEqual(ssSegsOut);
      expect(summary.segsOutSum[slot]!, `slot ${slot}`).toBeGreaterThanOrEqual(ssSegsOut * 0.9);
      expect(summary.retransmittingSockets[slot], `slot ${slot}`).toBe(list.filter((s) => s.timer?.name === 'on' && s.timer.count > 0).length);
      expect(summary.minRttSeconds(slot)! * 1000, `slot ${slot}`).toBeCloseTo(Math.min(...list.map((s) => ssNumber(s, 'minrtt')!)), 6);
      const meanVar = sum(list, (s) => Number(s.fields.get('rtt')!.split('/')[1])) / list.length;
      expect(summary.meanRttvarSeconds(slot)! * 1000, `slot ${slot}`).toBeCloseTo(meanVar, 6);
      // rwnd_limited ticks on between the dump and ss; ss prints whole ms.
      const ssRwndMs = sum(list, (s) => ssNumber(s, 'rwnd_limited') ?? 0);
      expect(ssRwndMs - summary.rwndLimitedMicrosSum[slot]! / 1000, `slot ${slot}`).toBeGreaterThanOrEqual(-list.length);
      expect(ssRwndMs - summary.rwndLimitedMicrosSum[slot]! / 1000, `slot ${slot}`).toBeLessThanOrEqual(list.length * (meta.dumpToSsEndMs + 1));
      let caTotal = 0;
      for (let ca = 0; ca < CA_STATES.length; ca++) caTotal += summary.caState(slot, ca);
      expect(caTotal).toBe(list.length);
    }
    expect(Math.max(...summary.segsOutSum)).toBeGreaterThan(100);
    const darkClients = slotOf(7003, 'remote');
    expect(summary.caState(darkClients, CA_STATES.indexOf('loss'))).toBe(2);
    expect(summary.retransmittingSockets[darkClients]).toBe(2);
    expect(summary.lostSum[darkClients]).toBeGreaterThan(0);
    expect(summary.totalRetransSum[slotOf(7002, 'remote')]).toBeGreaterThan(0);
    expect([summary.totalRetransSum[slotOf(7001, 'local')], summary.totalRetransSum[slotOf(7001, 'remote')]]).toEqual([0, 0]);
    for (const field of ['rtt', 'rttvar', 'minRtt', 'lastDataRecv', 'totalRetrans', 'lost', 'rwndLimited', 'sndbufLimited', 'caState', 'retransmits', 'segsOut'] as const) {
      expect(summary.has(field), field).toBe(true);
    }
  });

  it('leaves out what an older kernel does not send, and starts from nothing after reset()', () => {
    const m = messages[0]!;
    const bytes = aligned(m.bytes);
    const attr = findAttribute(bytes, m.payload + 72, m.payload + m.length, INET_DIAG_INFO);
    new DataView(bytes.buffer).setUint16(attr, 4 + 100, true); // ends at tcpi_rcv_space
    const old = new TcpInfoSummary(1);
    const reader = new TcpInfoReader();
    reader.fromInetDiagMessage(bytes, m.payload, m.length);
    old.add(0, reader);
    expect([old.has('rtt'), old.has('lost'), old.has('caState')]).toEqual([true, true, true]);
    expect([old.has('totalRetrans'), old.has('minRtt'), old.has('rwndLimited'), old.has('sndbufLimited'), old.has('segsOut')]).toEqual([false, false, false, false, false]);
    expect(old.minRttSeconds(0)).toBeUndefined();
    summary.reset();
    expect([summary.sockets[0], summary.rtt.count(0), summary.has('rtt'), summary.minRttSeconds(0), summary.meanRttvarSeconds(0)]).toEqual([0, 0, false, undefined, undefined]);
  });
});
