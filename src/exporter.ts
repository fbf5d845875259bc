import { collectDefaultMetrics, Registry, type RegistryContentType } from 'prom-client';
import type { ScrapeContext } from './collectors/collector.js';
import { scrapeGauge } from './collectors/metric-helpers.js';
import { hostSourceName, runCollectors, type ScrapePlan } from './collectors/run-collectors.js';
import { VERSION } from './version.js';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

const CONTENT_TYPES: Record<ExpositionFormat, RegistryContentType> = {
  prometheus: Registry.PROMETHEUS_CONTENT_TYPE,
  openmetrics: Registry.OPENMETRICS_CONTENT_TYPE,
};

/**
 * promtool rejects gauges whose name ends in _total, and prom-client's defaults have three.
 * Users get a lint-clean exposition instead.
 */
const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** The exporter's own process metrics, kept for its lifetime. */
function processMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name);
  return registry;
}

export interface Scrape {
  body: string;
  contentType: string;
}

/**
 * What one collection produced: every registry of the scrape. Rendering comes after, once per
 * format asked for, so a text scrape and an OpenMetrics scrape in flight together share it.
 */
class Collection {
  private readonly rendered = new Map<ExpositionFormat, Promise<Scrape>>();

  constructor(private readonly registries: readonly Registry[]) {}

  render(format: ExpositionFormat): Promise<Scrape> {
    let scrape = this.rendered.get(format);
    if (scrape === undefined) {
      // Every part is built with the default content type, as Registry.merge insists; the
      // format is the merged registry's alone.
      // prom-client 15 types merge()'s result as text-only; the registry itself takes either.
      const merged = Registry.merge([...this.registries]) as Registry<RegistryContentType>;
      merged.setContentType(CONTENT_TYPES[format]);
      scrape = merged.metrics().then((body) => ({ body, contentType: CONTENT_TYPES[format] }));
      this.rendered.set(format, scrape);
    }
    return scrape;
  }
}

/**
 * One scrape: the collectors run into registries built for this scrape alone, so a label that
 * vanished from the kernel vanishes from /metrics; then the result is rendered. Concurrent
 * requests, whatever their format, share the collection in flight.
 */
export class Exporter {
  private readonly processMetrics: Registry | undefined;
  private inFlight: Promise<Collection> | undefined;
  /** Collections started so far: what "concurrent scrapes share one collection" is tested by. */
  collections = 0;

  constructor(
    private readonly plan: ScrapePlan,
    private readonly context: ScrapeContext,
    options: { processMetrics: boolean } = { processMetrics: true },
  ) {
    this.processMetrics = options.processMetrics ? processMetricsRegistry() : undefined;
  }

  async scrape(format: ExpositionFormat = 'prometheus'): Promise<Scrape> {
    if (this.inFlight === undefined) {
      this.inFlight = this.collect().finally(() => {
        this.inFlight = undefined;
      });
    }
    const collection = await this.inFlight;
    return collection.render(format);
  }

  private async collect(): Promise<Collection> {
    this.collections++;
    const meta = new Registry();
    const success = scrapeGauge(meta, 'tcpstate_scrape_collector_success', 'Whether the collector succeeded in this scrape (1) or failed (0).', ['collector']);
    const duration = scrapeGauge(meta, 'tcpstate_scrape_collector_duration_seconds', 'How long the collector took in this scrape.', ['collector']);

    const runs = await runCollectors(this.plan, this.context);
    for (const { name, error, seconds } of runs) {
      if (error !== undefined) this.context.logger.error({ collector: name, err: error }, 'collector failed');
      success.set({ collector: name }, error === undefined ? 1 : 0);
      duration.set({ collector: name }, seconds);
    }

    // After the collectors ran, so that a netlink -> procfs fallback during this scrape shows.
    const source = hostSourceName(this.plan);
    scrapeGauge(meta, 'tcpstate_build_info', 'Always 1; the labels say which exporter version, Node.js and socket source are running.', ['version', 'node_version', 'source'])
      .set({ version: VERSION, node_version: process.version, source }, 1);

    const parts = [meta, ...runs.map((run) => run.registry)];
    if (this.processMetrics !== undefined) parts.unshift(this.processMetrics);
    return new Collection(parts);
  }
}
