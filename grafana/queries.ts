/**
 * The PromQL of the dashboard: the label matchers every query starts with, a few query shapes the
 * rows share, and the Prometheus query builders (from the Grafana foundation SDK) that carry them.
 *
 * Every query selects `job=~"$job", instance=~"$instance"` (and `port=~"$port"` where panels are
 * per port), aggregates `by (instance, ...)` and puts `{{instance}}` in its legend, so that the
 * dashboard works for one host or a whole fleet. Only raw exporter metrics are queried, not the
 * recording rules: the dashboard works where alerts/tcpstate.rules.yml is not loaded.
 */
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';

/**
 * The one datasource reference used everywhere: the `datasource` template variable. No UID is
 * hard-coded, so the JSON imports into any Grafana 10/11 with any Prometheus datasource.
 */
export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

/**
 * The label matchers every query starts with. `netns=""`: the host's own stack; the netns
 * collector's per-namespace series share some names (the kernel counters) and carry a netns label.
 */
export const SEL = 'job=~"$job", instance=~"$instance", netns=""';
/** The same, for per-port panels. */
export const PORT_SEL = `${SEL}, port=~"$port"`;

/** `tcpstate_sysctl` of one name (a scalar sysctl), one series per instance. */
export function sysctl(name: string, extra = ''): string {
  return `max by (instance) (tcpstate_sysctl{${SEL}, name="${name}"${extra}})`;
}

/** Per-second rate of a counter, summed per instance (and `by` labels). */
export function rate(counter: string, by = 'instance'): string {
  return `sum by (${by}) (rate(${counter}{${SEL}}[$__rate_interval]))`;
}

/** Sockets in one state per instance, both address families. */
export function sockets(state: string): string {
  return `sum by (instance) (tcpstate_sockets{${SEL}, state="${state}"})`;
}

/** A gauge the exporter reports once per host: its value per instance. */
export function perInstance(metric: string): string {
  return `max by (instance) (${metric}{${SEL}})`;
}

/** A range query drawn over time; `legend` is Grafana's legendFormat ({{label}}). */
export function query(expr: string, legend: string): prometheus.DataqueryBuilder {
  return new prometheus.DataqueryBuilder()
    .datasource(DATASOURCE)
    .editorMode(prometheus.QueryEditorMode.Code)
    .expr(expr)
    .legendFormat(legend)
    .range();
}

/** An instant query shown as a table (one row per series, labels as columns). */
export function tableQuery(expr: string): prometheus.DataqueryBuilder {
  return new prometheus.DataqueryBuilder()
    .datasource(DATASOURCE)
    .editorMode(prometheus.QueryEditorMode.Code)
    .expr(expr)
    .legendFormat('__auto')
    .instant()
    .format(prometheus.PromQueryFormat.Table);
}

/** Names the queries of one panel A, B, C... in order (Grafana wants a refId per target). */
export function refIds(...queries: prometheus.DataqueryBuilder[]): prometheus.DataqueryBuilder[] {
  return queries.map((q, i) => q.refId(String.fromCharCode(65 + i)));
}

/**
 * One `owner` label for a legend, joined from the owner labels: Prometheus drops the empty ones
 * (an owner has a unit, or a container and pod), so a legend naming them directly would be blank
 * for some series, whereas the joined label is on every one.
 */
export function ownerName(expr: string): string {
  return `label_join(${expr}, "owner", " ", "unit", "namespace", "pod", "container")`;
}
