/**
 * The queries of the dashboard's pod row (grafana/tcpstate.json, row "Pods and containers"), run
 * against a live Prometheus as Grafana would run them: the template variables resolved from
 * Prometheus in order and set to all their values, instant queries at now, the others over the
 * last 20 s (their last point kept).
 */
import type { MonitoringStack, PromResponse } from '../faults/monitoring-stack.js';
import { loadDashboard, panelQueries, variableQuery, type PanelQuery } from '../../grafana/dashboard-queries.js';
import { formatMultiValue, interpolate, rateInterval } from './grafana-interpolate.js';

export const POD_ROW_TITLE = 'Pods and containers';

export interface QueryResult {
  /** "<panel title> / <refId>" */
  readonly name: string;
  readonly query: string;
  /** Each series with its last value. */
  readonly series: { metric: Record<string, string>; value: [number, string] }[];
}

/** The queries of the panels under the pod row, top to bottom. */
export function podRowQueries(): PanelQuery[] {
  const dashboard = loadDashboard();
  const start = dashboard.panels.findIndex((panel) => panel.type === 'row' && panel.title === POD_ROW_TITLE);
  if (start < 0) throw new Error(`no row "${POD_ROW_TITLE}" in grafana/tcpstate.json`);
  const next = dashboard.panels.findIndex((panel, i) => i > start && panel.type === 'row');
  const ids = new Set(dashboard.panels.slice(start + 1, next < 0 ? undefined : next).map((panel) => panel.id));
  return panelQueries(dashboard).filter(({ panel }) => ids.has(panel.id));
}

/** Resolves the dashboard's variables, then runs `queries`; throws on a query Prometheus rejects. */
export async function runPanelQueries(stack: MonitoringStack, queries: readonly PanelQuery[], scrapeSeconds: number): Promise<{ variables: Record<string, string[]>; results: QueryResult[] }> {
  const dashboard = loadDashboard();
  const substitutions: Record<string, string> = { __interval: `${scrapeSeconds}s`, __rate_interval: `${rateInterval(scrapeSeconds, scrapeSeconds)}s` };
  const variables: Record<string, string[]> = {};
  for (const variable of dashboard.templating.list) {
    if (variable.type !== 'query') continue;
    const match = /^label_values\((.+),\s*(\w+)\)$/.exec(variableQuery(variable));
    if (match === null) throw new Error(`variable ${variable.name}: not a label_values() query: ${variableQuery(variable)}`);
    const end = Date.now() / 1000;
    const params = new URLSearchParams({ 'match[]': interpolate(match[1]!, substitutions), start: String(end - 60), end: String(end) });
    const values = (await stack.api<string[]>(`/api/v1/label/${match[2]}/values?${params}`)).data;
    variables[variable.name] = values;
    // All of its values, as Grafana formats a multi-value variable; none: All's `.*`.
    substitutions[variable.name] = values.length > 0 ? formatMultiValue(values) : '.*';
  }

  const results: QueryResult[] = [];
  for (const { name, target } of queries) {
    const query = interpolate(target.expr, substitutions);
    if (/\$(?!\d)/.test(query)) throw new Error(`${name}: a variable was left unsubstituted: ${query}`);
    const end = Date.now() / 1000;
    const response: PromResponse<{ result: { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }[] }> = target.instant
      ? await stack.api('/api/v1/query', { query, time: String(end) })
      : await stack.api('/api/v1/query_range', { query, start: String(end - 20), end: String(end), step: String(scrapeSeconds) });
    if (response.status !== 'success') throw new Error(`${name}: ${response.error ?? 'failed'}\n    ${query}`);
    const series = response.data.result.flatMap((s) => {
      const value = s.value ?? s.values?.[s.values.length - 1];
      return value === undefined ? [] : [{ metric: s.metric, value }];
    });
    results.push({ name, query, series });
  }
  return { variables, results };
}
