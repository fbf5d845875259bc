/**
 * The scan is a stage of the scrape: however many collectors read the socket table, one scrape
 * makes one dump per table, and every collector reports from that same dump.
 */
import { describe, expect, it } from 'vitest';
import { COLLECTORS } from '../../src/collectors/index.js';
import { runCollectors } from '../../src/collectors/run-collectors.js';
import type { ScanResult, SocketSink, SocketSource } from '../../src/kernel/socket-record.js';
import { TCP_STATES } from '../../src/kernel/tcp.js';
import type { ProcRoot } from '../../src/procfs/proc-root.js';
import { ProcfsSource } from '../../src/sources/procfs.js';
import { liveNetlinkOrSkip } from '../helpers/live-netlink.js';
import { scrapeSetup } from '../helpers/scrape-setup.js';

/** A real source that counts the dumps it is asked for. */
class CountingSource implements SocketSource {
  dumps = 0;
  constructor(private readonly inner: SocketSource) {}
  get name() {
    return this.inner.name;
  }
  scan(sink: SocketSink): Promise<ScanResult> {
    this.dumps++;
    return this.inner.scan(sink);
  }
}

interface MetricJson {
  name: string;
  values: Array<{ labels: Record<string, string | number>; value: number }>;
}

/** Per state: sockets summed over one label of a metric. */
function byState(metrics: MetricJson[], name: string): Record<string, number> {
  const totals: Record<string, number> = Object.fromEntries(TCP_STATES.map((state) => [state, 0]));
  for (const value of metrics.find((metric) => metric.name === name)?.values ?? []) totals[String(value.labels.state)]! += value.value;
  return totals;
}

async function scrapeWithProcess(source: (proc: ProcRoot) => SocketSource) {
  let counting: CountingSource | undefined;
  const setup = scrapeSetup({}, { toggles: { process: true }, source: (proc) => (counting = new CountingSource(source(proc))) });
  const runs = await runCollectors(setup.plan, setup.context);
  const metrics = (await Promise.all(runs.map((run) => run.registry.getMetricsAsJSON()))).flat() as MetricJson[];
  return { runs, metrics, dumps: counting!.dumps };
}

const netlink = liveNetlinkOrSkip('the live netlink dump count');

describe('one dump per table per scrape', () => {
  it('with --collector.process on (fixture /proc): one dump, and both collectors report every state alike', async () => {
    const { runs, metrics, dumps } = await scrapeWithProcess((proc) => new ProcfsSource(proc));
    const enabled = COLLECTORS.filter((collector) => collector.defaultEnabled || collector.name === 'process');
    expect(runs.map((run) => [run.name, run.error])).toEqual(enabled.map((collector) => [collector.name, undefined]));
    expect(dumps).toBe(1);
    const sockets = byState(metrics, 'tcpstate_sockets');
    expect(sockets.close_wait).toBe(4);
    expect(byState(metrics, 'tcpstate_process_sockets')).toEqual(sockets);
  });

  // The host's own live table changes all the time; two dumps would disagree. One cannot.
  it.skipIf(netlink === undefined)('with --collector.process on (this host, netlink): one dump, and the totals agree state by state', async () => {
    const { metrics, dumps } = await scrapeWithProcess(() => netlink!);
    expect(dumps).toBe(1);
    const sockets = byState(metrics, 'tcpstate_sockets');
    expect(sockets.listen).toBeGreaterThan(0);
    expect(byState(metrics, 'tcpstate_process_sockets')).toEqual(sockets);
  });

  it('a failed dump fails every collector that reads the table, with the dump\'s error, and no other', async () => {
    const broken: SocketSource = { name: 'procfs', scan: () => Promise.reject(new Error('dump broke')) };
    const setup = scrapeSetup({}, { toggles: { process: true }, source: () => broken });
    const runs = await runCollectors(setup.plan, setup.context);
    expect(Object.fromEntries(runs.map((run) => [run.name, run.error]))).toEqual({ sockets: 'dump broke', process: 'dump broke', sockstat: undefined, netstat: undefined, sysctl: undefined });
  });

  it('a rider (tcpinfo) rides the sockets collector\'s dump, and alone causes none', async () => {
    let dumps = 0;
    const counting = (proc: ProcRoot): SocketSource => ({ name: 'procfs', scan: (sink) => (dumps++, new ProcfsSource(proc).scan(sink)) });
    const both = scrapeSetup({}, { toggles: { tcpinfo: true }, source: counting });
    const runs = await runCollectors(both.plan, both.context);
    expect(dumps).toBe(1);
    expect(runs.find((run) => run.name === 'tcpinfo')).toMatchObject({ error: expect.stringContaining('tcp_info needs the netlink socket source'), unavailable: true });
    const alone = scrapeSetup({}, { toggles: { sockets: false, process: false, cgroup: false, netns: false, tcpinfo: true }, source: counting });
    await runCollectors(alone.plan, alone.context);
    expect(dumps).toBe(1);
  });

  it('no table collector enabled: no dump at all', async () => {
    let dumps = 0;
    const setup = scrapeSetup({}, { toggles: { sockets: false }, source: (proc) => ({ name: 'procfs', scan: (sink) => (dumps++, new ProcfsSource(proc).scan(sink)) }) });
    await runCollectors(setup.plan, setup.context);
    expect(dumps).toBe(0);
  });
});

describe('the scrape deadline', () => {
  it('a collector still running at the deadline reports a timeout; the others report on time', async () => {
    const slow = {
      name: 'slow',
      defaultEnabled: true,
      description: 'test: sleeps past any deadline',
      flags: {},
      reads: 'files' as const,
      async collect(): Promise<void> {
        await new Promise((resolve) => setTimeout(resolve, 3000));
      },
    };
    const setup = scrapeSetup({}, { collectors: [...COLLECTORS.filter((c) => c.name !== 'process'), slow] });
    const started = performance.now();
    const runs = await runCollectors(setup.plan, setup.context, undefined, performance.now() + 300);
    expect(performance.now() - started).toBeLessThan(2000);
    const byName = Object.fromEntries(runs.map((run) => [run.name, run]));
    expect(byName.slow!.error).toMatch(/^timed out after 0\.\d s, the scrape's deadline$/);
    expect(await byName.slow!.registry.getMetricsAsJSON()).toEqual([]);
    expect(byName.sockets!.error).toBeUndefined();
    expect(byName.sysctl!.error).toBeUndefined();
  });
});
