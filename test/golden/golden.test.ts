import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goldenMetricsPath } from '../helpers/emitted-metrics.js';
import { fixtureProcfs, startExporter, type RunningExporter } from '../helpers/exporter-process.js';
import { toolOrSkip } from '../helpers/require-tool.js';

const run = promisify(execFile);

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
        .replace(/node_version="[^"]*"/, 'node_version="<node>"')
        .replace(/version="[^"]*",node_version/, 'version="<version>",node_version'),
    );
  }
  return lines.join('\n').replace(/\n{3,}/g, '\n\n');
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

  it('matches test/golden/metrics.prom (UPDATE_GOLDEN=1 npm test rewrites it)', () => {
    const actual = normalize(body);
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(goldenMetricsPath)) writeFileSync(goldenMetricsPath, actual);
    expect(actual).toBe(readFileSync(goldenMetricsPath, 'utf8'));
  });

  it('serves the exporter process metrics, minus the gauges promtool rejects', () => {
    expect(body).toMatch(/^process_cpu_seconds_total /m);
    expect(body).toMatch(/^nodejs_heap_size_total_bytes /m);
    expect(body).not.toMatch(/nodejs_active_\w+_total/);
  });

  const promtool = toolOrSkip('promtool', 'prometheus');
  it.skipIf(!promtool.available)('passes promtool check metrics as served', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tcpstate-golden-')), 'metrics.prom');
    writeFileSync(file, body);
    const { stdout, stderr } = await run('sh', ['-c', `${promtool.path!} check metrics < "${file}"; echo "exit=$?"`]);
    expect(stdout + stderr).toBe('exit=0\n');
  });
});
