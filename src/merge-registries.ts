import { setImmediate as nextTurn } from 'node:timers/promises';
import { Registry, type Metric } from 'prom-client';
import type { FamilyData } from './collectors/series-family.js';

/** What every prom-client metric object has at run time (its typings hide name, help and type). */
interface Part {
  name: string;
  readonly help: string;
  readonly type: string;
  get(): Promise<FamilyData>;
  /** The text formats' variant, where a part has one (Histogram, SeriesFamily): shared labels kept apart, formatted once. */
  getForPromString?(): Promise<FamilyData>;
}

/**
 * One metric family whose series come from several collectors' registries: the host's
 * tcpstate_listen_overflows_total (netstat) and every other namespace's (netns) are one family,
 * so a per-pod alert and a node-wide sum read the same name. prom-client's Registry.merge refuses
 * a name twice, and the text format wants a family's series in one block under one HELP.
 */
/**
 * Lets the event loop run during a render. prom-client asks every family for its series at once
 * and formats each family as its answer arrives, all in one run of microtasks: 4,600 series (110
 * pods' namespaces) are 20-50 ms of formatting with nothing else served. So each family's answer
 * is released only after the previous family's (prom-client's formatting of that one runs first,
 * as the first reaction to it), and once SLICE_MS have gone by, after a turn of the event loop.
 */
class RenderPacer {
  private sliceStart = performance.now();
  private last: Promise<unknown> = Promise.resolve();

  inTurn<T>(answer: () => Promise<T>): Promise<T> {
    const previous = this.last;
    const mine = (async (): Promise<T> => {
      const value = await answer();
      await previous.then(ignore, ignore);
      if (performance.now() - this.sliceStart >= SLICE_MS) {
        await nextTurn();
        this.sliceStart = performance.now();
      }
      return value;
    })();
    this.last = mine;
    return mine;
  }
}

const ignore = (): void => undefined;
const SLICE_MS = 5;

class MergedFamily {
  readonly help: string;
  readonly type: string;

  constructor(
    // Mutable: prom-client renames counters (drops `_total`) when it renders OpenMetrics.
    public name: string,
    private readonly parts: readonly Part[],
    private readonly pacer: RenderPacer,
  ) {
    this.help = parts[0]!.help;
    this.type = parts[0]!.type;
  }

  get(): Promise<FamilyData> {
    return this.pacer.inTurn(() => this.joined((part) => part.get()));
  }

  /** What prom-client's text rendering asks for instead of get(), when a metric has it. */
  getForPromString(): Promise<FamilyData> {
    return this.pacer.inTurn(() => this.joined((part) => part.getForPromString?.() ?? part.get()));
  }

  private async joined(read: (part: Part) => Promise<FamilyData>): Promise<FamilyData> {
    const results = await Promise.all(this.parts.map(read));
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
  const pacer = new RenderPacer();
  for (const [name, parts] of byName) merged.registerMetric(new MergedFamily(name, parts, pacer) as unknown as Metric);
  return merged;
}
