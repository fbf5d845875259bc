import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The golden scrape of the fixture /proc: the whole /metrics output the exporter produces. */
export const goldenMetricsPath = fileURLToPath(new URL('../golden/metrics.prom', import.meta.url));

/**
 * Metric names that only the netlink source can produce (procfs has no listen backlog limit),
 * so they cannot appear in the procfs golden scrape. Kept here, next to the golden file, so that
 * rule and dashboard tests have one list of what a real exporter can emit.
 */
export const netlinkOnlyMetricNames: readonly string[] = ['tcpstate_listen_queue_max'];

/** Every sample name in an exposition-format text (families and their _bucket/_sum/_count samples). */
export function sampleNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (match) names.add(match[0]);
  }
  return names;
}

/** Names an exporter emits: the golden scrape plus the netlink-only metrics. */
export function emittedMetricNames(): Set<string> {
  const names = sampleNames(readFileSync(goldenMetricsPath, 'utf8'));
  for (const name of netlinkOnlyMetricNames) names.add(name);
  return names;
}
