/**
 * The whole pipeline, live: real sockets -> exporter -> Prometheus (with the project's rules) ->
 * Alertmanager -> a webhook; and every query of the Grafana dashboard against that Prometheus.
 *
 * Everything runs inside a network namespace made for this file, on its loopback: the socket
 * farm, the exporter, the Debian `prometheus` and `prometheus-alertmanager` binaries and a tiny
 * webhook receiver. The test process stays in the host namespace and reaches the HTTP APIs through
 * `ip netns exec ... node http-batch.mjs` (one node start-up per batch of requests).
 *
 * Time budget: about a minute. Prometheus scrapes and evaluates every second; the rules are a
 * copy of alerts/tcpstate.rules.yml with every `for:` cut to 5 s (shortenedRules, shared with the
 * real-fault tests in test/e2e/faults). The windows need no change: min_over_time(...[10m]) over a
 * series that is seconds old is the minimum of the samples there are (>= 20 from the first scrape,
 * since the farm is up before the exporter starts), and deriv(...[10m]) needs two samples.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { shortenedRules, sleep, waitFor } from '../faults/monitoring-stack.js';
import { describeWithNetns, exporterBin, TestNamespace, type RunningFarm } from '../../helpers/netns.js';
import { toolOrSkip } from '../../helpers/require-tool.js';
import { loadDashboard, panelQueries, variableQuery, type PanelQuery } from '../../grafana/dashboard-queries.js';
import { formatMultiValue, grafanaRegexEscape, interpolate, rateInterval } from './grafana-interpolate.js';
import { podRowQueries } from './pod-row-queries.js';

const rulesPath = fileURLToPath(new URL('../../../alerts/tcpstate.rules.yml', import.meta.url));
const httpBatch = fileURLToPath(new URL('./http-batch.mjs', import.meta.url));
const webhookReceiver = fileURLToPath(new URL('./webhook-receiver.mjs', import.meta.url));

// Fixed ports: the namespace is new and empty, and all of them are below ip_local_port_range.
const EXPORTER = '127.0.0.1:9977';
const PROMETHEUS = '127.0.0.1:9090';
const ALERTMANAGER = '127.0.0.1:9093';
const WEBHOOK_PORT = 5001;
const JOB = 'tcpstate';
/**
 * A second exporter with only the process collector, in a job of its own scraped every 30 s. The
 * process collector reads every process's /proc/<pid>/fd, and /proc here is the host's: while a
 * benchmark elsewhere on the host holds 600k sockets a walk takes seconds (4-7 s measured), too slow
 * for the 2 s job that drives the alerts. Separate jobs for expensive collectors are a common
 * production pattern too.
 */
const PROCESS_EXPORTER = '127.0.0.1:9978';
const PROCESS_JOB = 'tcpstate-process';
const PROCESS_SCRAPE_SECONDS = 30;
/**
 * 3 s, with a 3 s timeout. A scrape here usually takes well under a second, but the kernel's TCP
 * hash table is shared by every namespace, so while a benchmark holds 600k sockets elsewhere on the
 * host a dump takes longer (2.3 s seen on 2 busy cores), and a scrape that times out marks every
 * series stale, which resets the alerts' `for`.
 */
const SCRAPE_SECONDS = 3;

/** The CLOSE_WAIT leak: 20 sockets on this port, exactly the alert's floor (>= 20). */
const LEAK_PORT = '8082';
const LEAK_COUNT = 20;
/** A near miss: 5 CLOSE_WAIT sockets on this port must not fire the leak alert. */
const NEAR_MISS_PORT = '8086';

/** Some of every state, the CLOSE_WAIT leak on 8082 (owned by a process named leaky-app). */
const FARM_SPEC = {
  listeners: [
    { name: 'web', host: '127.0.0.1', port: 8080 },
    { name: 'web6', host: '::1', port: 8443 },
    { name: 'leaky', host: '127.0.0.1', port: Number(LEAK_PORT) },
    { name: 'nearmiss', host: '127.0.0.1', port: Number(NEAR_MISS_PORT) },
    { name: 'queue', host: '127.0.0.1', port: 8083, backlog: 4 },
    { name: 'flood', host: '127.0.0.1', port: 8084 },
    { name: 'silent', host: '127.0.0.1', port: 8085 },
  ],
  groups: [
    { kind: 'established', to: 'web', count: 10, keepalive: true, unread_bytes: 100, owner: 'web-worker' },
    { kind: 'established', to: 'web6', count: 3 },
    { kind: 'close_wait', to: 'leaky', count: LEAK_COUNT, owner: 'leaky-app' },
    { kind: 'close_wait', to: 'nearmiss', count: 5 },
    { kind: 'time_wait', to: 'web', count: 5 },
    { kind: 'backlog', to: 'queue', count: 4 },
    { kind: 'syn_recv', to: 'flood', count: 3 },
    { kind: 'syn_sent', host: '127.0.0.1', port: 9001, count: 2 },
    { kind: 'half_open', to: 'silent', count: 2, keepidle: 1 },
  ],
  expect: {
    [`( sport = :${LEAK_PORT} )`]: { 'CLOSE-WAIT': LEAK_COUNT },
    [`( sport = :${NEAR_MISS_PORT} )`]: { 'CLOSE-WAIT': 5 },
    '( sport = :8083 )': { ESTAB: 4 },
  },
};

/**
 * Panel queries that may legitimately return nothing here, with the reason. Every other query
 * must return data. An entry that does return data is fine (and is logged).
 */
const NOT_NAMESPACED = 'inside a network namespace the kernel has no per-namespace net.ipv4.tcp_mem or tcp_max_orphans (they are host-wide and their /proc/sys files do not exist there), so the exporter leaves them out; on a host or with hostNetwork they are there';
const MAY_BE_EMPTY: Record<string, string> = {
  'Bytes queued by state / B':
    'send queues > 0 only: on loopback every byte is acknowledged at once, so no socket in the farm has unacknowledged data',
  'Orphans ÷ tcp_max_orphans / A': NOT_NAMESPACED,
  'TCP memory ÷ tcp_mem pressure / A': NOT_NAMESPACED,
  'TCP memory ÷ tcp_mem high / A': NOT_NAMESPACED,
  'TCP memory vs tcp_mem / B': NOT_NAMESPACED,
  // The pod tables read other namespaces' series (pod=~"$pod"): this pipeline makes no pods, so
  // they show whatever other namespaces the machine has, maybe none. pods.test.ts runs them with pods.
  ...Object.fromEntries(
    podRowQueries()
      .filter(({ target }) => target.expr.includes('pod=~"$pod"'))
      .map(({ name }) => [name, 'no pods in this pipeline: test/e2e/pipeline/pods.test.ts runs the pod row against pod namespaces']),
  ),
};

/**
 * The Connection quality row reads the opt-in tcpinfo collector. Where the built exporter has
 * --collector.tcpinfo, the exporter here runs with it and those queries must return data like the
 * others; where it does not (a tree from before the collector), they may be empty, and say why.
 */
const TCPINFO = /--(?:\[no-\])?collector\.tcpinfo(?![.\w])/.test(spawnSync(process.execPath, [exporterBin, '--help'], { encoding: 'utf8', timeout: 30_000 }).stdout ?? '');
const NO_TCPINFO = 'this build of the exporter has no --collector.tcpinfo, the opt-in collector behind the Connection quality row';
const isTcpinfoQuery = ({ target }: PanelQuery): boolean => /tcpstate_tcpinfo_/.test(target.expr);

// --- talking to the namespace --------------------------------------------------------------------

interface HttpRequest {
  url: string;
  form?: Record<string, string>;
  timeoutMs?: number;
}
interface HttpResult {
  url: string;
  status?: number;
  body?: unknown;
  error?: string;
}

interface PromResponse<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
  errorType?: string;
  warnings?: string[];
}
interface PromSeries {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}
interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
  value: string;
}
interface WebhookPayload {
  status: string;
  receiver: string;
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[];
}

describe('Grafana interpolation (used to run the dashboard queries below)', () => {
  it('escapes values and formats multi-value variables like the Prometheus datasource', () => {
    expect(grafanaRegexEscape('127.0.0.1:9977')).toBe('127\\\\.0\\\\.0\\\\.1:9977');
    expect(formatMultiValue(['8080', '8082'])).toBe('(8080|8082)');
    expect(formatMultiValue(['a.b'])).toBe('a\\\\.b');
    expect(rateInterval(2, 1)).toBe(4);
    expect(rateInterval(60, 15)).toBe(75);
    expect(interpolate('rate(x{i=~"$instance"}[$__rate_interval]) $__interval "$1[$2]" ${port}', { instance: 'h', __rate_interval: '4s', __interval: '2s', port: '80' })).toBe(
      'rate(x{i=~"h"}[4s]) 2s "$1[$2]" 80',
    );
  });
});

describeWithNetns('pipeline: farm -> exporter -> Prometheus -> Alertmanager -> webhook, and the dashboard queries', () => {
  const prometheusBin = toolOrSkip('prometheus', 'prometheus');
  const alertmanagerBin = toolOrSkip('prometheus-alertmanager', 'prometheus-alertmanager');
  const missing = [prometheusBin, alertmanagerBin].find((tool) => !tool.available);

  let ns: TestNamespace;
  let farm: RunningFarm | undefined;
  let dir: string;
  const processes: { name: string; child: ChildProcess; logs: () => string }[] = [];
  const webhookPayloads: WebhookPayload[] = [];
  let requestsFile = 0;
  const startedAt = Date.now();
  const elapsed = (): string => `${((Date.now() - startedAt) / 1000).toFixed(1)} s`;

  /** Runs HTTP requests from inside the namespace. */
  async function http(requests: HttpRequest[]): Promise<HttpResult[]> {
    const file = join(dir, `requests-${requestsFile++}.json`);
    writeFileSync(file, JSON.stringify(requests));
    const { stdout } = await ns.exec(process.execPath, [httpBatch, file], 60_000);
    return JSON.parse(stdout) as HttpResult[];
  }

  /** A Prometheus API call: POST with `form` (queries), GET without. */
  async function promApi<T>(path: string, form?: Record<string, string>): Promise<PromResponse<T>> {
    const [result] = await http([{ url: `http://${PROMETHEUS}${path}`, ...(form ? { form } : {}) }]);
    if (result!.error !== undefined) throw new Error(`${path}: ${result!.error}`);
    return result!.body as PromResponse<T>;
  }

  /** Starts a long-running process in the namespace and keeps its output for failure messages. */
  function start(name: string, command: string, args: string[], netOnly = false): ChildProcess {
    const child = netOnly ? ns.spawnNetOnly(command, args) : ns.spawn(command, args);
    let logs = '';
    child.stdout!.on('data', (chunk: Buffer) => (logs += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (logs += chunk.toString()));
    processes.push({ name, child, logs: () => logs.slice(-4000) });
    return child;
  }

  function processReport(): string {
    return processes.map(({ name, child, logs }) => `--- ${name} (exit ${child.exitCode ?? 'running'}) ---\n${logs()}`).join('\n');
  }

  function assertAllRunning(): void {
    const dead = processes.filter(({ child }) => child.exitCode !== null || child.signalCode !== null);
    if (dead.length > 0) throw new Error(`${dead.map((d) => d.name).join(', ')} exited early\n${processReport()}`);
  }

  beforeAll(async () => {
    if (missing !== undefined) return;
    dir = mkdtempSync(join(tmpdir(), 'tcpstate-pipeline-'));
    ns = await TestNamespace.create();
    farm = await ns.startFarm(FARM_SPEC);

    writeFileSync(join(dir, 'tcpstate.rules.yml'), shortenedRules(await readFile(rulesPath, 'utf8')));
    writeFileSync(join(dir, 'prometheus.yml'), prometheusConfig(join(dir, 'tcpstate.rules.yml')));
    writeFileSync(join(dir, 'alertmanager.yml'), ALERTMANAGER_CONFIG);

    // The webhook receiver first: Alertmanager may notify as soon as it has an alert.
    const receiver = start('webhook receiver', process.execPath, [webhookReceiver, String(WEBHOOK_PORT)]);
    const listening = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`webhook receiver did not start\n${processReport()}`)), 15_000);
      createInterface({ input: receiver.stdout! }).on('line', (line) => {
        if (line.startsWith('LISTENING ')) {
          clearTimeout(timer);
          resolve();
        } else if (line.startsWith('{')) {
          webhookPayloads.push((JSON.parse(line) as { body: WebhookPayload }).body);
        }
      });
    });
    await listening;

    start('alertmanager', alertmanagerBin.path!, [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'alertmanager-data')}`,
      `--web.listen-address=${ALERTMANAGER}`,
      '--cluster.listen-address=', // no gossip: a single, isolated Alertmanager
      '--log.level=warn',
    ]);
    start('exporter', process.execPath, [
      exporterBin,
      `--web.listen-address=${EXPORTER}`,
      '--collector.sockets.remote-ports=8080', // so that the remote-port panel has client sockets to show
      ...(TCPINFO ? ['--collector.tcpinfo'] : []), // the Connection quality row
      '--log.level=warn',
    ], true); // the network namespace only: the cgroup collector needs the host's /sys/fs/cgroup
    start('process exporter', process.execPath, [
      exporterBin,
      `--web.listen-address=${PROCESS_EXPORTER}`,
      '--collector.disable-defaults',
      '--collector.process', // the CLOSE_WAIT-by-process panel (root in the namespace can read every fd)
      '--log.level=warn',
    ]);
    start('prometheus', prometheusBin.path!, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'prometheus-data')}`,
      `--web.listen-address=${PROMETHEUS}`,
      '--log.level=warn',
    ]);

    await waitFor(
      'the exporter, Prometheus and Alertmanager to answer',
      30_000,
      async () => {
        assertAllRunning();
        const results = await http([EXPORTER, PROCESS_EXPORTER].map((e) => ({ url: `http://${e}/-/healthy` })).concat([{ url: `http://${PROMETHEUS}/-/ready` }, { url: `http://${ALERTMANAGER}/-/ready` }]));
        return results.every((r) => r.status === 200) ? true : undefined;
      },
      processReport,
    );
  }, 90_000);

  afterAll(async () => {
    await farm?.stop().catch(() => undefined);
    await ns?.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(missing !== undefined)('Prometheus scrapes the exporter and loads every rule of alerts/tcpstate.rules.yml', async () => {
    const original = parse(await readFile(rulesPath, 'utf8')) as RuleFile;
    const expectedRules = original.groups.reduce((n, group) => n + group.rules.length, 0);
    await waitFor(
      'the exporter target to be up and the rules to be evaluated',
      45_000,
      async () => {
        assertAllRunning();
        const up = await promApi<{ result: PromSeries[] }>('/api/v1/query', { query: `up{job="${JOB}"}` });
        const rules = await promApi<{ groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[] }>('/api/v1/rules');
        const loaded = rules.data.groups.flatMap((group) => group.rules);
        const unhealthy = loaded.filter((rule) => rule.health === 'err');
        if (unhealthy.length > 0) throw new Error(`rules failing: ${JSON.stringify(unhealthy)}`);
        const ok = up.data.result[0]?.value?.[1] === '1' && loaded.length === expectedRules && loaded.every((rule) => rule.health === 'ok');
        return ok ? true : undefined;
      },
      processReport,
    );
    console.log(`Prometheus scraping, ${expectedRules} rules evaluated, ${elapsed()} after the test file started`);
  }, 60_000);

  it.skipIf(missing !== undefined)(`the CLOSE_WAIT leak on port ${LEAK_PORT} travels Prometheus -> Alertmanager -> webhook with its port label`, async () => {
    const isLeak = (labels: Record<string, string>): boolean => labels.alertname === 'TCPCloseWaitLeak' && labels.port === LEAK_PORT;

    // 1. Prometheus: pending, then firing once the shortened `for` has passed.
    const firing = await waitFor(
      'TCPCloseWaitLeak to fire in Prometheus',
      60_000,
      async () => {
        assertAllRunning();
        const alerts = await promApi<{ alerts: PromAlert[] }>('/api/v1/alerts');
        return alerts.data.alerts.find((alert) => isLeak(alert.labels) && alert.state === 'firing');
      },
      processReport,
    );
    expect(firing.labels).toMatchObject({ severity: 'warning', job: JOB, instance: EXPORTER, state: 'close_wait' });
    expect(Number(firing.value)).toBe(LEAK_COUNT);
    expect(firing.annotations.summary).toContain(`port ${LEAK_PORT}`);

    // 2. Alertmanager has it.
    const inAlertmanager = await waitFor('TCPCloseWaitLeak in Alertmanager', 30_000, async () => {
      const [result] = await http([{ url: `http://${ALERTMANAGER}/api/v2/alerts?filter=alertname%3D%22TCPCloseWaitLeak%22` }]);
      const alerts = (result!.body ?? []) as { labels: Record<string, string>; status: { state: string } }[];
      return Array.isArray(alerts) ? alerts.find((alert) => isLeak(alert.labels)) : undefined;
    });
    expect(inAlertmanager.status.state).toBe('active');

    // 3. The webhook got it, with the port of the leak.
    const delivered = await waitFor(
      'the webhook to receive TCPCloseWaitLeak',
      30_000,
      async () => webhookPayloads.flatMap((payload) => payload.alerts).find((alert) => isLeak(alert.labels)),
      () => `webhook payloads so far: ${JSON.stringify(webhookPayloads)}\n${processReport()}`,
    );
    expect(delivered.status).toBe('firing');
    expect(delivered.labels).toMatchObject({ alertname: 'TCPCloseWaitLeak', port: LEAK_PORT, instance: EXPORTER, job: JOB, severity: 'warning' });
    expect(delivered.annotations.runbook_url).toMatch(/runbooks\.md#tcpclosewaitleak$/);

    // The same rule, evaluated on the same samples, left the near miss (5 < 20) and every other
    // port alone: ALERTS holds every pending or firing state Prometheus has had so far.
    const everPending = await promApi<{ result: PromSeries[] }>('/api/v1/query', { query: 'count by (port) (count_over_time(ALERTS{alertname="TCPCloseWaitLeak"}[10m]))' });
    expect(everPending.data.result.map((series) => series.metric.port)).toEqual([LEAK_PORT]);
    const deliveredPorts = new Set(webhookPayloads.flatMap((payload) => payload.alerts).filter((a) => a.labels.alertname === 'TCPCloseWaitLeak').map((a) => a.labels.port));
    expect([...deliveredPorts]).toEqual([LEAK_PORT]);
    console.log(`TCPCloseWaitLeak reached the webhook ${elapsed()} after the test file started`);
  }, 130_000);

  it.skipIf(missing !== undefined)('every panel query of grafana/tcpstate.json runs in Prometheus, and all but the documented few return data', async () => {
    // Enough history for a range query and for rate() over $__rate_interval: 6 scrapes; and one
    // successful scrape of the slow process job.
    await waitFor('6 scrapes of history and a process-collector scrape', 60_000, async () => {
      const r = await promApi<{ result: PromSeries[] }>('/api/v1/query', { query: `count_over_time(up{job="${JOB}"}[1m]) >= 6 and on () max_over_time(up{job="${PROCESS_JOB}"}[1m]) == 1` });
      return r.data.result.length > 0 ? true : undefined;
    });

    const dashboard = loadDashboard();
    const interval = SCRAPE_SECONDS; // $__interval: the step Grafana picks for a narrow time range
    const builtins: Record<string, string> = {
      __interval: `${interval}s`,
      __rate_interval: `${rateInterval(interval, SCRAPE_SECONDS)}s`, // 12s with a 3 s scrape interval, as Grafana computes it
    };

    // Template variables, resolved against Prometheus in order (instance depends on job, port on
    // both), each set to all of its values, formatted as Grafana does for a multi-value variable.
    const variables: Record<string, string> = { ...builtins };
    const variableValues: Record<string, string[]> = {};
    for (const variable of dashboard.templating.list) {
      if (variable.type !== 'query') continue;
      const match = /^label_values\((.+),\s*(\w+)\)$/.exec(variableQuery(variable));
      expect(match, `variable ${variable.name}: ${variableQuery(variable)}`).not.toBeNull();
      const selector = interpolate(match![1]!, variables);
      const end = Date.now() / 1000;
      const [result] = await http([{ url: `http://${PROMETHEUS}/api/v1/label/${match![2]}/values?${new URLSearchParams({ 'match[]': selector, start: String(end - 60), end: String(end) })}` }]);
      const values = (result!.body as PromResponse<string[]>).data;
      // No pods here (pods.test.ts has them): the pod variable may be empty, and All is then `.*`.
      if (variable.name !== 'pod') expect(values.length, `variable ${variable.name} (${selector}) has no values`).toBeGreaterThan(0);
      variableValues[variable.name] = values;
      variables[variable.name] = values.length > 0 ? formatMultiValue(values) : '.*';
    }
    expect(variableValues.job).toEqual([JOB, PROCESS_JOB]);
    expect(variableValues.instance).toEqual([EXPORTER, PROCESS_EXPORTER]);
    expect(variableValues.port).toEqual(expect.arrayContaining([LEAK_PORT, NEAR_MISS_PORT, '8080', '8443', '9977', '9090']));

    const queries = panelQueries(dashboard);
    const promql = queries.map(({ target }) => interpolate(target.expr, variables));
    for (const [i, query] of promql.entries()) expect(query, `${queries[i]!.name}: a variable was left unsubstituted`).not.toMatch(/\$(?!\d)/);

    /** Runs the queries as Grafana would: instant ones at `end`, the others over the 20 s before it. */
    const run = async (indexes: number[]): Promise<HttpResult[]> => {
      const end = Date.now() / 1000;
      return http(
        indexes.map((i): HttpRequest => {
          const query = promql[i]!;
          return queries[i]!.target.instant
            ? { url: `http://${PROMETHEUS}/api/v1/query`, form: { query, time: String(end) } }
            : { url: `http://${PROMETHEUS}/api/v1/query_range`, form: { query, start: String(end - 20), end: String(end), step: String(interval) } };
        }),
      );
    };

    const failed: string[] = [];
    const badLegend: string[] = [];
    const byName = new Map<string, PromSeries[]>();
    // Up to three rounds, 2 s apart, for queries that came back empty: a scrape that fails (the
    // host is busy) marks every series stale, and an instant query right after it sees nothing.
    let pending = queries.map((_, i) => i);
    for (let round = 0; round < 3 && pending.length > 0; round++) {
      if (round > 0) await sleep(2000);
      const results = await run(pending);
      const stillEmpty: number[] = [];
      pending.forEach((i, k) => {
        const { name, target }: PanelQuery = queries[i]!;
        const result = results[k]!;
        const body = result.body as PromResponse<{ result: PromSeries[] }> | undefined;
        if (result.status !== 200 || body?.status !== 'success') {
          failed.push(`${name}: ${result.error ?? body?.error ?? result.status}\n    ${promql[i]}`);
          return;
        }
        const series = body.data.result;
        byName.set(name, series);
        if (series.length === 0) stillEmpty.push(i);
        // Every {{label}} of the legend must be on every series, or Grafana shows an empty name.
        for (const [, label] of (target.legendFormat ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g)) {
          const without = series.filter((s) => s.metric[label!] === undefined);
          if (without.length > 0) badLegend.push(`${name}: {{${label}}} missing on ${JSON.stringify(without[0]!.metric)}`);
        }
      });
      if (failed.length > 0) break;
      pending = stillEmpty;
    }
    const empty = pending.map((i) => queries[i]!.name);
    const mayBeEmpty: Record<string, string> = { ...MAY_BE_EMPTY };
    if (!TCPINFO) for (const q of queries.filter(isTcpinfoQuery)) mayBeEmpty[q.name] = NO_TCPINFO;

    expect(failed, 'queries Prometheus rejected').toEqual([]);
    expect(badLegend, 'legends naming a label the query does not keep').toEqual([]);
    const unexpectedlyEmpty = empty.filter((name) => !(name in mayBeEmpty));
    expect(unexpectedlyEmpty, 'queries without data (list them in MAY_BE_EMPTY with the reason if that is right)').toEqual([]);
    for (const name of Object.keys(MAY_BE_EMPTY)) expect(byName.has(name), `MAY_BE_EMPTY names no query: ${name}`).toBe(true);

    const withData = queries.length - empty.length;
    const reasons = new Map<string, string[]>();
    for (const name of empty) reasons.set(mayBeEmpty[name]!, [...(reasons.get(mayBeEmpty[name]!) ?? []), name]);
    console.log(
      `dashboard: ${new Set(queries.map((q) => q.panel.id)).size} panels, ${queries.length} panel queries, ${withData} returned data, ${empty.length} empty:\n` +
        [...reasons].map(([reason, names]) => `  - ${names.join(', ')}: ${reason}`).join('\n'),
    );

    const scrapeStats = await promApi<{ result: PromSeries[] }>('/api/v1/query', {
      query: `label_replace(count_over_time(up{job="${JOB}"}[10m]), "stat", "scrapes", "", "") or label_replace(count_over_time((up{job="${JOB}"} == 0)[10m:${SCRAPE_SECONDS}s]), "stat", "failed", "", "") or label_replace(max_over_time(scrape_duration_seconds{job="${JOB}"}[10m]), "stat", "longest_s", "", "")`,
    });
    console.log(`scrapes so far: ${scrapeStats.data.result.map((r) => `${r.metric.stat}=${r.value?.[1]}`).join(' ')}; ${elapsed()} after the test file started`);

    // A few values the farm pins down, read through the dashboard's own queries.
    const last = (name: string, match: Record<string, string>): number | undefined => {
      const series = byName.get(name)?.find((s) => Object.entries(match).every(([k, v]) => s.metric[k] === v));
      const values = series?.values ?? (series?.value ? [series.value] : []);
      return values.length > 0 ? Number(values[values.length - 1]![1]) : undefined;
    };
    expect(last('CLOSE_WAIT by port / A', { port: LEAK_PORT })).toBe(LEAK_COUNT);
    expect(last('CLOSE_WAIT by port / A', { port: NEAR_MISS_PORT })).toBe(5);
    expect(last('CLOSE_WAIT by process / A', { process: 'leaky-app' })).toBe(LEAK_COUNT);
    expect(last('Accept queue length vs backlog / A', { port: '8083' })).toBe(4);
    expect(last('Accept queue length vs backlog / B', { port: '8083' })).toBe(4);
    expect(last('Sockets probing a silent peer / A', {})).toBeGreaterThanOrEqual(1);
    const sysctlRows = new Set((byName.get('TCP sysctls by instance / A') ?? []).map((s) => s.metric.sysctl));
    expect([...sysctlRows]).toEqual(expect.arrayContaining(['net.ipv4.tcp_syncookies', 'net.ipv4.tcp_rmem[0]', 'net.ipv4.ip_local_port_range[1]', 'net.core.somaxconn']));
    expect(byName.get('Exporter build / A')?.find((s) => s.metric.instance === EXPORTER)?.metric.source).toBe('netlink');
  }, 90_000);
});

// --- configuration of the stack --------------------------------------------------------------------

interface RuleFile {
  groups: { name: string; interval?: string; rules: { alert?: string; record?: string; expr: string; for?: string }[] }[];
}

function prometheusConfig(rulesFile: string): string {
  return stringify({
    global: { scrape_interval: `${SCRAPE_SECONDS}s`, scrape_timeout: `${SCRAPE_SECONDS}s`, evaluation_interval: '1s' },
    rule_files: [rulesFile],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [ALERTMANAGER] }] }] },
    scrape_configs: [
      { job_name: JOB, static_configs: [{ targets: [EXPORTER] }] },
      { job_name: PROCESS_JOB, scrape_interval: `${PROCESS_SCRAPE_SECONDS}s`, scrape_timeout: `${PROCESS_SCRAPE_SECONDS}s`, static_configs: [{ targets: [PROCESS_EXPORTER] }] },
    ],
  });
}

/** One route to the webhook; group_wait and group_interval of 1 s so that the test waits little. */
const ALERTMANAGER_CONFIG = stringify({
  route: { receiver: 'webhook', group_by: ['alertname', 'instance', 'port'], group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
  receivers: [{ name: 'webhook', webhook_configs: [{ url: `http://127.0.0.1:${WEBHOOK_PORT}/alerts`, send_resolved: false }] }],
});
