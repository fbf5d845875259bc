import type { Metric, MetricObjectWithValues, MetricType, MetricValue, Registry } from 'prom-client';

type Labels = Readonly<Record<string, string>>;
/** The `own` labels of a series that has only its owner's. */
export const NO_LABELS: Labels = {};
/** What a metric's get() gives the registry (prom-client's typing also demands its `collect` hook, which the registry never reads there). */
export type FamilyData = Omit<MetricObjectWithValues<MetricValue<string>>, 'collect'>;

/** One series as prom-client's renderer takes it: `sharedLabels` are formatted once per object. */
interface SharedSeries {
  readonly labels: Labels;
  readonly sharedLabels: Labels;
  readonly value: number;
}

/**
 * A family whose series are appended whole, for the collectors that register thousands of them a
 * scrape under labels they build themselves (every other namespace's tables and counters: 4,600
 * series at 110 pods). prom-client's Gauge.set and Counter.inc check and hash every label set,
 * about 7 µs a series; here a series is one small object. The labels that all of one owner's
 * series carry (netns, namespace, pod, ...) are one object, passed to prom-client's renderer as
 * its `sharedLabels`, which it formats once per object instead of once per series: the protocol
 * prom-client's own Histogram uses (`getForPromString` for the text, `get` with the labels
 * joined for JSON).
 *
 * The caller guarantees what prom-client would check: the label names are the ones given here,
 * and no two series have the same labels.
 */
export class SeriesFamily {
  readonly aggregator = 'sum';
  private readonly series: SharedSeries[] = [];

  constructor(
    registry: Registry,
    // Mutable: prom-client drops a counter's `_total` in place when it renders OpenMetrics.
    public name: string,
    readonly help: string,
    readonly type: 'gauge' | 'counter',
  ) {
    // prom-client's typings list its own classes; its registry takes any object with this shape.
    registry.registerMetric(this as unknown as Metric);
  }

  /** Appends one series: `shared` is the owner's label object (keep one per owner), `own` the rest. */
  add(shared: Labels, own: Labels, value: number): void {
    this.series.push({ labels: own, sharedLabels: shared, value });
  }

  get size(): number {
    return this.series.length;
  }

  /** For the text formats: each series' shared labels kept apart, so they are formatted once. */
  getForPromString(): Promise<FamilyData> {
    // The renderer reads the label objects and never changes them, so they are handed over as they are.
    return Promise.resolve(this.withValues(this.series as unknown as MetricValue<string>[]));
  }

  /** For JSON (diagnose, tests): every series with all its labels in one object. */
  get(): Promise<FamilyData> {
    return Promise.resolve(this.withValues(this.series.map(({ labels, sharedLabels, value }) => ({ labels: { ...sharedLabels, ...labels }, value }))));
  }

  private withValues(values: MetricValue<string>[]): FamilyData {
    // prom-client types `type` as an enum; at run time, and in its own metrics, it is this string.
    return { name: this.name, help: this.help, type: this.type as unknown as MetricType, aggregator: this.aggregator, values };
  }
}
