import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { encodeInfoDumpRequest } from '../../src/netlink/info-request.js';
import { TcpInfoReader } from '../../src/netlink/tcp-info.js';
import { dropPortPackets, shapePort, ssEstablished, ssRttMs, ssTotalRetrans } from '../helpers/impairment.js';
import { aligned, inetDiagMessages } from '../helpers/inet-diag-messages.js';
import { describeWithNetns, TestNamespace } from '../helpers/netns.js';
import { impairmentNamespacePerTest } from '../helpers/paced-traffic.js';

const dumpScript = fileURLToPath(new URL('../helpers/info-dump.mjs', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Our own dump of the namespace's ESTABLISHED IPv4 sockets: tcp_info per "local remote". */
async function infoDump(ns: TestNamespace): Promise<Map<string, { rtt: number; totalRetrans: number; remotePort: number }>> {
  const { stdout } = await ns.exec(process.execPath, [dumpScript, Buffer.from(encodeInfoDumpRequest(2, 3)).toString('hex')]);
  const chunks = (JSON.parse(stdout) as { datagrams: string[] }).datagrams.map((b) => aligned(Buffer.from(b, 'base64')));
  const info = new TcpInfoReader();
  const out = new Map<string, { rtt: number; totalRetrans: number; remotePort: number }>();
  for (const m of inetDiagMessages(chunks, 3)) {
    expect(info.fromInetDiagMessage(m.bytes, m.payload, m.length)).toBe(true);
    out.set(`${m.local} ${m.remote}`, { rtt: info.get('rtt')!, totalRetrans: info.get('totalRetrans')!, remotePort: m.remotePort });
  }
  return out;
}

describeWithNetns('impairment helpers: tc rate limits and iptables random drops, seen by ss -tin', () => {
  const lab = impairmentNamespacePerTest();

  it('a tbf rate limit on one port raises its senders\' RTT to the queueing delay; an unshaped port stays near loopback RTT', async () => {
    const { ns } = lab;
    const shaping = await shapePort(ns, 7002, { rateKbit: 10_000, latencyMs: 30 });
    await lab.startTraffic([{ port: 7001, connections: 2 }, { port: 7002, connections: 2 }], 12);
    await sleep(3000); // the shaped queue fills within a few RTTs of ~50 ms
    const ours = await infoDump(ns);
    const clients = await ssEstablished(ns, '( dport = :7001 or dport = :7002 )');
    expect(clients).toHaveLength(4);
    for (const s of clients) {
      const rttMs = ssRttMs(s);
      const mine = ours.get(`${s.local} ${s.remote}`);
      expect(mine, `${s.local} ${s.remote} in our dump`).toBeDefined();
      if (s.remote.endsWith(':7002')) {
        // 10 Mbit/s moves one 64 KiB loopback packet in 52 ms: every RTT sample waits behind at least part of one.
        expect(rttMs, `shaped ${s.local}`).toBeGreaterThan(10);
        expect(mine!.rtt / 1000).toBeGreaterThan(10);
      } else {
        expect(rttMs, `unshaped ${s.local}`).toBeLessThan(2);
        expect(mine!.rtt / 1000).toBeLessThan(2);
      }
    }
    const { stdout } = await ns.exec('tc', ['-s', 'qdisc', 'show', 'dev', 'lo']);
    expect(stdout).toMatch(/qdisc tbf 10: parent 1:10 rate 10Mbit/);
    await shaping.remove();
    const after = await ns.exec('tc', ['class', 'show', 'dev', 'lo']);
    expect(after.stdout).not.toContain('1:10');
  });

  it('5% random drops on one port make its sockets retransmit; a clean port stays at 0', async () => {
    const { ns } = lab;
    const drops = await dropPortPackets(ns, 7004, 0.05);
    await lab.startTraffic([{ port: 7003, connections: 2 }, { port: 7004, connections: 2 }], 12);
    // ~40 packets/s per connection: 4 connections' worth of drops within a few seconds, bounded.
    let lossy = 0;
    for (let i = 0; i < 16 && lossy === 0; i++) {
      await sleep(500);
      lossy = (await ssEstablished(ns, '( dport = :7004 )')).reduce((sum, s) => sum + ssTotalRetrans(s), 0);
    }
    const ours = await infoDump(ns);
    const all = await ssEstablished(ns, '( sport = :7003 or dport = :7003 or sport = :7004 or dport = :7004 )');
    expect(all).toHaveLength(8);
    const onPort = (port: number) => all.filter((s) => s.local.endsWith(`:${port}`) || s.remote.endsWith(`:${port}`));
    const lossySum = onPort(7004).reduce((sum, s) => sum + ssTotalRetrans(s), 0);
    expect(lossySum, drops.description).toBeGreaterThan(0);
    expect(onPort(7003).map(ssTotalRetrans)).toEqual([0, 0, 0, 0]);
    // Our dump came first: its totals can only be behind ss's, and the clean port's are 0 too.
    const oursLossy = [...ours.values()].filter((v) => v.remotePort === 7004).reduce((sum, v) => sum + v.totalRetrans, 0);
    expect(oursLossy).toBeGreaterThan(0);
    expect(oursLossy).toBeLessThanOrEqual(onPort(7004).filter((s) => s.remote.endsWith(':7004')).reduce((sum, s) => sum + ssTotalRetrans(s), 0));
    expect([...ours.values()].filter((v) => v.remotePort === 7003).map((v) => v.totalRetrans)).toEqual([0, 0]);
    await drops.remove();
    const { stdout } = await ns.exec('iptables', ['-w', '-S', 'INPUT']);
    expect(stdout).not.toContain('statistic');
  });

  it('refuses a bad port or probability in one line', async () => {
    const { ns } = lab;
    await expect(shapePort(ns, 0, { rateKbit: 1, latencyMs: 1 })).rejects.toThrow('impairment: port 0 is not in 1..65535');
    await expect(dropPortPackets(ns, 80, 1.5)).rejects.toThrow('impairment: drop probability 1.5 is not in (0, 1]');
  });
});
