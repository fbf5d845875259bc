import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { scrapeGauge } from './collectors/metric-helpers.js';

/**
 * promtool rejects gauges whose name ends in _total, and prom-client's defaults have three.
 * Users get a lint-clean exposition instead.
 */
const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * prom-client's event-loop delay summaries, which it sets from a histogram it resets at every
 * scrape: with no sample since the last scrape (the first scrape, or two scrapes in a row) they
 * read NaN, and min reads 2^63 ns (9223372036.854776 s). We keep the same names but report them
 * only when the histogram holds samples.
 */
const EVENT_LOOP_DELAY = [
  { name: 'nodejs_eventloop_lag_min_seconds', help: 'The minimum recorded event loop delay.', read: (h: IntervalHistogram) => h.min },
  { name: 'nodejs_eventloop_lag_max_seconds', help: 'The maximum recorded event loop delay.', read: (h: IntervalHistogram) => h.max },
  { name: 'nodejs_eventloop_lag_mean_seconds', help: 'The mean of the recorded event loop delays.', read: (h: IntervalHistogram) => h.mean },
  { name: 'nodejs_eventloop_lag_stddev_seconds', help: 'The standard deviation of the recorded event loop delays.', read: (h: IntervalHistogram) => h.stddev },
  { name: 'nodejs_eventloop_lag_p50_seconds', help: 'The 50th percentile of the recorded event loop delays.', read: (h: IntervalHistogram) => h.percentile(50) },
  { name: 'nodejs_eventloop_lag_p90_seconds', help: 'The 90th percentile of the recorded event loop delays.', read: (h: IntervalHistogram) => h.percentile(90) },
  { name: 'nodejs_eventloop_lag_p99_seconds', help: 'The 99th percentile of the recorded event loop delays.', read: (h: IntervalHistogram) => h.percentile(99) },
] as const;

/** The exporter's own process metrics: prom-client's defaults for its lifetime, fixed up. */
export class ProcessMetrics {
  /** Kept for the process's lifetime: the counters in it (CPU seconds, GC) must not restart. */
  readonly registry = new Registry();
  private readonly delay = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    for (const name of [...LINT_FAILING_DEFAULTS, ...EVENT_LOOP_DELAY.map((metric) => metric.name)]) this.registry.removeSingleMetric(name);
    this.delay.enable();
  }

  /** Adds this scrape's event-loop delay summaries to `registry`, if there were samples since the last scrape. */
  addEventLoopDelay(registry: Registry): void {
    if (this.delay.count === 0) return;
    for (const metric of EVENT_LOOP_DELAY) scrapeGauge(registry, metric.name, metric.help).set(metric.read(this.delay) / 1e9);
    this.delay.reset();
  }
}
