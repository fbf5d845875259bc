import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TCP_STATES } from '../../../src/kernel/tcp.js';
import { parseExposition, select, valueOf } from '../../helpers/exposition.js';
import { countSsStates, describeWithNetns, exporterBin, TestNamespace, type RunningFarm } from '../../helpers/netns.js';

/** The farm the /proc fixture was captured from: every state the kernel lets a test hold. */
const spec = JSON.parse(readFileSync(new URL('../../fixtures/proc-farm-spec.json', import.meta.url), 'utf8')) as unknown;

const MARK = '=====';

/**
 * ss, the exporter and ss again, back to back in one shell inside the namespace. No HTTP, so the
 * reading itself adds no socket; the second ss proves the table did not move in between.
 */
async function readTogether(ns: TestNamespace, flags: string[]): Promise<{ before: string[]; metrics: string; after: string[] }> {
  const script = [
    'ss -tanH -4; echo MARK; ss -tanH -6; echo MARK',
    `"${process.execPath}" "${exporterBin}" collect ${flags.join(' ')}; echo MARK`,
    'ss -tanH -4; echo MARK; ss -tanH -6',
  ]
    .join('; ')
    .replaceAll('MARK', MARK);
  const { stdout } = await ns.exec('sh', ['-c', script]);
  const [before4, before6, metrics, after4, after6] = stdout.split(`${MARK}\n`);
  return { before: [before4!, before6!], metrics: metrics!, after: [after4!, after6!] };
}

describeWithNetns('tcpstate_sockets equals ss for real sockets in a namespace', () => {
  let ns: TestNamespace;
  let farm: RunningFarm;

  beforeAll(async () => {
    ns = await TestNamespace.create();
    farm = await ns.startFarm(spec);
    // The half-open sockets send their first keepalive probe 1 s after connecting (keepidle 1);
    // wait, bounded, until ss shows all four with an unanswered probe: timer:(keepalive,...,1).
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { stdout } = await ns.exec('ss', ['-tanoH', '( sport = :8085 or dport = :8085 )']);
      if ((stdout.match(/timer:\(keepalive,[^,]+,[1-9]\d*\)/g) ?? []).length === 4) break;
      if (Date.now() > deadline) throw new Error(`keepalive probes did not start: ${stdout}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });
  afterAll(async () => {
    await farm?.stop();
    await ns?.destroy();
  });

  for (const source of ['procfs', 'netlink'] as const) {
    it(`state by state and family by family (${source} source)`, async () => {
      let reading = await readTogether(ns, [`--collector.sockets.source=${source}`]);
      // A SYN retransmit timer can move a socket between readings; one retry is enough.
      if (reading.before.join() !== reading.after.join()) reading = await readTogether(ns, [`--collector.sockets.source=${source}`]);
      expect(reading.after).toEqual(reading.before);

      const samples = parseExposition(reading.metrics);
      expect(valueOf(samples, 'tcpstate_build_info')).toBe(1);
      expect(select(samples, 'tcpstate_build_info')[0]!.labels.source).toBe(source);
      (['ipv4', 'ipv6'] as const).forEach((family, index) => {
        const ss = countSsStates(reading.before[index]!);
        for (const state of TCP_STATES) {
          expect({ family, state, count: valueOf(samples, 'tcpstate_sockets', { family, state }) }).toEqual({ family, state, count: ss[state] ?? 0 });
        }
      });

      // The farm really produced the states the test is about, so equality is not trivially 0 = 0.
      const v4 = countSsStates(reading.before[0]!);
      expect(v4).toMatchObject({ listen: 6, close_wait: 4, fin_wait2: 4, time_wait: 3, syn_recv: 2, syn_sent: 4 });
      expect(v4.established).toBe(20);
      expect(countSsStates(reading.before[1]!)).toMatchObject({ listen: 1, established: 6, syn_sent: 1 });

      expect(valueOf(samples, 'tcpstate_listen_queue_length', { port: '8084' })).toBe(3);
      expect(valueOf(samples, 'tcpstate_keepalive_probing_sockets')).toBe(4);
      expect(valueOf(samples, 'tcpstate_receive_queue_bytes', { state: 'established' })).toBe(500);
    });
  }

  it('the sysctl values equal the files under /proc/sys of the namespace', async () => {
    const samples = parseExposition(await ns.collect(['--collector.sockets.source=procfs']));
    const sysctls = select(samples, 'tcpstate_sysctl');
    expect(sysctls.length).toBeGreaterThan(20);
    for (const sample of sysctls) {
      const name = sample.labels.name!;
      const { stdout } = await ns.exec('cat', [`/proc/sys/${name.replaceAll('.', '/')}`]);
      const values = stdout.trim().split(/\s+/).map(Number);
      expect({ name, index: sample.labels.index, value: sample.value }).toEqual({ name, index: sample.labels.index, value: values[Number(sample.labels.index ?? 0)] });
    }
  });
});
