import { Registry, type Metric, type MetricObjectWithValues, type MetricValue } from 'prom-client';

/** What every prom-client metric object has at run time (its typings hide name, help and type). */
interface Part {
  name: string;
  readonly help: string;
  readonly type: string;
  get(): Promise<MetricObjectWithValues<MetricValue<string>>>;
}

/**
 * One metric family whose series come from several collectors' registries: the host's
 * tcpstate_listen_overflows_total (netstat) and every other namespace's (netns) are one family,
 * so a per-pod alert and a node-wide sum read the same name. prom-client's Registry.merge refuses
 * a name twice, and the text format wants a family's series in one block under one HELP.
 */
class MergedFamily {
  readonly help: string;
  readonly type: string;

  constructor(
    // Mutable: prom-client renames counters (drops `_total`) when it renders OpenMetrics.
    public name: string,
    private readonly parts: readonly Part[],
  ) {
    this.help = parts[0]!.help;
    this.type = parts[0]!.type;
  }

  async get(): Promise<MetricObjectWithValues<MetricValue<string>>> {
    const results = await Promise.all(this.parts.map((part) => part.get()));
    return { ...results[0]!, name: this.name, values: results.flatMap((result) => result.values) };
  }
}

/**
 * Registry.merge, except that a name registered by several registries becomes one family with
 * every registry's series (first registry's HELP). Two registries giving one name different types
 * is a programming error, reported as such.
 */
export function mergeRegistries(registries: readonly Registry[]): Registry {
  const byName = new Map<string, Part[]>();
  for (const registry of registries) {
    for (const metric of registry.getMetricsAsArray() as unknown as Part[]) {
      const parts = byName.get(metric.name);
      if (parts === undefined) byName.set(metric.name, [metric]);
      else if (parts[0]!.type !== metric.type) throw new Error(`metric ${metric.name} is registered as both ${parts[0]!.type} and ${metric.type}`);
      else parts.push(metric);
    }
  }
  const merged = new Registry();
  // Every family is a fresh wrapper, even with one part: prom-client renames a counter in place
  // when it renders OpenMetrics (it drops `_total`), and a collection is rendered in both formats,
  // so the collectors' own metric objects must never be the ones it renames.
  for (const [name, parts] of byName) merged.registerMetric(new MergedFamily(name, parts) as unknown as Metric);
  return merged;
}
