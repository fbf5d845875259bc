import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupCollector } from '../../../src/collectors/cgroup.js';
import { Exporter } from '../../../src/exporter.js';
import { ReplayedCgroups } from '../../helpers/captured-cgroups.js';
import { CapturedNetlinkSource } from '../../helpers/captured-netlink.js';
import { tcpinfoCollector } from '../../../src/collectors/tcpinfo.js';
import { CapturedTcpInfoSource } from '../../helpers/captured-tcpinfo.js';
import { goldenMetricsPath, goldenNetlinkMetricsPath, goldenOwnerMetricsPath, goldenTcpInfoMetricsPath } from '../../helpers/emitted-metrics.js';
import { scrapeSetup } from '../../helpers/scrape-setup.js';
import { fixtureProcfs, startExporter, type RunningExporter } from '../../helpers/exporter-process.js';
import { toolOrSkip } from '../../helpers/require-tool.js';

const run = promisify(execFile);

/** `promtool check metrics` on the exposition text: nothing to report, exit 0. */
async function expectPromtoolClean(promtool: string, exposition: string): Promise<void> {
  const file = join(mkdtempSync(join(tmpdir(), 'tcpstate-golden-')), 'metrics.prom');
  writeFileSync(file, exposition);
  const { stdout, stderr } = await run('sh', ['-c', `${promtool} check metrics < "${file}"; echo "exit=$?"`]);
  expect(stdout + stderr).toBe('exit=0\n');
}

/**
 * What may differ between two scrapes of the same /proc: timings, the Node.js version, and the
 * exporter's own process metrics. Everything else in /metrics must match the golden file.
 */
function normalize(exposition: string): string {
  const lines: string[] = [];
  for (const line of exposition.split('\n')) {
    if (/^(# (HELP|TYPE) )?(process|nodejs)_/.test(line)) continue;
    lines.push(
      line
        .replace(/^(tcpstate_scrape_collector_duration_seconds\{[^}]*\}) \S+$/, '$1 <duration>')
        .replace(/^(tcpstate_netns_(?:discovery|table_dump|counters_read)_seconds) \S+$/, '$1 <duration>')
        .replace(/node_version="[^"]*"/, 'node_version="<node>"')
        .replace(/version="[^"]*",node_version/, 'version="<version>",node_version'),
    );
  }
  return lines.join('\n').replace(/\n{3,}/g, '\n\n');
}

/** Compares with a golden file; only an explicit update writes it, so a missing file fails. */
function expectGolden(path: string, actual: string): void {
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, actual);
  expect(existsSync(path), `${path} is missing: run npm run test:update-golden and review the diff`).toBe(true);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

describe('the whole /metrics output for the fixture /proc', () => {
  let exporter: RunningExporter;
  let body: string;

  beforeAll(async () => {
    exporter = await startExporter([`--path.procfs=${fixtureProcfs}`, '--collector.process', '--collector.sockets.remote-ports=8080', '--collector.netstat.fields=TcpExt_TCP(SackRecovery|FastOpen.*)|Tcp_CurrEstab|Udp_.*']);
    body = await (await fetch(`${exporter.url}/metrics`)).text();
  });
  afterAll(async () => {
    await exporter?.stop();
  });

  it('matches test/e2e/golden/metrics.prom (npm run test:update-golden rewrites it)', () => {
    expectGolden(goldenMetricsPath, normalize(body));
  });

  it('serves the exporter process metrics, minus the gauges promtool rejects', () => {
    expect(body).toMatch(/^process_cpu_seconds_total /m);
    expect(body).toMatch(/^nodejs_heap_size_total_bytes /m);
    expect(body).not.toMatch(/nodejs_active_\w+_total/);
  });

  const promtool = toolOrSkip('promtool', 'prometheus');
  it.skipIf(!promtool.available)('passes promtool check metrics as served', async () => {
    await expectPromtoolClean(promtool.path!, body);
  });
});

describe('the /metrics output for the captured netlink dump', () => {
  // The same collectors in-process, with the real netlink parser replaying real kernel bytes: what
  // the netlink source adds to a scrape (the listen backlog limits) is pinned by a real emission.
  it('matches test/e2e/golden/metrics-netlink.prom', async () => {
    const { plan, context } = scrapeSetup({ 'collector.sockets.remote-ports': ['8080'] }, { source: () => new CapturedNetlinkSource() });
    const scrape = await new Exporter(plan, context, { processMetrics: false }).scrape();
    const actual = normalize(scrape.body);
    expect(actual).toMatch(/^tcpstate_listen_queue_max\{port="\d+"\} [1-9]/m);
    expect(actual).toContain('source="netlink"');
    expectGolden(goldenNetlinkMetricsPath, actual);
  });
});

describe('the owner series for the captured dump of sockets in made cgroups', () => {
  // The cgroup capture replayed with its directories re-made in a temporary cgroup "mount" and the
  // runtimes' state beside it: the owner labels and counts are pinned by a real emission.
  const replay = new ReplayedCgroups();
  afterAll(() => replay.destroy());

  it('matches test/e2e/golden/metrics-owners.prom, and passes promtool check metrics', async () => {
    const { plan, context } = scrapeSetup(
      { 'path.procfs': replay.procfs, 'path.rootfs': replay.runtimeRoot },
      { collectors: [cgroupCollector], source: () => replay.source() },
    );
    const actual = normalize((await new Exporter(plan, context, { processMetrics: false }).scrape()).body);
    expect(actual).toMatch(/^tcpstate_owner_sockets\{namespace="shop",pod="orders-5b7c9d-q8z2p",uid="0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",container="api",unit="",state="listen"\} 1$/m);
    expect(actual).toMatch(/^tcpstate_owner_sockets\{namespace="",pod="",uid="",container="memcached",unit="",state="established"\} 3$/m);
    expect(actual).toMatch(/^tcpstate_owner_port_sockets\{namespace="",pod="",uid="",container="",unit="web.service",port="8080",state="close_wait"\} 2$/m);
    expectGolden(goldenOwnerMetricsPath, actual);
    const promtool = toolOrSkip('promtool', 'prometheus');
    if (!promtool.available) return;
    await expectPromtoolClean(promtool.path!, actual.replace(/<duration>/g, '0.001'));
  });
});

describe('the tcpinfo series for the captured tcp_info dump', () => {
  // The capture's clean (7001), lossy (7002), blackholed (7003) and unread (7004) connections,
  // replayed through the real parser and collector: every tcpstate_tcpinfo_ series pinned by a
  // real emission, both directions.
  it('matches test/e2e/golden/metrics-tcpinfo.prom, and passes promtool check metrics', async () => {
    const ports = ['7001,7002,7003,7004'];
    const { plan, context } = scrapeSetup({ 'collector.sockets.ports': ports, 'collector.sockets.remote-ports': ports }, { collectors: [tcpinfoCollector], source: () => new CapturedTcpInfoSource() });
    const actual = normalize((await new Exporter(plan, context, { processMetrics: false }).scrape()).body);
    expect(actual).toMatch(/^tcpstate_scrape_collector_success\{collector="tcpinfo"\} 1$/m);
    expect(actual).toMatch(/^tcpstate_tcpinfo_ca_state_sockets\{port="7003",direction="remote",ca_state="loss"\} 2$/m);
    expect(actual).toMatch(/^tcpstate_tcpinfo_retransmitted_segments\{port="7001",direction="local"\} 0$/m);
    expectGolden(goldenTcpInfoMetricsPath, actual);
    const promtool = toolOrSkip('promtool', 'prometheus');
    if (!promtool.available) return;
    await expectPromtoolClean(promtool.path!, actual.replace(/<duration>/g, '0.001'));
  });
});
