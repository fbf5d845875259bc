import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { emittedMetricNames, goldenMetricsPath } from '../helpers/emitted-metrics.js';
import { toolOrSkip } from '../helpers/require-tool.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const alertsDir = fileURLToPath(new URL('../../alerts/', import.meta.url));
const rulesPath = fileURLToPath(new URL('../../alerts/tcpstate.rules.yml', import.meta.url));
const runbooksPath = fileURLToPath(new URL('../../docs/runbooks.md', import.meta.url));
const runbookBase = 'https://github.com/tcpstate-exporter/tcpstate-exporter/blob/main/docs/runbooks.md#';

/** The alert contract of the design: name -> the severities it must be defined with. */
const CONTRACT: ReadonlyMap<string, readonly string[]> = new Map([
  ['TCPSynFlood', ['critical']],
  ['TCPSynQueueDrops', ['warning']],
  ['TCPListenQueueOverflow', ['warning']],
  ['TCPCloseWaitLeak', ['warning']],
  ['TCPEphemeralPortExhaustion', ['warning', 'critical']],
  ['TCPTimeWaitBucketsOverflow', ['warning']],
  ['TCPOrphanSocketsHigh', ['warning']],
  ['TCPMemoryPressure', ['warning', 'critical']],
  ['TCPRetransmissionRateHigh', ['warning']],
  ['TCPResetStorm', ['warning']],
  ['TCPSyncookiesDisabled', ['info']],
  ['TCPHalfOpenConnections', ['warning']],
  ['TCPStateCollectorFailing', ['warning']],
  ['TCPStateExporterDown', ['critical']],
  ['TCPUpstreamRetransmissionRateHigh', ['warning']],
  ['TCPUpstreamRTTHigh', ['warning']],
  ['TCPListenerLossRecovery', ['warning']],
  // Per network namespace (a pod, a container): the host alerts above, once per namespace.
  ['TCPPodSynFlood', ['critical']],
  ['TCPPodListenQueueOverflow', ['warning']],
  ['TCPPodCloseWaitLeak', ['warning']],
  ['TCPPodRetransmissionRateHigh', ['warning']],
  ['TCPPodResetStorm', ['warning']],
]);

/** The per-namespace alerts: they must name the pod, else the container, else the namespace. */
const POD_ALERTS = [...CONTRACT.keys()].filter((name) => name.startsWith('TCPPod'));

// --- reading the rule and test files -------------------------------------------------------------

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}
interface AlertTestCase {
  eval_time: string;
  alertname: string;
  exp_alerts?: { exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }[] | null;
}
interface TestGroup {
  name?: string;
  alert_rule_test?: AlertTestCase[];
  promql_expr_test?: { expr: string; eval_time: string }[];
}
interface TestFile {
  rule_files: string[];
  tests: TestGroup[];
}

const ruleFile = parse(readFileSync(rulesPath, 'utf8')) as RuleFile;
const rules = ruleFile.groups.flatMap((group) => group.rules);
const alertRules = rules.filter((rule): rule is Rule & { alert: string } => typeof rule.alert === 'string');
const recordNames = new Set(rules.flatMap((rule) => (rule.record === undefined ? [] : [rule.record])));

const testFileNames = readdirSync(alertsDir).filter((file) => file.endsWith('.test.yml')).sort();
const testFiles = testFileNames.map((file) => ({ file, doc: parse(readFileSync(`${alertsDir}${file}`, 'utf8')) as TestFile }));
const testGroups = testFiles.flatMap(({ doc }) => doc.tests);
const alertCases = testGroups.flatMap((group) => group.alert_rule_test ?? []);

// --- small pure helpers --------------------------------------------------------------------------

/** GitHub's heading anchors (github-slugger): lowercase, punctuation dropped, spaces to '-', -1/-2 for repeats. */
export function githubSlugs(markdown: string): Set<string> {
  const slugs = new Set<string>();
  const seen = new Map<string, number>();
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    if (inFence) continue;
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading?.[1]) continue;
    const base = heading[1]
      .toLowerCase()
      .replace(/<[^>]*>/g, '')
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    slugs.add(count === 0 ? base : `${base}-${count}`);
  }
  return slugs;
}

const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'inf', 'nan', 'atan2']);

/** Rough PromQL reading: the series names an expression selects (not functions, labels, keywords, strings). */
export function selectedNames(expr: string): Set<string> {
  const stripped = expr
    .replace(/#[^\n]*/g, ' ') // comments
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ') // strings
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\boffset\s+-?\w+/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w.:])[a-zA-Z_:][\w:]*(?![\w:])(?!\s*\()/g)) {
    if (!PROMQL_KEYWORDS.has(match[0])) names.add(match[0]);
  }
  return names;
}

interface RunResult {
  code: number;
  output: string;
}

/** Runs a command without a shell; resolves with its exit code and stdout+stderr. */
function run(command: string, args: readonly string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: repoRoot, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (error === null) return resolve({ code: 0, output });
      if (typeof error.code === 'number') return resolve({ code: error.code, output });
      reject(new Error(`${command} ${args.join(' ')} failed to run: ${error.message}\n${output}`));
    });
  });
}

// --- promtool ------------------------------------------------------------------------------------

const promtool = toolOrSkip('promtool', 'prometheus');

describe('promtool', () => {
  it.skipIf(!promtool.available)(
    'check rules: the rule file is valid and lint-clean',
    async () => {
      const { code, output } = await run(promtool.path ?? 'promtool', ['check', 'rules', '--lint=all', '--lint-fatal', 'alerts/tcpstate.rules.yml']);
      expect(code, output).toBe(0);
      expect(output).toMatch(/SUCCESS: \d+ rules found/);
      expect(output).not.toMatch(/warn|lint|duplicate/i);
    },
    120_000,
  );

  it.skipIf(!promtool.available)(
    'test rules: every unit-test file passes',
    async () => {
      const files = testFileNames.map((file) => `alerts/${file}`);
      expect(files.length).toBeGreaterThanOrEqual(1);
      const { code, output } = await run(promtool.path ?? 'promtool', ['test', 'rules', ...files]);
      expect(code, output).toBe(0);
      expect(output.match(/SUCCESS/g)?.length, output).toBe(files.length);
    },
    240_000,
  );
});

// --- the rule file against the alert contract ----------------------------------------------------

describe('alert contract', () => {
  it('defines exactly the contract alerts, each with the contract severities', () => {
    const defined = new Map<string, string[]>();
    for (const rule of alertRules) defined.set(rule.alert, [...(defined.get(rule.alert) ?? []), rule.labels?.severity ?? '(none)']);
    expect([...defined.keys()].sort()).toEqual([...CONTRACT.keys()].sort());
    for (const [name, severities] of CONTRACT) {
      expect(defined.get(name)?.slice().sort(), name).toEqual([...severities].sort());
    }
  });

  it('gives every alert a severity, a summary, a description and a runbook_url, and quotes $value', () => {
    expect(alertRules.length).toBeGreaterThanOrEqual(CONTRACT.size);
    for (const rule of alertRules) {
      expect(['critical', 'warning', 'info'], rule.alert).toContain(rule.labels?.severity);
      const { summary, description, runbook_url: runbookUrl } = rule.annotations ?? {};
      expect(summary, `${rule.alert} summary`).toMatch(/\S/);
      expect(description, `${rule.alert} description`).toMatch(/\S/);
      expect(runbookUrl, `${rule.alert} runbook_url`).toMatch(/^https:\/\//);
      expect(`${summary ?? ''}\n${description ?? ''}`, `${rule.alert} quotes the value`).toContain('$value');
      expect(`${summary ?? ''}\n${description ?? ''}`, `${rule.alert} names the instance`).toContain('$labels.instance');
    }
  });

  it('quotes the port in every alert that keeps a port label', () => {
    const perPort = alertRules.filter((rule) => /tcpstate_port_sockets|listen_queue_usage|tcpstate_listen_queue_max|tcpstate_netns_close_wait_sockets|tcpstate_tcpinfo_|_tcpinfo_rtt_seconds:/.test(rule.expr));
    expect(perPort.map((rule) => rule.alert).sort()).toEqual([
      'TCPCloseWaitLeak',
      'TCPListenQueueOverflow',
      'TCPListenerLossRecovery',
      'TCPPodCloseWaitLeak',
      'TCPPodListenQueueOverflow',
      'TCPSynFlood',
      'TCPUpstreamRTTHigh',
      'TCPUpstreamRetransmissionRateHigh',
    ]);
    for (const rule of perPort) {
      expect(`${rule.annotations?.summary ?? ''}${rule.annotations?.description ?? ''}`, rule.alert).toContain('$labels.port');
    }
  });

  it('names the pod, else the container, else the namespace, in every per-namespace alert, and never reads the host\'s series', () => {
    expect(POD_ALERTS).toHaveLength(5);
    const podGroup = ruleFile.groups.find((group) => group.name === 'tcpstate-pods');
    expect(podGroup?.rules.filter((rule) => rule.alert !== undefined).map((rule) => rule.alert).sort()).toEqual([...POD_ALERTS].sort());
    for (const name of POD_ALERTS) {
      const rule = alertRules.find((candidate) => candidate.alert === name)!;
      for (const text of [rule.annotations?.summary ?? '', rule.annotations?.description ?? '']) {
        expect(text, name).toMatch(/if \$labels\.pod \}\}.*\$labels\.namespace \}\}\/\{\{ \$labels\.pod .*else if \$labels\.container .*else \}\}.*\$labels\.netns/s);
      }
    }
    // Every counter the group reads is restricted to other namespaces, netns="other" left out.
    for (const rule of podGroup?.rules ?? []) {
      for (const selector of rule.expr.matchAll(/tcpstate_[a-z_]+_total(\{[^}]*\})?/g)) expect(selector[1], `${rule.record ?? rule.alert}: ${selector[0]}`).toBe('{netns!~"|other"}');
    }
  });

  it('names the destination in every TCPEphemeralPortExhaustion rule, from the per-destination series', () => {
    const exhaustion = alertRules.filter((rule) => rule.alert === 'TCPEphemeralPortExhaustion');
    expect(exhaustion.length).toBe(2);
    for (const rule of exhaustion) {
      expect(selectedNames(rule.expr).has('tcpstate_ephemeral_destination_usage_ratio'), rule.labels?.severity).toBe(true);
      const text = `${rule.annotations?.summary ?? ''}${rule.annotations?.description ?? ''}`;
      expect(text, rule.labels?.severity).toContain('$labels.remote_address');
      expect(text, rule.labels?.severity).toContain('$labels.remote_port');
    }
  });

  it('points every runbook_url at an existing heading of docs/runbooks.md, the one named after the alert', () => {
    const slugs = githubSlugs(readFileSync(runbooksPath, 'utf8'));
    for (const rule of alertRules) {
      const url = rule.annotations?.runbook_url ?? '';
      expect(url.startsWith(runbookBase), `${rule.alert}: ${url}`).toBe(true);
      const anchor = url.slice(runbookBase.length);
      expect(slugs.has(anchor), `${rule.alert}: no heading with anchor #${anchor} in docs/runbooks.md`).toBe(true);
      expect(anchor, rule.alert).toBe(rule.alert.toLowerCase());
    }
  });

  it('computes GitHub anchors the way GitHub does', () => {
    const slugs = githubSlugs('# Runbooks\n## TCPSynFlood\n```\n## not a heading\n```\n## Tuning: thresholds & `for`\n## Tuning: thresholds & `for`\n');
    expect([...slugs]).toEqual(['runbooks', 'tcpsynflood', 'tuning-thresholds--for', 'tuning-thresholds--for-1']);
  });

  it('reads the names a PromQL expression selects', () => {
    const names = selectedNames(
      'sum without (family, state) (tcpstate_sockets{state="syn_recv"}) / on (instance, job) group_left () tcpstate_sysctl{name="a.b"}' +
        ' > 0.25 and max_over_time(instance:x:rate5m[1d] offset 1h) > bool 1e3 # tcpstate_comment',
    );
    expect([...names].sort()).toEqual(['instance:x:rate5m', 'tcpstate_sockets', 'tcpstate_sysctl']);
  });

  it('uses only metrics that the exporter emits (the golden scrapes, tcpinfo included), plus up', () => {
    if (!existsSync(goldenMetricsPath)) {
      throw new Error(`${goldenMetricsPath} does not exist yet: the golden scrape is produced by the golden test (npm run test:update-golden)`);
    }
    const emitted = emittedMetricNames();
    const used = new Set(rules.flatMap((rule) => [...selectedNames(rule.expr)]).filter((name) => !recordNames.has(name)));
    expect(used.size).toBeGreaterThan(10);
    const unknown = [...used].filter((name) => name !== 'up' && !emitted.has(name));
    expect(unknown, 'metric names the rules use but the exporter does not emit').toEqual([]);
  });

  it('uses only recording rules that the file defines', () => {
    const usedRecords = rules.flatMap((rule) => [...selectedNames(rule.expr)]).filter((name) => name.includes(':'));
    expect(usedRecords.length).toBeGreaterThan(0);
    for (const name of usedRecords) expect(recordNames.has(name), name).toBe(true);
  });
});

// --- the unit tests cover every rule -------------------------------------------------------------

describe('promtool unit-test coverage', () => {
  it('loads the rule file in every test file', () => {
    expect(testFiles.length).toBeGreaterThanOrEqual(1);
    for (const { file, doc } of testFiles) expect(doc.rule_files, file).toContain('tcpstate.rules.yml');
  });

  it('has, for every alert, a case that fires with full annotations and a near miss that must not fire', () => {
    for (const name of CONTRACT.keys()) {
      const cases = alertCases.filter((testCase) => testCase.alertname === name);
      const firing = cases.flatMap((testCase) => testCase.exp_alerts ?? []);
      expect(firing.length, `${name}: no case where it fires`).toBeGreaterThan(0);
      expect(cases.some((testCase) => (testCase.exp_alerts ?? []).length === 0), `${name}: no case where it must stay quiet`).toBe(true);
      for (const alert of firing) {
        expect(Object.keys(alert.exp_annotations ?? {}).sort(), `${name}: assert all annotations`).toEqual(['description', 'runbook_url', 'summary']);
        expect(alert.exp_labels?.severity, `${name}: assert the severity`).toMatch(/^(critical|warning|info)$/);
      }
      for (const severity of CONTRACT.get(name) ?? []) {
        expect(firing.some((alert) => alert.exp_labels?.severity === severity), `${name}: no firing case at ${severity}`).toBe(true);
      }
    }
  });

  it('has a healthy baseline in which no alert fires, at several eval times', () => {
    // One baseline per test file that keeps one (the host's, the pods', the tcpinfo alerts').
    const baselines = testGroups.filter((group) => /baseline/i.test(group.name ?? ''));
    expect(baselines.length, 'a test group named "...baseline..."').toBeGreaterThan(0);
    const cases = baselines.flatMap((baseline) => baseline.alert_rule_test ?? []);
    expect(cases.every((testCase) => (testCase.exp_alerts ?? []).length === 0)).toBe(true);
    for (const name of CONTRACT.keys()) {
      const times = new Set(cases.filter((testCase) => testCase.alertname === name).map((testCase) => testCase.eval_time));
      expect(times.size, `${name}: quiet in the baseline at >= 4 eval times`).toBeGreaterThanOrEqual(4);
    }
  });

  it('tests every recording rule with a promql_expr_test', () => {
    const exprs = testGroups.flatMap((group) => (group.promql_expr_test ?? []).map((testCase) => testCase.expr)).join('\n');
    expect(recordNames.size).toBeGreaterThan(0);
    for (const name of recordNames) expect(exprs.includes(name), name).toBe(true);
  });
});
