/**
 * Reading the checked-in dashboard (grafana/tcpstate.json) as Grafana would: its panels (rows
 * flattened), their PromQL targets, the metric names and template variables each one uses.
 * Shared by the static dashboard tests and the live pipeline test.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const dashboardJsonPath = fileURLToPath(new URL('../../grafana/tcpstate.json', import.meta.url));

export interface DashboardTarget {
  refId: string;
  expr: string;
  legendFormat?: string;
  instant?: boolean;
  range?: boolean;
  format?: string;
  datasource?: unknown;
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: unknown;
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: DashboardTarget[];
  fieldConfig?: { defaults: Record<string, unknown>; overrides: unknown[] };
  links?: { title: string; url: string }[];
  panels?: DashboardPanel[];
}

export interface TemplateVariable {
  type: string;
  name: string;
  query: string | { query: string };
  definition?: string;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
  datasource?: unknown;
}

export interface DashboardJson {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: TemplateVariable[] };
  panels: DashboardPanel[];
}

export function loadDashboard(path = dashboardJsonPath): DashboardJson {
  return JSON.parse(readFileSync(path, 'utf8')) as DashboardJson;
}

/** Every panel, rows included, with the panels of collapsed rows flattened in. */
export function allPanels(dashboard: DashboardJson): DashboardPanel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/** Panels that show data (not rows). */
export function dataPanels(dashboard: DashboardJson): DashboardPanel[] {
  return allPanels(dashboard).filter((panel) => panel.type !== 'row');
}

export interface PanelQuery {
  panel: DashboardPanel;
  target: DashboardTarget;
  /** "<panel title> / <refId>", for messages. */
  name: string;
}

export function panelQueries(dashboard: DashboardJson): PanelQuery[] {
  return dataPanels(dashboard).flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel, target, name: `${panel.title} / ${target.refId}` })));
}

export function variableQuery(variable: TemplateVariable): string {
  return typeof variable.query === 'string' ? variable.query : variable.query.query;
}

/** Words that look like identifiers in PromQL but are not metric names. */
const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan', 'Inf', 'NaN', 'start', 'end']);

/**
 * The metric names a PromQL expression selects. Strings, label matchers, range/subquery brackets
 * and grouping label lists are removed first; an identifier followed by "(" is a function or an
 * aggregation; numbers and durations are skipped. Good enough for the dashboard's queries, and
 * tested on the tricky cases in dashboard.test.ts.
 */
export function metricNamesIn(expr: string): Set<string> {
  let text = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  text = text.replace(/\{[^}]*\}/g, ' ');
  text = text.replace(/\[[^\]]*\]/g, ' ');
  text = text.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of text.matchAll(/(?<![0-9.a-zA-Z_:$])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = match[0];
    const rest = text.slice(match.index + word.length).trimStart();
    if (rest.startsWith('(') || PROMQL_KEYWORDS.has(word)) continue;
    names.add(word);
  }
  return names;
}

/** Grafana variables ($name, ${name}, [[name]]) an expression uses; `$1`-style regex groups are not variables. */
export function variablesIn(expr: string): Set<string> {
  const names = new Set<string>();
  for (const match of expr.matchAll(/\$(\w+)|\$\{(\w+)(?:[.:][^}]*)?\}|\[\[(\w+)(?::\w+)?\]\]/g)) {
    const name = match[1] ?? match[2] ?? match[3]!;
    if (/^\d+$/.test(name)) continue;
    names.add(name);
  }
  return names;
}
