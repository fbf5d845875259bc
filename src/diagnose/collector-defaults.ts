/**
 * Collectors `diagnose` turns on by default although `serve` does not. The process collector is
 * off for scrapes because it costs a readlink per open descriptor on every scrape; a person
 * asking "who holds these CLOSE_WAIT sockets?" once wants the answer. Without root it degrades
 * to process="unknown" for other users' sockets, which the report says.
 */
const ON_FOR_DIAGNOSE: ReadonlySet<string> = new Set(['process']);
/**
 * And off, although `serve` has it on: the report's checks are about the host's own stack, and
 * the netns collector's counters share the host's names; naming the pod is not built yet.
 */
const OFF_FOR_DIAGNOSE: ReadonlySet<string> = new Set(['netns']);

/** The collector list with diagnose's defaults; flags (--no-collector.process, --collector.netns) still win. */
export function withDiagnoseDefaults<T extends { name: string; defaultEnabled: boolean }>(collectors: readonly T[]): T[] {
  return collectors.map((collector) => {
    if (ON_FOR_DIAGNOSE.has(collector.name)) return { ...collector, defaultEnabled: true };
    if (OFF_FOR_DIAGNOSE.has(collector.name)) return { ...collector, defaultEnabled: false };
    return collector;
  });
}
