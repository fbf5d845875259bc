/**
 * deploy/kubernetes/prometheusrule.yaml: alerts/tcpstate.rules.yml wrapped in a Prometheus
 * Operator PrometheusRule, comments (the TUNE: markers) included. Generated here; this test fails
 * when the two drift apart. Regenerate after editing the rules:
 *
 *     UPDATE_PROMETHEUSRULE=1 npx vitest run test/deploy/prometheusrule.test.ts
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { Document, parse, parseDocument, stringify } from 'yaml';
import { toolOrSkip } from '../helpers/require-tool.js';

const run = promisify(execFile);
const rulesPath = fileURLToPath(new URL('../../alerts/tcpstate.rules.yml', import.meta.url));
const prometheusRulePath = fileURLToPath(new URL('../../deploy/kubernetes/prometheusrule.yaml', import.meta.url));

const HEADER = [
  ' Generated from alerts/tcpstate.rules.yml by test/deploy/prometheusrule.test.ts: do not edit.',
  ' Regenerate: UPDATE_PROMETHEUSRULE=1 npx vitest run test/deploy/prometheusrule.test.ts',
  '',
  ' The Prometheus Operator loads PrometheusRules that match its ruleSelector (and',
  ' ruleNamespaceSelector). kube-prometheus-stack selects `release: <helm release>` by default:',
  ' add that label with kustomize (labels: in kustomization.yaml) or a patch, not in this file.',
  ' To tune a threshold, edit the TUNE: numbers in alerts/tcpstate.rules.yml and regenerate.',
].join('\n');

/** The PrometheusRule text for a rule file's text: its groups under spec.groups, comments kept. */
export function renderPrometheusRule(rulesText: string): string {
  const rules = parseDocument(rulesText);
  if (rules.errors.length > 0) throw new Error(`alerts/tcpstate.rules.yml: ${rules.errors[0]!.message}`);
  const doc = new Document({
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'tcpstate-exporter', labels: { 'app.kubernetes.io/name': 'tcpstate-exporter', 'app.kubernetes.io/component': 'alerting-rules' } },
    spec: {},
  });
  doc.setIn(['spec', 'groups'], rules.get('groups', true));
  doc.commentBefore = HEADER;
  return doc.toString({ lineWidth: 0 });
}

interface RuleFile {
  groups: { name: string; rules: Record<string, unknown>[] }[];
}

if (process.env.UPDATE_PROMETHEUSRULE === '1') writeFileSync(prometheusRulePath, renderPrometheusRule(readFileSync(rulesPath, 'utf8')));

describe('deploy/kubernetes/prometheusrule.yaml', () => {
  const rulesText = readFileSync(rulesPath, 'utf8');
  const text = readFileSync(prometheusRulePath, 'utf8');
  const resource = parse(text) as { apiVersion: string; kind: string; metadata: { name: string }; spec: RuleFile };

  it('is generated from alerts/tcpstate.rules.yml (regenerate: UPDATE_PROMETHEUSRULE=1 npx vitest run test/deploy/prometheusrule.test.ts)', () => {
    expect(text).toBe(renderPrometheusRule(rulesText));
  });

  it('is a PrometheusRule whose spec.groups are the rule file groups, rule for rule', () => {
    expect(resource).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'tcpstate-exporter' } });
    const rules = parse(rulesText) as RuleFile;
    expect(resource.spec.groups).toEqual(rules.groups);
    expect(resource.spec.groups.flatMap((g) => g.rules).filter((r) => 'alert' in r).length).toBeGreaterThanOrEqual(14);
  });

  it('keeps the TUNE: comments, so that it can be tuned in place', () => {
    const tune = (s: string): number => s.match(/# TUNE/g)?.length ?? 0;
    expect(tune(text)).toBe(tune(rulesText));
    expect(tune(text)).toBeGreaterThan(10);
  });

  describe('promtool', () => {
    const promtool = toolOrSkip('promtool', 'prometheus');
    const scratch = mkdtempSync(join(tmpdir(), 'tcpstate-prometheusrule-'));
    afterAll(() => rmSync(scratch, { recursive: true, force: true }));

    it.skipIf(!promtool.available)('check rules passes on spec.groups', async () => {
      const file = join(scratch, 'rules.yml');
      writeFileSync(file, stringify({ groups: resource.spec.groups }));
      const { stdout } = await run(promtool.path!, ['check', 'rules', file]);
      expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
    });
  });
});
