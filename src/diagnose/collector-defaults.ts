import { hostSourceName, type ScrapePlan } from '../collectors/run-collectors.js';

/**
 * Collectors `diagnose` turns on by default although `serve` does not. The process collector is
 * off for scrapes because it costs a readlink per open descriptor on every scrape; a person
 * asking "who holds these CLOSE_WAIT sockets?" once wants the answer. Without root it degrades
 * to process="unknown" for other users' sockets, which the report says. The netns collector is
 * on as for scrapes: the pod checks name the pod, and the host checks read only the host's series.
 */
const ON_FOR_DIAGNOSE: ReadonlySet<string> = new Set(['process']);
/**
 * On for diagnose where the socket source is netlink, and only there: the connection-quality
 * checks read tcp_info, which /proc/net/tcp does not have (see withoutNetlinkOnly).
 */
const ON_FOR_DIAGNOSE_WITH_NETLINK: ReadonlySet<string> = new Set(['tcpinfo']);

/** The collector list with diagnose's defaults; flags (--no-collector.process, --no-collector.tcpinfo) still win. */
export function withDiagnoseDefaults<T extends { name: string; defaultEnabled: boolean }>(collectors: readonly T[]): T[] {
  return collectors.map((collector) => {
    if (ON_FOR_DIAGNOSE.has(collector.name) || ON_FOR_DIAGNOSE_WITH_NETLINK.has(collector.name)) return { ...collector, defaultEnabled: true };
    return collector;
  });
}

/**
 * The diagnose plan without the collectors it turned on for netlink alone when the host's socket
 * source is not netlink; one the user asked for by name (--collector.tcpinfo) stays, and reports
 * why it cannot work.
 */
export function withoutNetlinkOnly(plan: ScrapePlan, askedFor: (collector: string) => boolean): ScrapePlan {
  if (hostSourceName(plan) === 'netlink') return plan;
  return { ...plan, collectors: plan.collectors.filter((collector) => !ON_FOR_DIAGNOSE_WITH_NETLINK.has(collector.name) || askedFor(collector.name)) };
}
