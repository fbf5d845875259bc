import { Registry } from 'prom-client';
import { oneLine } from '../errors.js';
import type { Collector, ScrapeContext } from './collector.js';

/** What one collector produced in one run. */
export interface CollectorRun {
  name: string;
  /** Its fresh registry, with whatever it registered (also before it failed). */
  registry: Registry;
  /** Why it failed, on one line; undefined when it succeeded. */
  error: string | undefined;
  seconds: number;
}

/**
 * Runs the collectors concurrently, each into a registry of its own made for this run, timing
 * each and catching its failure so the others still report. Results are in list order, not
 * completion order, so output built from them is stable. Scrapes and `diagnose` both use it.
 */
export function runCollectors(collectors: readonly Collector[], context: ScrapeContext, newRegistry: () => Registry = () => new Registry()): Promise<CollectorRun[]> {
  return Promise.all(
    collectors.map(async (collector) => {
      const registry = newRegistry();
      const started = process.hrtime.bigint();
      let error: string | undefined;
      try {
        await collector.collect(context, registry);
      } catch (thrown) {
        error = oneLine(thrown);
      }
      return { name: collector.name, registry, error, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
    }),
  );
}
