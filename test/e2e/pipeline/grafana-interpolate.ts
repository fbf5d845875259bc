/**
 * What Grafana does to a Prometheus query before it sends it, for the variables the dashboard
 * uses: template variables (multi-value ones as a regex alternation) and $__interval /
 * $__rate_interval. Used by the pipeline test to run the dashboard's queries as Grafana would.
 */

/**
 * Grafana's regex escaping of a variable value for a Prometheus `=~` matcher (the Prometheus
 * datasource's prometheusRegularEscape): regex metacharacters get a backslash, written twice
 * because the value lands inside a PromQL double-quoted string.
 */
export function grafanaRegexEscape(value: string): string {
  return value.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}[\]'+?.()|]/g, '\\\\$&');
}

/** A multi-value variable as Grafana formats it for Prometheus: `(a|b)`, or just `a` for one value. */
export function formatMultiValue(values: readonly string[]): string {
  const escaped = values.map(grafanaRegexEscape);
  return escaped.length === 1 ? escaped[0]! : `(${escaped.join('|')})`;
}

/** Grafana's $__rate_interval: max($__interval + scrape interval, 4 × scrape interval). */
export function rateInterval(intervalSeconds: number, scrapeIntervalSeconds: number): number {
  return Math.max(intervalSeconds + scrapeIntervalSeconds, 4 * scrapeIntervalSeconds);
}

/**
 * Replaces $name and ${name} with `values[name]`. Unknown names are left alone, as Grafana does
 * (`$1` in a label_replace() stays `$1`); longer names first, so `$__interval` does not eat
 * `$__rate_interval`.
 */
export function interpolate(text: string, values: Readonly<Record<string, string>>): string {
  const names = Object.keys(values).sort((a, b) => b.length - a.length);
  let out = text;
  for (const name of names) {
    out = out.replaceAll(`\${${name}}`, () => values[name]!);
    out = out.replace(new RegExp(`\\$${name}(?![A-Za-z0-9_])`, 'g'), () => values[name]!);
  }
  return out;
}
