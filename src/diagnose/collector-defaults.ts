/**
 * Collectors `diagnose` turns on by default although `serve` does not. The process collector is
 * off for scrapes because it costs a readlink per open descriptor on every scrape; a person
 * asking "who holds these CLOSE_WAIT sockets?" once wants the answer. Without root it degrades
 * to process="unknown" for other users' sockets, which the report says. The netns collector is
 * on as for scrapes: the pod checks name the pod, and the host checks read only the host's series.
 */
const ON_FOR_DIAGNOSE: ReadonlySet<string> = new Set(['process']);
/** The collector list with diagnose's defaults; flags (--no-collector.process) still win. */
export function withDiagnoseDefaults<T extends { name: string; defaultEnabled: boolean }>(collectors: readonly T[]): T[] {
  return collectors.map((collector) => {
    if (ON_FOR_DIAGNOSE.has(collector.name)) return { ...collector, defaultEnabled: true };
    return collector;
  });
}
