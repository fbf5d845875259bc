/**
 * Static checks of grafana/tcpstate.json: in sync with the generator (grafana/dashboard.ts and
 * its rows), importable (the shape Grafana 10/11 expects, no hard-coded datasource UID), every
 * query on metrics the exporter emits, thresholds equal to the alert rules'. The live check that
 * every query returns data from a real Prometheus is test/e2e/pipeline/pipeline.test.ts.
 *
 * These tests never write the JSON; regenerate it after editing the generator: npm run dashboard
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ALERT_THRESHOLDS } from '../../grafana/alert-thresholds.js';
import { ROWS, buildDashboard, dashboardPath, renderDashboard } from '../../grafana/dashboard.js';
import { DATASOURCE } from '../../grafana/queries.js';
import { THRESHOLDS } from '../../src/diagnose/thresholds.js';
import { emittedMetricNames } from '../helpers/emitted-metrics.js';
import { allPanels, dataPanels, loadDashboard, metricNamesIn, panelQueries, variableQuery, variablesIn, type DashboardPanel } from './dashboard-queries.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const rulesPath = fileURLToPath(new URL('../../alerts/tcpstate.rules.yml', import.meta.url));

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = (parse(readFileSync(rulesPath, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((group) => group.rules);
const recordingRuleNames = new Set(rules.flatMap((rule) => (rule.record ? [rule.record] : [])));

/**
 * Exporter metrics the dashboard deliberately does not show, with the reason. Any other metric
 * the exporter emits must be on the dashboard: when the exporter gains a metric, this test asks
 * for a panel (or a line here).
 */
const NOT_ON_DASHBOARD: Record<string, string> = {
  tcpstate_netstat_total: 'only with --collector.netstat.fields; arbitrary kernel fields chosen by the user',
  // The tcpinfo histograms are shown by their buckets (heatmaps and medians); a mean RTT or idle
  // time would hide the spread, and each _count is tcpstate_tcpinfo_sockets again.
  tcpstate_tcpinfo_rtt_seconds_sum: 'shown by its buckets; a mean would hide the spread',
  tcpstate_tcpinfo_rtt_seconds_count: 'the same number as tcpstate_tcpinfo_sockets',
  tcpstate_tcpinfo_idle_seconds_sum: 'shown by its buckets; a mean would hide the spread',
  tcpstate_tcpinfo_idle_seconds_count: 'the same number as tcpstate_tcpinfo_sockets',
};

describe('generated dashboard', () => {
  it('grafana/tcpstate.json is what the generator produces (regenerate: npm run dashboard)', () => {
    expect(readFileSync(dashboardPath, 'utf8'), 'grafana/tcpstate.json is stale: run npm run dashboard').toBe(renderDashboard());
  });

  it('generating twice gives the same JSON (no clocks, no random ids)', () => {
    expect(renderDashboard()).toBe(renderDashboard());
  });

  it('the entry point behind npm run dashboard writes that JSON', () => {
    const script = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).scripts.dashboard as string;
    expect(script).toBe('tsx grafana/main.ts');
    const dir = mkdtempSync(join(tmpdir(), 'tcpstate-dashboard-'));
    try {
      const out = join(dir, 'tcpstate.json');
      const run = spawnSync(join(repoRoot, 'node_modules/.bin/tsx'), ['grafana/main.ts', out], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toBe(`wrote ${out}\n`);
      expect(readFileSync(out, 'utf8')).toBe(renderDashboard());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes the thresholds from src/diagnose/thresholds.ts', () => {
    expect(ALERT_THRESHOLDS.synBacklog.value).toBe(THRESHOLDS.synFlood.backlogShare);
    expect(ALERT_THRESHOLDS.closeWait.value).toBe(THRESHOLDS.closeWait.floor);
    expect(ALERT_THRESHOLDS.collectorSuccess.value).toBe(THRESHOLDS.collectors.successShare);
  });

  it('builds one dashboard row per entry of ROWS, in order', () => {
    const titles = ROWS.map((make) => make().title);
    expect(buildDashboard().panels?.filter((panel) => panel.type === 'row').map((panel) => panel.title)).toEqual(titles);
  });
});

const dashboard = loadDashboard();
const panels = dataPanels(dashboard);
const queries = panelQueries(dashboard);

describe('dashboard shape (Grafana 10/11 import)', () => {
  it('has a uid, a title and schemaVersion 39', () => {
    expect(dashboard.uid).toBe('tcpstate-exporter');
    expect(dashboard.title).not.toBe('');
    expect(dashboard.schemaVersion).toBe(39);
  });

  it('defines the template variables datasource, job, instance, port and pod', () => {
    const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    expect([...variables.keys()]).toEqual(['datasource', 'job', 'instance', 'port', 'pod']);
    expect(variables.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const name of ['job', 'instance', 'port', 'pod']) {
      const variable = variables.get(name)!;
      expect(variable, name).toMatchObject({ type: 'query', multi: true, includeAll: true, datasource: DATASOURCE });
      expect(variable.definition, name).toBe(variableQuery(variable));
    }
    expect(variableQuery(variables.get('job')!)).toBe('label_values(tcpstate_build_info, job)');
    expect(variableQuery(variables.get('instance')!)).toBe('label_values(tcpstate_build_info{job=~"$job"}, instance)');
    expect(variableQuery(variables.get('port')!)).toBe('label_values(tcpstate_port_sockets{job=~"$job", instance=~"$instance"}, port)');
    expect(variableQuery(variables.get('pod')!)).toBe('label_values(tcpstate_netns_table_info{job=~"$job", instance=~"$instance"}, pod)');
  });

  it('has the rows of the dashboard contract, in order', () => {
    const rows = allPanels(dashboard).filter((panel) => panel.type === 'row').map((panel) => panel.title);
    expect(rows).toEqual([
      'Overview: socket states',
      'SYN flood',
      'Accept queues by port',
      'CLOSE_WAIT by port and process',
      'TIME_WAIT and ephemeral ports',
      'Keepalive',
      'Retransmissions, resets and aborts',
      'Connection quality',
      'Pods and containers',
      'Sysctl tunables',
      'Exporter',
    ]);
    // Every row has panels under it.
    const top = dashboard.panels;
    top.forEach((panel, i) => {
      if (panel.type === 'row') expect(top[i + 1]?.type ?? 'end', `row "${panel.title}" is empty`).not.toMatch(/^(row|end)$/);
    });
  });

  it('gives every panel a unique id and a place on the 24-column grid without overlaps', () => {
    const all = allPanels(dashboard);
    expect(new Set(all.map((panel) => panel.id)).size).toBe(all.length);
    const cells = new Map<string, string>();
    for (const panel of all) {
      const { x, y, w, h } = panel.gridPos;
      expect(x >= 0 && w > 0 && h > 0 && x + w <= 24, `${panel.title} gridPos ${JSON.stringify(panel.gridPos)}`).toBe(true);
      for (let col = x; col < x + w; col++) {
        for (let line = y; line < y + h; line++) {
          const key = `${col},${line}`;
          expect(cells.get(key), `${panel.title} overlaps ${cells.get(key)}`).toBeUndefined();
          cells.set(key, panel.title);
        }
      }
    }
  });

  it('gives every data panel a description, a unit and at least one query', () => {
    expect(panels.length).toBeGreaterThan(30);
    for (const panel of panels) {
      expect(panel.description?.length ?? 0, `${panel.title}: description`).toBeGreaterThan(20);
      expect(panel.fieldConfig?.defaults.unit, `${panel.title}: unit`).toEqual(expect.any(String));
      expect(panel.targets?.length ?? 0, `${panel.title}: targets`).toBeGreaterThan(0);
      const refIds = panel.targets!.map((t) => t.refId);
      expect(new Set(refIds).size, `${panel.title}: refIds`).toBe(refIds.length);
    }
  });

  it('puts the instance in every legend, so that several hosts can be told apart', () => {
    for (const { name, target } of queries) {
      // A table has no legend; a heatmap has one series per bucket ({{le}}), summed over the hosts.
      if (target.format === 'table' || target.format === 'heatmap') continue;
      expect(target.legendFormat, name).toContain('{{instance}}');
    }
  });
});

describe('datasource references', () => {
  /** Every value under a "datasource" key, and every "uid" key, anywhere in the JSON. */
  function walk(node: unknown, path: string, found: { path: string; key: string; value: unknown }[]): void {
    if (Array.isArray(node)) node.forEach((item, i) => walk(item, `${path}[${i}]`, found));
    else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'datasource' || key === 'uid') found.push({ path: `${path}.${key}`, key, value });
        walk(value, `${path}.${key}`, found);
      }
    }
  }

  it('uses the ${datasource} variable everywhere: no hard-coded UID, no __inputs placeholder', () => {
    const found: { path: string; key: string; value: unknown }[] = [];
    walk(dashboard, '$', found);
    const datasources = found.filter((f) => f.key === 'datasource');
    expect(datasources.length).toBeGreaterThan(panels.length);
    for (const { path, value } of datasources) expect(value, path).toEqual({ type: 'prometheus', uid: '${datasource}' });
    const uids = found.filter((f) => f.key === 'uid' && f.path !== '$.uid' && !f.path.endsWith('.datasource.uid'));
    expect(uids, 'uid keys outside datasource references').toEqual([]);
    const text = readFileSync(dashboardPath, 'utf8');
    expect(text).not.toContain('__inputs');
    expect(text).not.toMatch(/\$\{DS_/);
  });

  it('gives every data panel and every target the datasource', () => {
    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual(DATASOURCE);
      for (const target of panel.targets ?? []) expect(target.datasource, `${panel.title}/${target.refId}`).toEqual(DATASOURCE);
    }
  });
});

describe('queried metrics', () => {
  // The golden scrapes include the tcpinfo collector's (replayed from a captured tcp_info dump).
  const emitted = emittedMetricNames();
  const known = new Set([...emitted, ...recordingRuleNames]);
  const queried = new Map<string, string[]>();
  for (const { name, target } of queries) {
    for (const metric of metricNamesIn(target.expr)) queried.set(metric, [...(queried.get(metric) ?? []), name]);
  }
  for (const variable of dashboard.templating.list) {
    if (variable.type !== 'query') continue;
    for (const metric of metricNamesIn(variableQuery(variable).replace(/^label_values\((.*),\s*\w+\)$/, '$1'))) queried.set(metric, [...(queried.get(metric) ?? []), `variable ${variable.name}`]);
  }

  it('extracts metric names from PromQL (the extractor this check relies on)', () => {
    expect([...metricNamesIn('sum by (instance, state) (rate(foo_total{job=~"$job", a="b{c}"}[$__rate_interval])) / on (instance) group_left () bar > 0.25')].sort()).toEqual(['bar', 'foo_total']);
    expect([...metricNamesIn('label_replace(x{a="1"}, "dst", "$1[$2]", "src", "(.+)#(.+)") and ignoring (index) y offset 5m * 1e3')].sort()).toEqual(['x', 'y']);
    expect([...metricNamesIn('instance:tcpstate_sockets:sum unless max_over_time(z[10m:1m])')].sort()).toEqual(['instance:tcpstate_sockets:sum', 'z']);
  });

  it('queries only metrics the exporter emits (golden scrape + netlink-only + tcpinfo) or the recording rules define', () => {
    expect(queried.size).toBeGreaterThan(30);
    const unknown = [...queried].filter(([metric]) => !known.has(metric)).map(([metric, where]) => `${metric} (in ${where.join(', ')})`);
    expect(unknown).toEqual([]);
  });

  it(`shows every tcpstate_ metric the exporter emits (except: ${Object.keys(NOT_ON_DASHBOARD).join(', ')})`, () => {
    const missing = [...emitted].filter((metric) => metric.startsWith('tcpstate_') && !queried.has(metric) && !(metric in NOT_ON_DASHBOARD));
    expect(missing, 'add a panel for these, or list them in NOT_ON_DASHBOARD with the reason').toEqual([]);
  });

  it('uses only the dashboard variables and Grafana built-ins it can resolve', () => {
    const allowed = new Set(['job', 'instance', 'port', 'pod', '__rate_interval', '__interval']);
    for (const { name, target } of queries) {
      for (const variable of variablesIn(target.expr)) expect(allowed.has(variable), `${name}: $${variable}`).toBe(true);
      expect(target.expr, name).toContain('job=~"$job"');
      expect(target.expr, name).toContain('instance=~"$instance"');
    }
  });

  it('keeps the pod row to other namespaces, picked by $pod, and the host\'s panels to the host', () => {
    const podRow = queries.filter(({ target }) => /tcpstate_netns_(sockets|close_wait_sockets|listen_queue_length|listen_queue_max|table_info|table_age_seconds)\b|pod=~"\$pod"/.test(target.expr));
    expect(podRow.length).toBeGreaterThanOrEqual(6);
    for (const { name, target } of podRow) {
      for (const selector of target.expr.matchAll(/tcpstate_\w+\{([^}]*)\}/g)) expect(selector[1], name).toContain('netns!~"|other", pod=~"$pod"');
    }
    for (const { name, target } of queries.filter((q) => !podRow.includes(q))) expect(target.expr, name).not.toContain('$pod');
  });

  it('filters by $port on the per-port panels', () => {
    const perPort = queries.filter(({ target }) => /tcpstate_(port_sockets|listen_queue_length|listen_queue_max)\b/.test(target.expr));
    expect(perPort.length).toBeGreaterThan(4);
    for (const { name, target } of perPort) expect(target.expr, name).toContain('port=~"$port"');
  });
});

describe('thresholds and runbook links follow alerts/tcpstate.rules.yml', () => {
  const alertRules = rules.filter((rule): rule is Rule & { alert: string } => typeof rule.alert === 'string');
  const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  for (const [key, threshold] of Object.entries(ALERT_THRESHOLDS)) {
    it(`${key}: ${threshold.alert} (${threshold.severity}) compares ${threshold.op} ${threshold.value}`, () => {
      const candidates = alertRules.filter((rule) => rule.alert === threshold.alert && rule.labels?.severity === threshold.severity);
      expect(candidates.length, `no ${threshold.severity} rule for ${threshold.alert}`).toBeGreaterThan(0);
      // The number as a whole token right after the operator, e.g. "> 0.25" but not "> 0.255" or ">= 0.25".
      const pattern = new RegExp(`(^|[^<>=!])${escape(threshold.op)}\\s*${escape(String(threshold.value))}(?![0-9.])`);
      expect(candidates.some((rule) => pattern.test(rule.expr)), `${threshold.alert} expr has no "${threshold.op} ${threshold.value}":\n${candidates.map((r) => r.expr).join('\n')}`).toBe(true);
    });
  }

  it('uses every alert threshold on some panel', () => {
    const used = new Set<number>();
    for (const panel of panels) {
      const steps = (panel.fieldConfig?.defaults.thresholds as { steps?: { value: number | null }[] } | undefined)?.steps ?? [];
      for (const step of steps) if (step.value !== null) used.add(step.value);
    }
    for (const [key, threshold] of Object.entries(ALERT_THRESHOLDS)) {
      if (threshold.op === '==') continue; // tcp_syncookies == 0 is a value mapping, not a step
      expect(used.has(threshold.value), `${key} (${threshold.value}) is on no panel`).toBe(true);
    }
  });

  it('links each panel to the runbook_url of the alert it names', () => {
    const runbooks = new Map(alertRules.map((rule) => [rule.alert, rule.annotations?.runbook_url]));
    const linked: DashboardPanel[] = panels.filter((panel) => (panel.links ?? []).length > 0);
    expect(linked.length).toBeGreaterThan(10);
    for (const panel of linked) {
      for (const link of panel.links!) {
        const alert = /^Runbook: (\w+)$/.exec(link.title)?.[1];
        expect(alert, `${panel.title}: link title ${link.title}`).toBeDefined();
        expect(link.url, `${panel.title} -> ${alert}`).toBe(runbooks.get(alert!));
      }
    }
  });
});

describe('the generator', () => {
  it('builds the same object that the checked-in JSON parses to', () => {
    expect(JSON.parse(JSON.stringify(buildDashboard()))).toEqual(dashboard);
  });
});
