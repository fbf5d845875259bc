/**
 * The tcpinfo collector against real impairment in a namespace the test makes: a tbf rate limit
 * on one upstream port, 5% random drops on another, each beside a clean port. The exporter is the
 * built CLI (`collect`, one scrape) inside the namespace; every figure is checked against
 * `ss -tino` of the same, frozen, sockets (see test/helpers/paced-traffic.ts).
 */
import { expect, it } from 'vitest';
import { parseExposition, select, valueOf, type Sample } from '../../helpers/exposition.js';
import { dropPortPackets, shapePort, ssEstablished, ssRttMs } from '../../helpers/impairment.js';
import { describeWithNetns, exporterBin, TestNamespace } from '../../helpers/netns.js';
import { expectSeriesMatchesSs, exportedBuckets, socketsOf } from './figures.js';
import { freeze, impairmentNamespacePerTest } from '../../helpers/paced-traffic.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How the last scrape's debug log says the kernel was asked to filter the tcp_info dump. */
let lastFilter: string | undefined;

/** One scrape by the real CLI in the namespace. */
async function scrape(ns: TestNamespace, remotePorts: readonly number[], extra: readonly string[] = [], collectors: readonly string[] = ['--collector.sockets', '--collector.tcpinfo']): Promise<Sample[]> {
  const flags = ['--collector.disable-defaults', ...collectors, `--collector.sockets.remote-ports=${remotePorts.join(',')}`, '--log.level=debug', '--log.format=json', ...extra];
  const { stdout, stderr } = await ns.exec(process.execPath, [exporterBin, 'collect', ...flags]);
  const samples = parseExposition(stdout);
  expect(valueOf(samples, 'tcpstate_scrape_collector_success', { collector: 'tcpinfo' })).toBe(1);
  const dumped = stderr.split('\n').filter((line) => line.includes('"tcp_info dumped"')).map((line) => JSON.parse(line) as { filter: string });
  expect(dumped).toHaveLength(1);
  lastFilter = dumped[0]!.filter;
  return samples;
}

describeWithNetns('tcpinfo collector under real impairment (tbf, iptables random drops)', () => {
  const lab = impairmentNamespacePerTest();

  it('a tbf rate limit on one upstream port shifts its RTT histogram to the queueing delay; the unshaped port stays near loopback RTT; every figure matches ss', { timeout: 90_000 }, async () => {
    const { ns } = lab;
    await shapePort(ns, 7002, { rateKbit: 10_000, latencyMs: 30 });
    const traffic = await lab.startTraffic([{ port: 7001, connections: 2 }, { host: '::1', port: 7001, connections: 1 }, { port: 7002, connections: 2 }], 60);
    await sleep(3000); // the shaped queue fills within a few RTTs of ~50 ms

    // While the traffic flows: the clients of the shaped port wait behind 10 Mbit/s, tens of ms;
    // the clean ones do not. ss, back to back with the scrape, says the same.
    const live = await scrape(ns, [7001, 7002]);
    const liveSs = await ssEstablished(ns, '( dport = :7001 or dport = :7002 )');
    const shaped = exportedBuckets(live, 'tcpstate_tcpinfo_rtt_seconds', { port: '7002', direction: 'remote' });
    expect(shaped['0.01'], 'shaped clients at or under 10 ms').toBe(0);
    expect(shaped['+Inf']).toBe(2);
    const clean = exportedBuckets(live, 'tcpstate_tcpinfo_rtt_seconds', { port: '7001', direction: 'remote' });
    expect(clean['0.0025'], 'unshaped clients under 2.5 ms').toBe(3);
    expect(socketsOf(liveSs, 7002, 'remote').map((s) => ssRttMs(s) > 10)).toEqual([true, true]);
    expect(socketsOf(liveSs, 7001, 'remote').map((s) => ssRttMs(s) < 2.5)).toEqual([true, true, true]);

    // Frozen (the queues drained, so the last RTT samples are shorter): every figure, exactly.
    const before = await freeze(ns, traffic, [7001, 7002]);
    const samples = await scrape(ns, [7001, 7002]);
    const after = await ssEstablished(ns, '( sport = :7001 or dport = :7001 or sport = :7002 or dport = :7002 )');
    expect(after).toHaveLength(10);
    for (const [port, direction] of [[7001, 'local'], [7001, 'remote'], [7002, 'local'], [7002, 'remote']] as const) expectSeriesMatchesSs(samples, before, after, port, direction);
    // The port labels are tcpstate_port_sockets's: the same server ports, from the same dump.
    expect(select(samples, 'tcpstate_port_sockets', { state: 'established' }).map((s) => [s.labels.port, s.value])).toEqual([['7001', 3], ['7002', 2]]);
    expect(socketsOf(after, 7001, 'local')).toHaveLength(3);
  });

  it('5% random drops on one port: its retransmission figures rise, the clean port\'s stay 0; every figure matches ss, with and without the port filter', { timeout: 90_000 }, async () => {
    const { ns } = lab;
    const drops = await dropPortPackets(ns, 7004, 0.05);
    const traffic = await lab.startTraffic([{ port: 7003, connections: 2 }, { port: 7004, connections: 2 }], 60);
    // ~40 packets/s per connection: drops on the lossy port within a few seconds; bounded.
    let lossy = 0;
    for (let i = 0; i < 20 && lossy === 0; i++) {
      await sleep(500);
      lossy = (await ssEstablished(ns, '( dport = :7004 )')).reduce((sum, s) => sum + Number(s.fields.get('retrans')?.split('/')[1] ?? 0), 0);
    }
    expect(lossy, drops.description).toBeGreaterThan(0);
    const before = await freeze(ns, traffic, [7003, 7004]);
    const filters: Array<string | undefined> = [];
    const filtered = await scrape(ns, [7003, 7004]);
    filters.push(lastFilter);
    const unfiltered = await scrape(ns, [7003, 7004], ['--collector.tcpinfo.port-filter=off']);
    filters.push(lastFilter);
    const ranged = await scrape(ns, [7003, 7004], ['--collector.tcpinfo.port-filter=range']);
    filters.push(lastFilter);
    // Alone, without the sockets collector's counting dump: the listeners from a LISTEN-only dump.
    const alone = await scrape(ns, [7003, 7004], [], ['--collector.tcpinfo']);
    filters.push(lastFilter);
    const after = await ssEstablished(ns, '( sport = :7003 or dport = :7003 or sport = :7004 or dport = :7004 )');
    expect(after).toHaveLength(8);
    expect(filters).toEqual(['eq', 'none', 'range', 'eq']);

    for (const samples of [filtered, unfiltered, ranged, alone]) {
      const retransmitted = (port: number, direction: string): number => valueOf(samples, 'tcpstate_tcpinfo_retransmitted_segments', { port: String(port), direction });
      expect(retransmitted(7004, 'remote') + retransmitted(7004, 'local'), drops.description).toBeGreaterThan(0);
      expect([retransmitted(7003, 'remote'), retransmitted(7003, 'local')]).toEqual([0, 0]);
      expect(valueOf(samples, 'tcpstate_tcpinfo_sent_segments', { port: '7004', direction: 'remote' })).toBeGreaterThan(10);
      for (const [port, direction] of [[7003, 'local'], [7003, 'remote'], [7004, 'local'], [7004, 'remote']] as const) expectSeriesMatchesSs(samples, before, after, port, direction);
    }
  });
});
