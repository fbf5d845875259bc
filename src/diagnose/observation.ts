import { collectorOutcome, select, type LabelMatch, type Snapshot } from './snapshot.js';

/**
 * What the checks look at: the latest snapshot, and the one taken --diagnose.interval seconds
 * before it when there is one. Gauges are read from `current`; counters become rates over the
 * two.
 */
export interface Observation {
  readonly current: Snapshot;
  readonly previous: Snapshot | undefined;
}

/** Seconds between the two snapshots, or undefined with only one. */
export function intervalSeconds(observation: Observation): number | undefined {
  const { current, previous } = observation;
  if (previous === undefined) return undefined;
  return Math.max((current.takenAtMs - previous.takenAtMs) / 1000, 1e-3);
}

function labelKey(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * Per-second increase of a counter (the matching series summed), as Prometheus's rate() would
 * see it: a series that went down was reset (a reboot between snapshots is unlikely, a counter
 * wrapping is not), so its increase is its new value. Undefined with one snapshot, or when the
 * counter is missing from either. The host's series by default; `pick` = selectNamespaced for
 * another namespace's (with its netns in `match`).
 */
export function rate(observation: Observation, name: string, match: LabelMatch = {}, pick: typeof select = select): number | undefined {
  const seconds = intervalSeconds(observation);
  if (seconds === undefined || observation.previous === undefined) return undefined;
  const now = pick(observation.current, name, match);
  const before = new Map(pick(observation.previous, name, match).map((sample) => [labelKey(sample.labels), sample.value]));
  if (now.length === 0 || before.size === 0) return undefined;
  let increase = 0;
  for (const sample of now) {
    const old = before.get(labelKey(sample.labels));
    if (old === undefined) continue;
    increase += sample.value >= old ? sample.value - old : sample.value;
  }
  return increase / seconds;
}

/**
 * Why a check cannot use a collector's data, or undefined when it can. A collector that failed
 * in either snapshot counts as failed.
 */
export function collectorProblem(observation: Observation, name: string): string | undefined {
  const outcome = collectorOutcome(observation.current, name);
  if (outcome === undefined) return `the ${name} collector is disabled (enable it with --collector.${name})`;
  const previous = observation.previous === undefined ? undefined : collectorOutcome(observation.previous, name);
  if (!outcome.ok || previous?.ok === false) return `the ${name} collector failed (see the collector finding)`;
  return undefined;
}

/** Why rate-based evidence is missing, or undefined when there are two snapshots. */
export function ratesProblem(observation: Observation): string | undefined {
  return observation.previous === undefined ? 'needs two snapshots to turn counters into rates (run with --diagnose.interval greater than 0)' : undefined;
}
