import { Registry, type RegistryContentType } from 'prom-client';
import type { ScrapeContext } from './collectors/collector.js';
import { scrapeGauge } from './collectors/metric-helpers.js';
import { hostSourceName, runCollectors, type ScrapePlan } from './collectors/run-collectors.js';
import { mergeRegistries } from './merge-registries.js';
import { ProcessMetrics } from './process-metrics.js';
import { VERSION } from './version.js';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

const CONTENT_TYPES: Record<ExpositionFormat, RegistryContentType> = {
  prometheus: Registry.PROMETHEUS_CONTENT_TYPE,
  openmetrics: Registry.OPENMETRICS_CONTENT_TYPE,
};

/** Leaves room to render and send the answer before the client gives up, as blackbox_exporter does. */
const RESPONSE_MARGIN_SECONDS = 0.5;

/** Milliseconds the collectors get from a client's timeout: the timeout less the margin, at least a tenth of it. */
export function collectionBudgetMs(timeoutSeconds: number): number {
  return Math.max(timeoutSeconds - RESPONSE_MARGIN_SECONDS, timeoutSeconds / 10) * 1000;
}

/**
 * The scrape timeout a request allows: Prometheus's X-Prometheus-Scrape-Timeout-Seconds, or, for
 * a client that sends none (curl, a person), `fallbackSeconds`.
 */
export function scrapeTimeoutSeconds(header: string | string[] | undefined, fallbackSeconds: number): number {
  const value = Number(Array.isArray(header) ? header[0] : header);
  return Number.isFinite(value) && value > 0 ? Math.min(value, 300) : fallbackSeconds;
}

export interface Scrape {
  body: string;
  contentType: string;
  /** Collectors that reported success 0 in this collection. */
  failed: readonly string[];
}

/**
 * What one collection produced: every registry of the scrape. Rendering comes after, once per
 * format asked for, so a text scrape and an OpenMetrics scrape in flight together share it.
 */
class Collection {
  private readonly rendered = new Map<ExpositionFormat, Promise<Scrape>>();

  constructor(
    private readonly registries: readonly Registry[],
    private readonly failed: readonly string[],
  ) {}

  render(format: ExpositionFormat): Promise<Scrape> {
    let scrape = this.rendered.get(format);
    if (scrape === undefined) {
      // Every part is built with the default content type; the format is the merged registry's
      // alone. A name several collectors register (the host's counters and the namespaces') is
      // one family. prom-client 15 types a Registry as text-only; it takes either.
      const merged = mergeRegistries(this.registries) as Registry<RegistryContentType>;
      merged.setContentType(CONTENT_TYPES[format]);
      scrape = merged.metrics().then((body) => ({ body, contentType: CONTENT_TYPES[format], failed: this.failed }));
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
  private readonly processMetrics: ProcessMetrics | undefined;
  /** Collections in flight, by the collectors they run (collect[] / exclude[] choose a subset). */
  private readonly inFlight = new Map<string, Promise<Collection>>();
  /** Collector and reason of every unavailability already logged: one line each per process. */
  private readonly unavailableLogged = new Set<string>();
  /** Collections started so far: what "concurrent scrapes share one collection" is tested by. */
  collections = 0;

  constructor(
    private readonly plan: ScrapePlan,
    private readonly context: ScrapeContext,
    options: { processMetrics: boolean } = { processMetrics: true },
  ) {
    // --web.disable-exporter-metrics, and `collect` (one scrape, no process worth describing).
    this.processMetrics = options.processMetrics ? new ProcessMetrics() : undefined;
  }

  /**
   * `timeoutSeconds`: how long the client waits (Prometheus sends it); collectors still running
   * shortly before then report a timeout instead of holding the scrape. A scrape that joins a
   * collection in flight shares its deadline.
   */
  /** Whether a scrape of these collectors now would join a collection already in flight. */
  isCollecting(collectors?: readonly string[]): boolean {
    return this.inFlight.has(this.planFor(collectors).key);
  }

  private planFor(collectors: readonly string[] | undefined): { plan: ScrapePlan; key: string } {
    const plan = collectors === undefined ? this.plan : { ...this.plan, collectors: this.plan.collectors.filter((collector) => collectors.includes(collector.name)) };
    return { plan, key: plan.collectors.map((collector) => collector.name).join(',') };
  }

  async scrape(format: ExpositionFormat = 'prometheus', timeoutSeconds?: number, collectors?: readonly string[]): Promise<Scrape> {
    const { plan, key } = this.planFor(collectors);
    let pending = this.inFlight.get(key);
    if (pending === undefined) {
      const deadline = timeoutSeconds === undefined ? undefined : performance.now() + collectionBudgetMs(timeoutSeconds);
      pending = this.collect(plan, deadline).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return (await pending).render(format);
  }

  /** A collector that cannot work here says why once; later scrapes only show success 0. */
  private logUnavailable(collector: string, reason: string): void {
    const key = `${collector}\n${reason}`;
    if (this.unavailableLogged.has(key)) {
      this.context.logger.debug({ collector, err: reason }, 'collector unavailable');
      return;
    }
    this.unavailableLogged.add(key);
    this.context.logger.warn({ collector, err: reason }, 'collector unavailable');
  }

  private async collect(plan: ScrapePlan, deadline: number | undefined): Promise<Collection> {
    this.collections++;
    const meta = new Registry();
    const success = scrapeGauge(meta, 'tcpstate_scrape_collector_success', 'Whether the collector succeeded in this scrape (1) or failed (0).', ['collector']);
    const duration = scrapeGauge(meta, 'tcpstate_scrape_collector_duration_seconds', 'How long the collector took in this scrape.', ['collector']);

    const runs = await runCollectors(plan, this.context, undefined, deadline);
    for (const { name, error, seconds, unavailable } of runs) {
      if (error !== undefined && unavailable === true) this.logUnavailable(name, error);
      else if (error !== undefined) this.context.logger.error({ collector: name, err: error }, 'collector failed');
      else this.context.logger.debug({ collector: name, seconds }, 'collector succeeded');
      success.set({ collector: name }, error === undefined ? 1 : 0);
      duration.set({ collector: name }, seconds);
    }

    // After the collectors ran, so that a netlink -> procfs fallback during this scrape shows.
    const source = hostSourceName(plan);
    scrapeGauge(meta, 'tcpstate_build_info', 'Always 1; the labels say which exporter version, Node.js and socket source are running.', ['version', 'node_version', 'source'])
      .set({ version: VERSION, node_version: process.version, source }, 1);

    const parts = [meta, ...runs.map((run) => run.registry)];
    if (this.processMetrics !== undefined) {
      this.processMetrics.addEventLoopDelay(meta);
      parts.unshift(this.processMetrics.registry);
    }
    return new Collection(parts, runs.filter((run) => run.error !== undefined).map((run) => run.name));
  }
}
