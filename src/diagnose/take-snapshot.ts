import type { ScrapeContext } from '../collectors/collector.js';
import { hostSourceName, runCollectors, type ScrapePlan } from '../collectors/run-collectors.js';
import { splitByNamespace, type CollectorOutcome, type Sample, type Snapshot } from './snapshot.js';

/**
 * Runs the exporter's own collectors once, through the same runCollectors a scrape uses, and
 * keeps what they registered as data. No /proc reading of its own: diagnose reports exactly what
 * /metrics would say.
 */
export async function takeSnapshot(plan: ScrapePlan, context: ScrapeContext, clock: () => number = Date.now): Promise<Snapshot> {
  const takenAtMs = clock();
  const runs = await runCollectors(plan, context);
  // What a failing collector registered before it threw is kept, as /metrics serves it too.
  const results = await Promise.all(
    runs.map(async ({ name, registry, error, seconds }) => {
      const outcome: CollectorOutcome = { name, ok: error === undefined, error, seconds };
      return { outcome, metrics: await registry.getMetricsAsJSON() };
    }),
  );

  const series = results.flatMap(({ metrics: registered }) =>
    registered.map((metric) => [metric.name, metric.values.map((value): Sample => ({ labels: labelStrings(value.labels), value: value.value }))] as const),
  );
  // Read after the collectors ran, so a netlink -> procfs fallback during this snapshot shows.
  return { takenAtMs, source: hostSourceName(plan), collectors: results.map((result) => result.outcome), ...splitByNamespace(series) };
}

/** prom-client allows numeric label values; exposed, every label value is a string. */
function labelStrings(labels: Partial<Record<string, string | number>>): Record<string, string> {
  const strings: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) if (value !== undefined) strings[key] = String(value);
  return strings;
}
