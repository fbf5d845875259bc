import type { Registry } from 'prom-client';
import { fieldKey, SnmpFieldPicker } from '../procfs/snmp-fields.js';
import { parseSockstatProtocol, pickSockstatBytes, sockstatLine } from '../procfs/sockstat.js';
import { CURATED_COUNTERS } from './netstat.js';
import { NO_LABELS, SeriesFamily } from './series-family.js';
import type { CounterFile } from './netns-counter-files.js';

/**
 * The per-namespace counters: the host's names (netstat and sockstat collectors), read from
 * /proc/<pid>/net/, which shows the network namespace of <pid>. Chosen so that the per-pod
 * alerts can be written: accept-queue overflow, SYN flood, retransmission, resets, timeouts.
 */
const NETNS_COUNTER_METRICS: ReadonlySet<string> = new Set([
  'tcpstate_active_opens_total',
  'tcpstate_passive_opens_total',
  'tcpstate_established_resets_total',
  'tcpstate_segments_sent_total',
  'tcpstate_retransmitted_segments_total',
  'tcpstate_resets_sent_total',
  'tcpstate_listen_overflows_total',
  'tcpstate_listen_drops_total',
  'tcpstate_syncookies_sent_total',
  'tcpstate_syn_queue_drops_total',
  'tcpstate_timeouts_total',
]);
export const NETNS_COUNTERS = CURATED_COUNTERS.filter((counter) => NETNS_COUNTER_METRICS.has(counter.metric));
const picker = new SnmpFieldPicker(NETNS_COUNTERS);
/** [metric, picked field's key], made once rather than per namespace. */
const METRIC_KEYS: ReadonlyArray<readonly [string, string]> = NETNS_COUNTERS.map((counter) => [counter.metric, fieldKey(counter.group, counter.field)]);

/**
 * One namespace's counters as a row of COUNTER_SLOTS numbers (a view of the Float64Array a reader
 * filled, shared memory when the counter worker read them): NETNS_COUNTERS in order, then
 * sockstat's in-use by family and TIME_WAIT. NaN where the kernel gave nothing. Kept as the row,
 * not turned into a map per namespace: the report reads it by index.
 */
export type NamespaceCounters = Float64Array;

const SLOT = { inuseIpv4: NETNS_COUNTERS.length, inuseIpv6: NETNS_COUNTERS.length + 1, timeWait: NETNS_COUNTERS.length + 2 } as const;
export const COUNTER_SLOTS = NETNS_COUNTERS.length + 3;
const METRIC_SLOTS: ReadonlyMap<string, number> = new Map(NETNS_COUNTERS.map(({ metric }, i) => [metric, i]));

/** The counters in slots[base, base + COUNTER_SLOTS), as a view (not a copy). */
export function countersAt(slots: Float64Array, base: number): NamespaceCounters {
  return slots.subarray(base, base + COUNTER_SLOTS);
}

const present = (value: number | undefined): number | undefined => (value === undefined || Number.isNaN(value) ? undefined : value);

/** One counter's value by metric name; undefined where the kernel lacks the field. */
export function counterOf(counters: NamespaceCounters, metric: string): number | undefined {
  const slot = METRIC_SLOTS.get(metric);
  return slot === undefined ? undefined : present(counters[slot]);
}

/** In-use plus TIME_WAIT: what ranks namespaces for the cap. */
export function namespaceWeight(counters: NamespaceCounters): number {
  return (present(counters[SLOT.inuseIpv4]) ?? 0) + (present(counters[SLOT.inuseIpv6]) ?? 0) + (present(counters[SLOT.timeWait]) ?? 0);
}

const TCP_LINE = sockstatLine('TCP', ['inuse', 'tw']);
const TCP6_LINE = sockstatLine('TCP6', ['inuse']);

/**
 * Parses one counter file's text, as a read left it in `bytes` (its first `length`), into the
 * namespace's row; `path` names the file in a parse error. The usual text is parsed from the
 * bytes; any other is decoded and parsed as text, which gives the same values or the error.
 * A file that reads but does not parse throws: that is a kernel format we do not know, and it
 * should be seen.
 */
export function parseCounterFile(file: CounterFile, path: string, bytes: Buffer, length: number, slots: Float64Array, base: number): void {
  switch (file) {
    case 'sockstat':
      if (!pickSockstatBytes(bytes, length, TCP_LINE, slots, [base + SLOT.inuseIpv4, base + SLOT.timeWait])) {
        const tcp = parseSockstatProtocol(path, bytes.toString('latin1', 0, length), 'TCP');
        slots[base + SLOT.inuseIpv4] = tcp?.get('inuse') ?? NaN;
        slots[base + SLOT.timeWait] = tcp?.get('tw') ?? NaN;
      }
      return;
    case 'sockstat6':
      if (!pickSockstatBytes(bytes, length, TCP6_LINE, slots, [base + SLOT.inuseIpv6])) {
        slots[base + SLOT.inuseIpv6] = parseSockstatProtocol(path, bytes.toString('latin1', 0, length), 'TCP6')?.get('inuse') ?? NaN;
      }
      return;
    case 'snmp':
    case 'netstat':
      if (!picker.pickBytes(bytes, length, slots, base)) {
        const picked = picker.pick(path, bytes.toString('latin1', 0, length));
        METRIC_KEYS.forEach(([, key], i) => {
          const value = picked.get(key);
          if (value !== undefined) slots[base + i] = value;
        });
      }
  }
}

/** Adds `from` into `into` (the namespaces folded into netns="other"); a field is absent from the sum only where every part lacks it. */
export function addCounters(into: NamespaceCounters | undefined, from: NamespaceCounters): NamespaceCounters {
  if (into === undefined) return from.slice();
  for (let slot = 0; slot < COUNTER_SLOTS; slot++) {
    const value = from[slot]!;
    if (!Number.isNaN(value)) into[slot] = Number.isNaN(into[slot]!) ? value : into[slot]! + value;
  }
  return into;
}

const IPV4: Readonly<Record<string, string>> = { family: 'ipv4' };
const IPV6: Readonly<Record<string, string>> = { family: 'ipv6' };

/** Registers the counters of every reported namespace, each under its owner labels (one object per row, shared by its series). */
export function reportCounters(registry: Registry, rows: ReadonlyArray<{ labels: Record<string, string>; counters: NamespaceCounters }>): void {
  if (rows.length === 0) return;
  // The same HELP as the host's series: the exporter merges both into one family.
  const counterFamilies = NETNS_COUNTERS.map((counter) => new SeriesFamily(registry, counter.metric, counter.help, 'counter'));
  const inuse = new SeriesFamily(registry, 'tcpstate_sockstat_inuse', 'TCP sockets in use (TCP: inuse from sockstat, TCP6: inuse from sockstat6); excludes TIME_WAIT and request sockets.', 'gauge');
  const timeWait = new SeriesFamily(registry, 'tcpstate_sockstat_tw', 'TCP sockets in TIME_WAIT, plus orphaned FIN_WAIT2 sockets, in this network namespace.', 'gauge');
  for (const { labels, counters } of rows) {
    counterFamilies.forEach((family, slot) => {
      // A field an older kernel lacks is left out, as the netstat collector does.
      const value = present(counters[slot]);
      if (value !== undefined) family.add(labels, NO_LABELS, value);
    });
    inuse.add(labels, IPV4, present(counters[SLOT.inuseIpv4]) ?? 0);
    const ipv6 = present(counters[SLOT.inuseIpv6]);
    if (ipv6 !== undefined) inuse.add(labels, IPV6, ipv6);
    timeWait.add(labels, NO_LABELS, present(counters[SLOT.timeWait]) ?? 0);
  }
}
