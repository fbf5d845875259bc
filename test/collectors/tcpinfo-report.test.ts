/**
 * The tcpinfo series from real captured tcp_info, and from the same bytes cut to what older
 * kernels send: a field beyond the kernel's length leaves its metric out, never reports 0.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { reportTcpInfo } from '../../src/collectors/tcpinfo-report.js';
import { watchedPorts } from '../../src/collectors/tcpinfo-ports.js';
import { findAttribute, INET_DIAG_INFO, TcpInfoReader } from '../../src/netlink/tcp-info.js';
import { TcpInfoSummary } from '../../src/netlink/tcpinfo-summary.js';
import { parseExposition } from '../helpers/exposition.js';
import { aligned, inetDiagMessages } from '../helpers/inet-diag-messages.js';

const dir = fileURLToPath(new URL('../fixtures/netlink/tcpinfo/', import.meta.url));
const meta = JSON.parse(readFileSync(dir + 'meta.json', 'utf8')) as { seq: { ipv4: number; ipv6: number } };
const messages = (['ipv4', 'ipv6'] as const).flatMap((family) =>
  inetDiagMessages(readdirSync(dir).filter((f) => f.startsWith(`info-${family}-`)).sort().map((f) => aligned(readFileSync(dir + f))), meta.seq[family]),
);

/** The series names a scrape of the capture would have, with tcp_info cut to `length` bytes (undefined: as captured). */
async function namesWith(length: number | undefined): Promise<Set<string>> {
  const watched = watchedPorts({ kept: [7001, 7002, 7003, 7004], folded: [] }, [7001, 7002, 7003, 7004]);
  const summary = new TcpInfoSummary(watched.series.length);
  const reader = new TcpInfoReader();
  for (const m of messages) {
    const bytes = aligned(m.bytes);
    const attr = findAttribute(bytes, m.payload + 72, m.payload + m.length, INET_DIAG_INFO);
    if (length !== undefined) new DataView(bytes.buffer).setUint16(attr, 4 + length, true);
    expect(reader.fromInetDiagMessage(bytes, m.payload, m.length)).toBe(true);
    for (const slot of [watched.localSlot[m.localPort]!, watched.remoteSlot[m.remotePort]!]) if (slot >= 0) summary.add(slot, reader);
  }
  const registry = new Registry();
  reportTcpInfo(registry, summary, watched);
  return new Set(parseExposition(await registry.metrics()).map((s) => s.name));
}

const ALL = [
  'tcpstate_tcpinfo_sockets',
  'tcpstate_tcpinfo_rtt_seconds_bucket',
  'tcpstate_tcpinfo_rtt_seconds_sum',
  'tcpstate_tcpinfo_rtt_seconds_count',
  'tcpstate_tcpinfo_min_rtt_seconds',
  'tcpstate_tcpinfo_rtt_variance_seconds',
  'tcpstate_tcpinfo_ca_state_sockets',
  'tcpstate_tcpinfo_retransmitting_sockets',
  'tcpstate_tcpinfo_retransmitted_segments',
  'tcpstate_tcpinfo_sent_segments',
  'tcpstate_tcpinfo_lost_segments',
  'tcpstate_tcpinfo_rwnd_limited_seconds',
  'tcpstate_tcpinfo_sndbuf_limited_seconds',
  'tcpstate_tcpinfo_idle_seconds_bucket',
  'tcpstate_tcpinfo_idle_seconds_sum',
  'tcpstate_tcpinfo_idle_seconds_count',
];

describe('tcpinfo series by kernel', () => {
  it('6.18 (280 bytes, as captured): every series', async () => {
    expect([...(await namesWith(undefined))].sort()).toEqual([...ALL].sort());
  });

  it('the oldest layout (104 bytes, up to tcpi_total_retrans): no min RTT, sent segments or limit times', async () => {
    const names = await namesWith(104);
    expect(ALL.filter((name) => !names.has(name))).toEqual(['tcpstate_tcpinfo_min_rtt_seconds', 'tcpstate_tcpinfo_sent_segments', 'tcpstate_tcpinfo_rwnd_limited_seconds', 'tcpstate_tcpinfo_sndbuf_limited_seconds']);
  });

  it('168 bytes (up to tcpi_delivery_rate, before busy time and the limits): min RTT and sent segments, no limit times', async () => {
    const names = await namesWith(168);
    expect(ALL.filter((name) => !names.has(name))).toEqual(['tcpstate_tcpinfo_rwnd_limited_seconds', 'tcpstate_tcpinfo_sndbuf_limited_seconds']);
  });

  it('a message without INET_DIAG_INFO: the socket is counted, nothing else is made up', async () => {
    const watched = watchedPorts({ kept: [7001], folded: [] }, []);
    const summary = new TcpInfoSummary(watched.series.length);
    summary.add(0, new TcpInfoReader().at(new Uint8Array(8), 0, 0));
    const registry = new Registry();
    reportTcpInfo(registry, summary, watched);
    const samples = parseExposition(await registry.metrics());
    expect(samples).toEqual([{ name: 'tcpstate_tcpinfo_sockets', labels: { port: '7001', direction: 'local' }, value: 1 }]);
  });
});
