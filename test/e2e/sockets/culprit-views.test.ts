import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TCP_STATES } from '../../../src/kernel/tcp.js';
import { parseExposition, select, valueOf, type Sample } from '../../helpers/exposition.js';
import { countSsStates, describeWithNetns, exporterBin, TestNamespace, type RunningFarm } from '../../helpers/netns.js';

const SERVER_PORTS = [7001, 7002, 7003, 7004];
const UPSTREAM_PORT = 5432;

/** Several server ports with different troubles, a client pool to one upstream, and owners. */
const spec = {
  listeners: [
    { name: 'api', host: '127.0.0.1', port: 7001 },
    { name: 'leaky', host: '127.0.0.1', port: 7002 },
    { name: 'slow', host: '127.0.0.1', port: 7003, backlog: 8 },
    { name: 'flooded', host: '127.0.0.1', port: 7004 },
    { name: 'db', host: '127.0.0.1', port: UPSTREAM_PORT },
    { name: 'db6', host: '::1', port: UPSTREAM_PORT },
  ],
  groups: [
    { kind: 'established', to: 'api', count: 6 },
    { kind: 'close_wait', to: 'leaky', count: 5, owner: 'leaky-worker' },
    { kind: 'close_wait', to: 'leaky', count: 2, owner: 'other-worker' },
    { kind: 'established', to: 'leaky', count: 1 },
    { kind: 'backlog', to: 'slow', count: 4 },
    { kind: 'syn_recv', to: 'flooded', count: 3 },
    { kind: 'established', to: 'db', count: 7, owner: 'pool-client' },
    { kind: 'time_wait', to: 'db', count: 4 },
    { kind: 'established', to: 'db6', count: 2 },
  ],
  expect: {
    '( sport = :7002 )': { 'CLOSE-WAIT': 7 },
    '( sport = :7003 )': { ESTAB: 4 },
  },
};

function ssByPort(output: string, side: 'local' | 'remote'): Map<number, Record<string, number>> {
  const byPort = new Map<number, Record<string, number>>();
  for (const line of output.trim().split('\n')) {
    const fields = line.trim().split(/\s+/);
    const address = side === 'local' ? fields[3]! : fields[4]!;
    const port = Number(address.slice(address.lastIndexOf(':') + 1));
    const counts = byPort.get(port) ?? {};
    Object.entries(countSsStates(line)).forEach(([state, n]) => (counts[state] = (counts[state] ?? 0) + n));
    byPort.set(port, counts);
  }
  return byPort;
}

/** ss and the exporter back to back inside the namespace; retried once if the table moved. */
async function readTogether(ns: TestNamespace, flags: string[]): Promise<{ ss: string; samples: Sample[] }> {
  for (let attempt = 0; ; attempt++) {
    const script = `ss -tanH; echo =====; "${process.execPath}" "${exporterBin}" collect ${flags.join(' ')}; echo =====; ss -tanH`;
    const [before, metrics, after] = (await ns.exec('sh', ['-c', script])).stdout.split('=====\n');
    const sorted = (text: string): string => text.split('\n').sort().join('\n');
    if (sorted(before!) === sorted(after!) || attempt === 1) {
      expect(sorted(after!)).toBe(sorted(before!));
      return { ss: before!, samples: parseExposition(metrics!) };
    }
  }
}

describeWithNetns('per-port, remote-port and per-process views on real sockets', () => {
  let ns: TestNamespace;
  let farm: RunningFarm;

  beforeAll(async () => {
    ns = await TestNamespace.create();
    farm = await ns.startFarm(spec);
  });
  afterAll(async () => {
    await farm?.stop();
    await ns?.destroy();
  });

  for (const source of ['procfs', 'netlink'] as const) {
    describe(`${source} source`, () => {
      it('tcpstate_port_sockets and listen queues equal ss filtered by local port', async () => {
        const { ss, samples } = await readTogether(ns, [`--collector.sockets.source=${source}`, `--collector.sockets.remote-ports=${UPSTREAM_PORT}`]);
        const local = ssByPort(ss, 'local');
        for (const port of [...SERVER_PORTS, UPSTREAM_PORT]) {
          for (const state of TCP_STATES) {
            const exported = valueOf(samples, 'tcpstate_port_sockets', { port: String(port), state });
            expect({ port, state, exported }).toEqual({ port, state, exported: local.get(port)?.[state] ?? 0 });
          }
        }
        // The troubles the farm made are where they should be.
        expect(valueOf(samples, 'tcpstate_port_sockets', { port: '7002', state: 'close_wait' })).toBe(7);
        expect(valueOf(samples, 'tcpstate_port_sockets', { port: '7004', state: 'syn_recv' })).toBe(3);
        expect(valueOf(samples, 'tcpstate_listen_queue_length', { port: '7003' })).toBe(4);
        expect(valueOf(samples, 'tcpstate_listen_queue_length', { port: '7001' })).toBe(0);
        // Port 5432 has an IPv4 and an IPv6 listener; their queues are summed.
        expect(select(samples, 'tcpstate_listen_queue_length', { port: '5432' })).toHaveLength(1);
        if (source === 'netlink') {
          expect(valueOf(samples, 'tcpstate_listen_queue_max', { port: '7003' })).toBe(8);
          expect(valueOf(samples, 'tcpstate_listen_queue_max', { port: '5432' })).toBe(2 * 128);
        } else {
          expect(select(samples, 'tcpstate_listen_queue_max')).toHaveLength(0);
        }
      });

      it('tcpstate_remote_port_sockets equals ss filtered by remote port', async () => {
        const { ss, samples } = await readTogether(ns, [`--collector.sockets.source=${source}`, `--collector.sockets.remote-ports=${UPSTREAM_PORT},9`]);
        const remote = ssByPort(ss, 'remote').get(UPSTREAM_PORT)!;
        expect(remote).toMatchObject({ established: 9, time_wait: 4 });
        for (const state of TCP_STATES) {
          expect({ state, n: valueOf(samples, 'tcpstate_remote_port_sockets', { port: String(UPSTREAM_PORT), state }) }).toEqual({ state, n: remote[state] ?? 0 });
          expect(valueOf(samples, 'tcpstate_remote_port_sockets', { port: '9', state })).toBe(0);
        }
      });
    });
  }

  it('tcpstate_process_sockets attributes sockets to the processes that hold them', async () => {
    const { ss, samples } = await readTogether(ns, ['--collector.process', '--collector.sockets.source=netlink']);
    const value = (process: string, state: string): number => valueOf(samples, 'tcpstate_process_sockets', { process, state });
    expect(value('leaky-worker', 'close_wait')).toBe(5);
    expect(value('other-worker', 'close_wait')).toBe(2);
    // pool-client holds both ends of its 7 connections.
    expect(value('pool-client', 'established')).toBe(14);
    // TIME_WAIT and request sockets and orphaned FIN_WAIT2 ends have no owner.
    const all = countSsStates(ss);
    expect(value('unknown', 'time_wait')).toBe(all.time_wait);
    expect(value('unknown', 'syn_recv')).toBe(all.syn_recv);
    expect(value('unknown', 'fin_wait2')).toBe(all.fin_wait2);
    // Every socket is counted exactly once across process labels.
    for (const state of TCP_STATES) {
      const total = select(samples, 'tcpstate_process_sockets', { state }).reduce((sum, s) => sum + s.value, 0);
      expect({ state, total }).toEqual({ state, total: all[state] ?? 0 });
    }
  });

  it('--collector.process.top folds the rest into process="other"', async () => {
    // The farm's parent (python3) holds the listeners and most server ends; pool-client is next.
    const { samples } = await readTogether(ns, ['--collector.process', '--collector.process.top=2']);
    const names = new Set(select(samples, 'tcpstate_process_sockets').map((s) => s.labels.process));
    expect([...names].sort()).toEqual(['other', 'pool-client', 'python3', 'unknown']);
    expect(valueOf(samples, 'tcpstate_process_sockets', { process: 'other', state: 'close_wait' })).toBe(7);
  });

  it('more listening ports than --collector.sockets.max-ports: exactly the cap plus "other", totals add up', async () => {
    const { ss, samples } = await readTogether(ns, ['--collector.sockets.max-ports=2']);
    const ports = [...new Set(select(samples, 'tcpstate_port_sockets').map((s) => s.labels.port))];
    // The two busiest listening ports (by socket count) keep their label: 5432 (7+4+7+2+2 sockets) and 7002.
    expect(ports.sort()).toEqual(['5432', '7002', 'other']);
    const local = ssByPort(ss, 'local');
    for (const state of TCP_STATES) {
      const exported = select(samples, 'tcpstate_port_sockets', { state }).reduce((sum, s) => sum + s.value, 0);
      const expected = [...SERVER_PORTS, UPSTREAM_PORT].reduce((sum, port) => sum + (local.get(port)?.[state] ?? 0), 0);
      expect({ state, exported }).toEqual({ state, exported: expected });
    }
    expect(valueOf(samples, 'tcpstate_listen_queue_length', { port: 'other' })).toBe(4);
  });
});

describeWithNetns('ephemeral port usage with a narrowed ip_local_port_range', () => {
  let ns: TestNamespace;
  let farm: RunningFarm;
  const SHORT_LIVED = 30;

  beforeAll(async () => {
    ns = await TestNamespace.create();
    // 100 ephemeral ports; no TIME_WAIT reuse, so each short connection keeps its port.
    await ns.exec('sysctl', ['-q', '-w', 'net.ipv4.ip_local_port_range=40000 40099', 'net.ipv4.tcp_tw_reuse=0']);
    farm = await ns.startFarm({
      listeners: [
        { name: 'upstream', host: '127.0.0.1', port: 8090 },
        { name: 'quiet', host: '127.0.0.1', port: 8091 },
      ],
      groups: [
        { kind: 'short_lived', to: 'upstream', count: SHORT_LIVED },
        { kind: 'established', to: 'upstream', count: 3 },
        { kind: 'established', to: 'quiet', count: 2 },
      ],
    });
  });
  afterAll(async () => {
    await farm?.stop();
    await ns?.destroy();
  });

  it('gives the exact ratio for the busiest destination, read from the namespace sysctl', async () => {
    const samples = parseExposition(await ns.collect());
    // 30 TIME_WAIT + 3 ESTABLISHED client sockets towards 127.0.0.1:8090, over a range of 100 ports.
    expect(valueOf(samples, 'tcpstate_ephemeral_port_usage_ratio')).toBeCloseTo((SHORT_LIVED + 3) / 100, 10);
    expect(valueOf(samples, 'tcpstate_ephemeral_ports_used')).toBe(SHORT_LIVED + 3 + 2);
    expect(valueOf(samples, 'tcpstate_sysctl', { name: 'net.ipv4.ip_local_port_range', index: '0' })).toBe(40000);
  });
});
