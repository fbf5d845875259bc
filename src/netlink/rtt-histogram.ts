/**
 * Fixed-bucket histograms accumulated per slot (a slot is one labelled series: a port and a
 * direction) into typed arrays, with no per-socket object, and rendered as Prometheus histogram
 * samples (cumulative `_bucket{le}`, `_sum`, `_count`) for one scrape's registry.
 *
 * Bucket bounds are stored in the kernel's own unit (µs for tcpi_rtt, ms for
 * tcpi_last_data_recv) so that observing is integer comparisons; they are labelled in seconds.
 * See docs/tcpinfo.md for why these bounds.
 */

/**
 * Smoothed RTT bounds in seconds: three per decade (1, 2.5, 5), 100 µs to 2 s.
 * loopback (20-50 µs) falls in the first; LAN 0.1-1 ms, a region 1-10 ms, a continent 10-100 ms,
 * intercontinental 100-300 ms and geostationary satellite (~600 ms) each get two or three
 * buckets; 2 s and +Inf catch queues that have blown up.
 */
export const RTT_BUCKETS_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2] as const;

/**
 * Idle time since the last data received, in seconds: 100 ms (busy) to a day. The middle bounds
 * sit on the idle timeouts that silently cut connections (load balancers 60 s, NAT and cloud
 * gateways 300-900 s) and on the default keepalive time (7200 s), past which a half-open peer
 * would only now start to be probed.
 */
export const IDLE_BUCKETS_SECONDS = [0.1, 1, 10, 60, 300, 900, 3600, 7200, 86400] as const;

export class SlotHistograms {
  /** Upper bounds in the raw unit, ascending. */
  readonly rawBounds: Float64Array;
  /** Per slot, bounds.length + 1 non-cumulative counts; the last one is the +Inf bucket. */
  readonly counts: Float64Array;
  /** Per slot, the sum of observed raw values. */
  readonly sums: Float64Array;
  private readonly stride: number;
  private readonly leLabels: readonly string[];

  /**
   * @param boundsSeconds ascending upper bounds, in seconds
   * @param secondsPerUnit the raw unit in seconds (1e-6 for µs, 1e-3 for ms)
   * @param slots how many labelled series
   */
  constructor(
    boundsSeconds: readonly number[],
    readonly secondsPerUnit: number,
    readonly slots: number,
  ) {
    if (boundsSeconds.length === 0 || boundsSeconds.some((b, i) => !(b > 0) || (i > 0 && b <= boundsSeconds[i - 1]!))) {
      throw new RangeError('histogram bounds must be positive and strictly ascending');
    }
    if (!Number.isInteger(slots) || slots < 0) throw new RangeError(`histogram slots must be a whole number, got ${slots}`);
    this.rawBounds = Float64Array.from(boundsSeconds, (b) => Math.round(b / secondsPerUnit));
    this.stride = boundsSeconds.length + 1;
    this.counts = new Float64Array(slots * this.stride);
    this.sums = new Float64Array(slots);
    this.leLabels = [...boundsSeconds.map((b) => String(b)), '+Inf'];
  }

  /** Index of the bucket `raw` falls in: the first bound with raw <= bound (Prometheus `le`), or the +Inf bucket. */
  bucketOf(raw: number): number {
    const bounds = this.rawBounds;
    const n = bounds.length;
    for (let i = 0; i < n; i++) if (raw <= bounds[i]!) return i;
    return n;
  }

  observe(slot: number, raw: number): void {
    this.counts[slot * this.stride + this.bucketOf(raw)]!++;
    this.sums[slot]! += raw;
  }

  /** Observations in `slot`. */
  count(slot: number): number {
    let total = 0;
    const base = slot * this.stride;
    for (let i = 0; i < this.stride; i++) total += this.counts[base + i]!;
    return total;
  }

  reset(): void {
    this.counts.fill(0);
    this.sums.fill(0);
  }

  /**
   * The Prometheus samples of `slot` under `name`: `name_bucket` for every bound and +Inf
   * (cumulative), `name_sum` in seconds and `name_count`, each with `labels` (plus `le`).
   */
  samples(name: string, slot: number, labels: Readonly<Record<string, string>>): HistogramSample[] {
    const out: HistogramSample[] = [];
    const base = slot * this.stride;
    let cumulative = 0;
    for (let i = 0; i < this.stride; i++) {
      cumulative += this.counts[base + i]!;
      out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: this.leLabels[i]! }, value: cumulative });
    }
    // Divided by the units per second, not multiplied by its inverse: 40 µs renders as 0.00004.
    out.push({ metricName: `${name}_sum`, labels: { ...labels }, value: this.sums[slot]! / Math.round(1 / this.secondsPerUnit) });
    out.push({ metricName: `${name}_count`, labels: { ...labels }, value: cumulative });
    return out;
  }
}

/** One exposition line's worth: what prom-client's registry renders from a metric's `get()`. */
export interface HistogramSample {
  metricName: string;
  labels: Record<string, string>;
  value: number;
}

/** The part of prom-client's metric interface its Registry uses to render and merge. */
export interface PreAggregatedHistogram {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: HistogramSample[] }>;
  reset(): void;
}

/**
 * A histogram metric for `registry.registerMetric()` whose samples were counted elsewhere
 * (prom-client's own Histogram can only be fed one observe() per value, with a label object
 * each time). Register a new one per scrape, as the other metrics are.
 */
export function preAggregatedHistogram(name: string, help: string, values: HistogramSample[]): PreAggregatedHistogram {
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: () => Promise.resolve({ name, help, type: 'histogram', aggregator: 'sum', values }),
    reset: () => undefined,
  };
}

/** RTT histograms over tcpi_rtt / tcpi_min_rtt (µs). */
export function rttHistograms(slots: number): SlotHistograms {
  return new SlotHistograms(RTT_BUCKETS_SECONDS, 1e-6, slots);
}

/** Idle histograms over tcpi_last_data_recv (ms). */
export function idleHistograms(slots: number): SlotHistograms {
  return new SlotHistograms(IDLE_BUCKETS_SECONDS, 1e-3, slots);
}
