import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { OWNER_LABEL_NAMES, ownerLabelValues } from '../../src/owners/owner-labels.js';
import { describeWithNetns, TestNamespace } from '../helpers/netns.js';
import { toolOrSkip } from '../helpers/require-tool.js';

// What a real Prometheus does with owner labels that clash with the target labels of the exporter's
// own pod (namespace, pod, container), with and without honor_labels. Everything runs inside a
// namespace made for the test, on loopback.
const EXPOSITION_PORT = 9101;
const PROMETHEUS = '127.0.0.1:9091';

function exposition(): string {
  const labels = (values: string[]): string => OWNER_LABEL_NAMES.map((name, i) => `${name}="${values[i]}"`).join(',');
  // A pod's namespace series: every owner label written, '' where the owner has none (container).
  const full = labels(ownerLabelValues({ netns: '4026532301', namespace: 'shop', pod: 'web-0', uid: '6f1c2b8e-0d3a-4c5b-9e7f-a1b2c3d4e5f6' }));
  return [
    '# TYPE demo_owner_all_labels gauge',
    `demo_owner_all_labels{${full}} 3`,
    '# TYPE demo_owner_absent_container gauge',
    'demo_owner_absent_container{netns="4026532301",namespace="shop",pod="web-0"} 3',
    '# TYPE demo_host gauge',
    'demo_host 7',
    '',
  ].join('\n');
}

describeWithNetns('owner labels against the target labels of the exporter pod, in a real Prometheus', () => {
  const prometheus = toolOrSkip('prometheus', 'prometheus');
  let ns: TestNamespace;
  let dir: string;

  const query = async (expr: string): Promise<Array<Record<string, string>>> => {
    const script = `fetch(${JSON.stringify(`http://${PROMETHEUS}/api/v1/query?query=${encodeURIComponent(expr)}`)}).then(r => r.text()).then(t => process.stdout.write(t))`;
    const { stdout } = await ns.exec(process.execPath, ['-e', script]);
    return (JSON.parse(stdout) as { data: { result: Array<{ metric: Record<string, string> }> } }).data.result.map((r) => r.metric);
  };

  beforeAll(async () => {
    if (!prometheus.available) return;
    ns = await TestNamespace.create();
    dir = mkdtempSync(join(tmpdir(), 'owners-honor-'));
    writeFileSync(join(dir, 'metrics.txt'), exposition());
    const targetLabels = '{ namespace: monitoring, pod: tcpstate-x7k2p, container: exporter }';
    writeFileSync(join(dir, 'prometheus.yml'), [
      'global: { scrape_interval: 1s }',
      'scrape_configs:',
      `  - job_name: honored`,
      '    honor_labels: true',
      `    static_configs: [{ targets: ["127.0.0.1:${EXPOSITION_PORT}"], labels: ${targetLabels} }]`,
      `  - job_name: default`,
      `    static_configs: [{ targets: ["127.0.0.1:${EXPOSITION_PORT}"], labels: ${targetLabels} }]`,
      '',
    ].join('\n'));
    const server = `const fs = require('fs'); require('http').createServer((q, s) => { s.setHeader('content-type', 'text/plain; version=0.0.4'); s.end(fs.readFileSync(${JSON.stringify(join(dir, 'metrics.txt'))})); }).listen(${EXPOSITION_PORT}, '127.0.0.1')`;
    ns.spawn(process.execPath, ['-e', server]);
    ns.spawn(prometheus.path!, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=${PROMETHEUS}`, '--log.level=warn']);
    const deadline = Date.now() + 45_000;
    for (;;) {
      const ready = await query('count(demo_host)').catch(() => []);
      if (ready.length > 0 && (await query('demo_host')).length === 2) break;
      if (Date.now() > deadline) throw new Error('Prometheus did not scrape both jobs within 45 s');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  });

  afterAll(async () => {
    await ns?.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!prometheus.available)('honor_labels keeps the owner labels, and an explicit empty container keeps the target\'s out', async () => {
    const [series] = await query('demo_owner_all_labels{job="honored"}');
    expect(series).toMatchObject({ namespace: 'shop', pod: 'web-0', netns: '4026532301' });
    expect(series).not.toHaveProperty('container');
    expect(series).not.toHaveProperty('unit');
  });

  it.skipIf(!prometheus.available)('a series that omits container gets the exporter\'s own container label attached', async () => {
    const [series] = await query('demo_owner_absent_container{job="honored"}');
    expect(series).toMatchObject({ namespace: 'shop', pod: 'web-0', container: 'exporter' });
  });

  it.skipIf(!prometheus.available)('without honor_labels the owner labels are renamed exported_* and the target labels win', async () => {
    const [series] = await query('demo_owner_all_labels{job="default"}');
    expect(series).toMatchObject({ namespace: 'monitoring', pod: 'tcpstate-x7k2p', container: 'exporter', exported_namespace: 'shop', exported_pod: 'web-0' });
  });

  it.skipIf(!prometheus.available)('host series without owner labels still get the target labels either way', async () => {
    const series = await query('demo_host');
    expect(series.map((s) => [s.job, s.namespace, s.pod, s.container]).sort()).toEqual([
      ['default', 'monitoring', 'tcpstate-x7k2p', 'exporter'],
      ['honored', 'monitoring', 'tcpstate-x7k2p', 'exporter'],
    ]);
  });
});
