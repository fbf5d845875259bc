import { Registry } from 'prom-client';
import type { Collector, ScrapeContext } from '../collectors/collector.js';
import { oneLine } from '../errors.js';
import type { CollectorOutcome, Sample, Snapshot } from './snapshot.js';

/**
 * Runs the exporter's own collectors once, as a scrape does (concurrently, each into a fresh
 * registry), and keeps what they registered as data. No /proc reading of its own: diagnose
 * reports exactly what /metrics would say.
 */
export async function takeSnapshot(collectors: readonly Collector[], context: ScrapeContext, clock: () => number = Date.now): Promise<Snapshot> {
  const takenAtMs = clock();
  const results = await Promise.all(
    collectors.map(async (collector) => {
      const registry = new Registry();
      const started = process.hrtime.bigint();
      let error: string | undefined;
      try {
        await collector.collect(context, registry);
      } catch (thrown) {
        error = oneLine(thrown);
      }
      const outcome: CollectorOutcome = { name: collector.name, ok: error === undefined, error, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
      // What a failing collector registered before it threw is kept, as /metrics serves it too.
      return { outcome, metrics: await registry.getMetricsAsJSON() };
    }),
  );

  const metrics = new Map<string, Sample[]>();
  for (const { metrics: registered } of results) {
    for (const metric of registered) {
      const samples = metric.values.map((value): Sample => ({ labels: labelStrings(value.labels), value: value.value }));
      metrics.set(metric.name, [...(metrics.get(metric.name) ?? []), ...samples]);
    }
  }
  // Read after the collectors ran, so a netlink -> procfs fallback during this snapshot shows.
  return { takenAtMs, source: context.sockets.name, collectors: results.map((result) => result.outcome), metrics };
}

/** prom-client allows numeric label values; exposed, every label value is a string. */
function labelStrings(labels: Partial<Record<string, string | number>>): Record<string, string> {
  const strings: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) if (value !== undefined) strings[key] = String(value);
  return strings;
}
