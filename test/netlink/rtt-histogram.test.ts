import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Registry, type Metric } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { idleHistograms, preAggregatedHistogram, RTT_BUCKETS_SECONDS, rttHistograms, SlotHistograms } from '../../src/netlink/rtt-histogram.js';
import { TcpInfoReader } from '../../src/netlink/tcp-info.js';
import { aligned, inetDiagMessages } from '../helpers/inet-diag-messages.js';
import { toolOrSkip } from '../helpers/require-tool.js';
import { parseSsInfo, ssNumber } from '../helpers/ss-info.js';

const dir = fileURLToPath(new URL('../fixtures/netlink/tcpinfo/', import.meta.url));
const meta = JSON.parse(readFileSync(dir + 'meta.json', 'utf8')) as { seq: { ipv4: number; ipv6: number } };
const messages = (['ipv4', 'ipv6'] as const).flatMap((family) =>
  inetDiagMessages(
    readdirSync(dir).filter((f) => f.startsWith(`info-${family}-`)).sort().map((f) => aligned(readFileSync(dir + f))),
    meta.seq[family],
  ),
);
const ss = new Map(parseSsInfo(readFileSync(dir + 'ss.txt', 'utf8')).map((s) => [`${s.local} ${s.remote}`, s]));

/** The series of the fixture: each watched port, as the local end (server side) and as the remote end (client side). */
const PORTS = [7001, 7002, 7003, 7004];
const slotOf = (port: number, direction: 'local' | 'remote'): number => PORTS.indexOf(port) * 2 + (direction === 'local' ? 0 : 1);

describe('RTT and idle histograms per port slot, from real tcp_info', () => {
  const rtt = rttHistograms(PORTS.length * 2);
  const idle = idleHistograms(PORTS.length * 2);
  const expectedRtt = new Map<number, number[]>();
  const info = new TcpInfoReader();
  for (const m of messages) {
    info.fromInetDiagMessage(m.bytes, m.payload, m.length);
    const s = ss.get(`${m.local} ${m.remote}`)!;
    for (const [port, direction] of [[m.localPort, 'local'], [m.remotePort, 'remote']] as const) {
      if (!PORTS.includes(port)) continue;
      const slot = slotOf(port, direction);
      rtt.observe(slot, info.get('rtt')!);
      idle.observe(slot, info.get('lastDataRecv')!);
      // The oracle: ss's rtt (ms), placed in the first bucket whose bound it does not exceed.
      const ssRttSeconds = Number(s.fields.get('rtt')!.split('/')[0]) / 1000;
      const list = expectedRtt.get(slot) ?? [];
      list.push(RTT_BUCKETS_SECONDS.findIndex((b) => ssRttSeconds <= b + 1e-12));
      expectedRtt.set(slot, list);
    }
  }

  it('puts every socket in the bucket its ss rtt falls in, and counts each socket once per series', () => {
    expect(expectedRtt.size).toBe(8);
    for (const [slot, buckets] of expectedRtt) {
      const counted = Array.from(rtt.counts.subarray(slot * 15, slot * 15 + 15));
      const expected = new Array<number>(15).fill(0);
      for (const b of buckets) expected[b === -1 ? 14 : b]!++;
      expect(counted, `slot ${slot}`).toEqual(expected);
      expect(rtt.count(slot)).toBe(buckets.length);
    }
    // The bounds are inclusive (Prometheus le): 100 µs is in the first bucket, 101 µs in the second.
    expect(rtt.bucketOf(100)).toBe(0);
    expect(rtt.bucketOf(101)).toBe(1);
    expect(rtt.bucketOf(2_000_001)).toBe(14);
    expect(idle.bucketOf(7_200_000)).toBe(7);
  });

  it('renders cumulative buckets, _sum in seconds and _count that promtool accepts and that add up', async () => {
    const registry = new Registry();
    const values = PORTS.flatMap((port) =>
      (['local', 'remote'] as const).flatMap((direction) => rtt.samples('tcpstate_tcpinfo_rtt_seconds', slotOf(port, direction), { port: String(port), direction })),
    );
    registry.registerMetric(preAggregatedHistogram('tcpstate_tcpinfo_rtt_seconds', 'Smoothed RTT of ESTABLISHED sockets.', values) as unknown as Metric);
    const idleValues = idle.samples('tcpstate_tcpinfo_idle_seconds', slotOf(7003, 'remote'), { port: '7003', direction: 'remote' });
    registry.registerMetric(preAggregatedHistogram('tcpstate_tcpinfo_idle_seconds', 'Time since data was last received.', idleValues) as unknown as Metric);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE tcpstate_tcpinfo_rtt_seconds histogram');
    const promtool = toolOrSkip('promtool', 'prometheus');
    if (promtool.available) {
      const lint = execFileSync(promtool.path!, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(lint).toBe('');
    }
    for (const port of PORTS) {
      for (const direction of ['local', 'remote']) {
        const series = (suffix: string, extra = ''): number => {
          const re = new RegExp(`^tcpstate_tcpinfo_rtt_seconds_${suffix}\\{port="${port}",direction="${direction}"${extra.replace('+', '\\+')}\\} (\\S+)$`, 'm');
          return Number(re.exec(text)![1]);
        };
        const buckets = [...RTT_BUCKETS_SECONDS.map(String), '+Inf'].map((le) => series('bucket', `,le="${le}"`));
        for (let i = 1; i < buckets.length; i++) expect(buckets[i]).toBeGreaterThanOrEqual(buckets[i - 1]!);
        const slot = slotOf(port, direction as 'local' | 'remote');
        expect(buckets.at(-1)).toBe(expectedRtt.get(slot)!.length);
        expect(series('count')).toBe(buckets.at(-1));
        expect(series('sum')).toBeCloseTo(rtt.sums[slot]! / 1e6, 9);
      }
    }
    // The blackholed clients have not received data since the handshake, 2.2 s before the dump.
    expect(/tcpstate_tcpinfo_idle_seconds_bucket\{port="7003",direction="remote",le="1"\} 0$/m.test(text)).toBe(true);
    expect(/tcpstate_tcpinfo_idle_seconds_bucket\{port="7003",direction="remote",le="10"\} 2$/m.test(text)).toBe(true);
    expect(ssNumber(ss.get([...ss.keys()].find((k) => k.endsWith(':7003') && ss.get(k)!.timer?.name === 'on')!)!, 'lastrcv')).toBeGreaterThan(1000);
  });

  it('refuses bounds that are not ascending, and resets to zero', () => {
    expect(() => new SlotHistograms([1, 1], 1, 1)).toThrow('histogram bounds must be positive and strictly ascending');
    expect(() => new SlotHistograms([0.1], 1, -1)).toThrow('histogram slots must be a whole number, got -1');
    const h = rttHistograms(1);
    h.observe(0, 30);
    h.reset();
    expect([h.count(0), h.sums[0]]).toEqual([0, 0]);
  });
});
