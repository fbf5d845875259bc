import { collectDefaultMetrics, Registry, type RegistryContentType } from 'prom-client';
import type { Collector, ScrapeContext } from './collectors/collector.js';
import { scrapeGauge } from './collectors/metric-helpers.js';
import { runCollectors } from './collectors/run-collectors.js';
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

/** The exporter's own process metrics, kept for its lifetime (one registry per format). */
/** A registry that renders in the given format. */
function newRegistry(format: ExpositionFormat): Registry {
  const registry = new Registry<RegistryContentType>();
  registry.setContentType(CONTENT_TYPES[format]);
  return registry as Registry;
}

function processMetricsRegistry(format: ExpositionFormat): Registry {
  const registry = newRegistry(format);
  collectDefaultMetrics({ register: registry });
  for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name);
  return registry;
}

export interface Scrape {
  body: string;
  contentType: string;
}

/**
 * One scrape: every enabled collector runs concurrently into a registry of its own, built for
 * this scrape alone, so a label that vanished from the kernel vanishes from /metrics. Concurrent
 * requests for the same format share the collection in flight.
 */
export class Exporter {
  private readonly processMetrics = new Map<ExpositionFormat, Registry>();
  private readonly inFlight = new Map<ExpositionFormat, Promise<Scrape>>();

  constructor(
    private readonly collectors: readonly Collector[],
    private readonly context: ScrapeContext,
    private readonly options: { processMetrics: boolean } = { processMetrics: true },
  ) {}

  scrape(format: ExpositionFormat = 'prometheus'): Promise<Scrape> {
    let pending = this.inFlight.get(format);
    if (pending === undefined) {
      pending = this.collect(format).finally(() => this.inFlight.delete(format));
      this.inFlight.set(format, pending);
    }
    return pending;
  }

  private async collect(format: ExpositionFormat): Promise<Scrape> {
    const meta = newRegistry(format);
    const success = scrapeGauge(meta, 'tcpstate_scrape_collector_success', 'Whether the collector succeeded in this scrape (1) or failed (0).', ['collector']);
    const duration = scrapeGauge(meta, 'tcpstate_scrape_collector_duration_seconds', 'How long the collector took in this scrape.', ['collector']);

    const runs = await runCollectors(this.collectors, this.context, () => newRegistry(format));
    for (const { name, error, seconds } of runs) {
      if (error !== undefined) this.context.logger.error({ collector: name, err: error }, 'collector failed');
      success.set({ collector: name }, error === undefined ? 1 : 0);
      duration.set({ collector: name }, seconds);
    }
    const registries = runs.map((run) => run.registry);

    // After the collectors ran, so that a netlink -> procfs fallback during this scrape shows.
    scrapeGauge(meta, 'tcpstate_build_info', 'Always 1; the labels say which exporter version, Node.js and socket source are running.', ['version', 'node_version', 'source'])
      .set({ version: VERSION, node_version: process.version, source: this.context.sockets.name }, 1);

    const parts = [meta, ...registries];
    if (this.options.processMetrics) parts.unshift(this.processRegistry(format));
    const merged = Registry.merge(parts);
    return { body: await merged.metrics(), contentType: CONTENT_TYPES[format] };
  }

  private processRegistry(format: ExpositionFormat): Registry {
    let registry = this.processMetrics.get(format);
    if (registry === undefined) {
      registry = processMetricsRegistry(format);
      this.processMetrics.set(format, registry);
    }
    return registry;
  }
}
