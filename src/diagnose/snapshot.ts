/**
 * What the collectors reported at one moment, as plain data. The checks read snapshots and
 * nothing else, so they are pure and can be tested with snapshots made by hand.
 */

/** One series: its labels and value, as it would appear on /metrics. */
export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface CollectorOutcome {
  readonly name: string;
  readonly ok: boolean;
  /** The one-line error when the collector failed. */
  readonly error: string | undefined;
  readonly seconds: number;
}

export interface Snapshot {
  /** When the collection started, in milliseconds since the epoch. */
  readonly takenAtMs: number;
  /** The socket source actually used (netlink, or procfs after a fallback). */
  readonly source: string;
  /** Every enabled collector, in list order; a collector that is not listed was disabled. */
  readonly collectors: readonly CollectorOutcome[];
  /**
   * Metric name (as exposed, counters with _total) -> the host's own series: those without a
   * `netns` label. Every host check reads these only, so a pod's sockets and counters (which the
   * netns collector reports under the host's names) never count as the host's.
   */
  readonly metrics: ReadonlyMap<string, readonly Sample[]>;
  /** The same for the series of other network namespaces (pods, containers): those with a `netns` label. */
  readonly namespaced: ReadonlyMap<string, readonly Sample[]>;
}

/** Splits series by name into the host's own (no `netns` label) and other namespaces'. */
export function splitByNamespace(series: Iterable<readonly [string, readonly Sample[]]>): Pick<Snapshot, 'metrics' | 'namespaced'> {
  const metrics = new Map<string, Sample[]>();
  const namespaced = new Map<string, Sample[]>();
  for (const [name, samples] of series) {
    for (const sample of samples) {
      const into = sample.labels.netns === undefined ? metrics : namespaced;
      into.set(name, [...(into.get(name) ?? []), sample]);
    }
  }
  return { metrics, namespaced };
}

export type LabelMatch = Readonly<Record<string, string>>;

function matches(sample: Sample, match: LabelMatch): boolean {
  for (const key in match) if (sample.labels[key] !== match[key]) return false;
  return true;
}

/** The host's series of a metric whose labels include `match`. */
export function select(snapshot: Snapshot, name: string, match: LabelMatch = {}): Sample[] {
  return (snapshot.metrics.get(name) ?? []).filter((sample) => matches(sample, match));
}

/** Other namespaces' series of a metric whose labels include `match`. */
export function selectNamespaced(snapshot: Snapshot, name: string, match: LabelMatch = {}): Sample[] {
  return (snapshot.namespaced.get(name) ?? []).filter((sample) => matches(sample, match));
}

/**
 * The sum of the matching series, or undefined when there is none. Undefined, not 0: a metric
 * missing because its collector failed or the kernel lacks the field must not read as healthy.
 */
export function sum(snapshot: Snapshot, name: string, match: LabelMatch = {}): number | undefined {
  const found = select(snapshot, name, match);
  if (found.length === 0) return undefined;
  return found.reduce((total, sample) => total + sample.value, 0);
}

/** A sysctl value (`index` for a position of a multi-value one), or undefined when not exposed. */
export function sysctl(snapshot: Snapshot, name: string, index?: number): number | undefined {
  const found = (snapshot.metrics.get('tcpstate_sysctl') ?? []).find(
    (sample) => sample.labels.name === name && sample.labels.index === (index === undefined ? undefined : String(index)),
  );
  return found?.value;
}

/** Values of one label across the matching series, summed per value: port -> sockets. */
export function sumBy(snapshot: Snapshot, name: string, label: string, match: LabelMatch = {}): Map<string, number> {
  const totals = new Map<string, number>();
  for (const sample of select(snapshot, name, match)) {
    const key = sample.labels[label];
    if (key === undefined) continue;
    totals.set(key, (totals.get(key) ?? 0) + sample.value);
  }
  return totals;
}

/** The collector's outcome, or undefined when it was not enabled. */
export function collectorOutcome(snapshot: Snapshot, name: string): CollectorOutcome | undefined {
  return snapshot.collectors.find((outcome) => outcome.name === name);
}
