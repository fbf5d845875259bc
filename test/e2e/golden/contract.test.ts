import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emittedMetricNames } from '../../helpers/emitted-metrics.js';
import { parseExposition, select } from '../../helpers/exposition.js';
import { startExporter, type RunningExporter } from '../../helpers/exporter-process.js';
import { toolOrSkip } from '../../helpers/require-tool.js';

const run = promisify(execFile);

/** The metric contract of the design, by name: users' queries, alerts and the dashboard use these. */
const CONTRACT = [
  'tcpstate_sockets',
  'tcpstate_port_sockets',
  'tcpstate_remote_port_sockets',
  'tcpstate_listen_queue_length',
  'tcpstate_listen_queue_max',
  'tcpstate_receive_queue_bytes',
  'tcpstate_send_queue_bytes',
  'tcpstate_keepalive_sockets',
  'tcpstate_keepalive_probing_sockets',
  'tcpstate_retransmitting_sockets',
  'tcpstate_ephemeral_ports_used',
  'tcpstate_ephemeral_port_usage_ratio',
  'tcpstate_process_sockets',
  'tcpstate_sockstat_inuse',
  'tcpstate_sockstat_orphan',
  'tcpstate_sockstat_tw',
  'tcpstate_sockstat_alloc',
  'tcpstate_sockstat_memory_bytes',
  'tcpstate_memory_limit_bytes',
  'tcpstate_sysctl',
  'tcpstate_keepalive_detection_seconds',
  'tcpstate_active_opens_total',
  'tcpstate_passive_opens_total',
  'tcpstate_attempt_fails_total',
  'tcpstate_established_resets_total',
  'tcpstate_segments_received_total',
  'tcpstate_segments_sent_total',
  'tcpstate_retransmitted_segments_total',
  'tcpstate_receive_errors_total',
  'tcpstate_resets_sent_total',
  'tcpstate_listen_overflows_total',
  'tcpstate_listen_drops_total',
  'tcpstate_syncookies_sent_total',
  'tcpstate_syncookies_received_total',
  'tcpstate_syncookies_failed_total',
  'tcpstate_syn_queue_drops_total',
  'tcpstate_syn_queue_cookies_total',
  'tcpstate_syn_retransmits_total',
  'tcpstate_timeouts_total',
  'tcpstate_aborts_total',
  'tcpstate_time_wait_overflow_total',
  'tcpstate_time_wait_recycled_total',
  'tcpstate_time_wait_killed_total',
  'tcpstate_keepalive_probes_total',
  'tcpstate_memory_pressures_total',
  'tcpstate_netstat_total',
  'tcpstate_scrape_collector_success',
  'tcpstate_scrape_collector_duration_seconds',
  'tcpstate_build_info',
];

describe('the metric contract', () => {
  it('every contract metric is emitted', () => {
    const emitted = emittedMetricNames();
    expect(CONTRACT.filter((name) => !emitted.has(name))).toEqual([]);
  });
});

describe('a live scrape of this host', () => {
  let exporter: RunningExporter;
  let body: string;

  beforeAll(async () => {
    exporter = await startExporter(['--collector.process', '--collector.sockets.remote-ports=443', '--collector.netstat.fields=TcpExt_.*']);
    body = await (await fetch(`${exporter.url}/metrics`)).text();
  });
  afterAll(async () => {
    await exporter?.stop();
  });

  it('serves every state for every family the kernel has, and every collector succeeds', () => {
    const samples = parseExposition(body);
    for (const sample of select(samples, 'tcpstate_scrape_collector_success')) expect({ ...sample.labels, ok: sample.value }).toEqual({ ...sample.labels, ok: 1 });
    expect(select(samples, 'tcpstate_sockets', { family: 'ipv4' })).toHaveLength(11);
    // The exporter's own listener is a LISTEN socket on this host.
    expect(select(samples, 'tcpstate_sockets', { state: 'listen' }).reduce((sum, s) => sum + s.value, 0)).toBeGreaterThan(0);
  });

  it('uses netlink on its own namespace, which also gives the accept-queue limits', () => {
    const samples = parseExposition(body);
    expect(select(samples, 'tcpstate_build_info')[0]!.labels.source).toBe('netlink');
    expect(select(samples, 'tcpstate_listen_queue_max').length).toBeGreaterThan(0);
  });

  const promtool = toolOrSkip('promtool', 'prometheus');
  it.skipIf(!promtool.available)('passes promtool check metrics with nothing to report', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tcpstate-live-')), 'metrics.prom');
    writeFileSync(file, body);
    const { stdout, stderr } = await run('sh', ['-c', `"${promtool.path!}" check metrics < "${file}" 2>&1; echo "exit=$?"`]);
    expect(stdout + stderr).toBe('exit=0\n');
  });
});
