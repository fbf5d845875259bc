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

/** One namespace's counters: metric name -> value; sockstat's in-use by family and TIME_WAIT. */
export interface NamespaceCounters {
  readonly counters: Map<string, number>;
  readonly inuse: { ipv4: number; ipv6: number | undefined };
  readonly timeWait: number;
}

/** In-use plus TIME_WAIT: what ranks namespaces for the cap. */
export function namespaceWeight(counters: NamespaceCounters): number {
  return counters.inuse.ipv4 + (counters.inuse.ipv6 ?? 0) + counters.timeWait;
}

/**
 * One namespace's counters as numbers in a row of COUNTER_SLOTS (a Float64Array, which the
 * counter worker fills in shared memory): NETNS_COUNTERS in order, then sockstat's in-use by
 * family and TIME_WAIT. NaN where the kernel gave nothing.
 */
const SLOT = { inuseIpv4: NETNS_COUNTERS.length, inuseIpv6: NETNS_COUNTERS.length + 1, timeWait: NETNS_COUNTERS.length + 2 } as const;
export const COUNTER_SLOTS = NETNS_COUNTERS.length + 3;

/** The counters in slots[base, base + COUNTER_SLOTS). */
export function countersAt(slots: Float64Array, base: number): NamespaceCounters {
  const counters = new Map<string, number>();
  NETNS_COUNTERS.forEach(({ metric }, i) => {
    const value = slots[base + i]!;
    // A field an older kernel lacks is left out, as the netstat collector does.
    if (!Number.isNaN(value)) counters.set(metric, value);
  });
  const present = (slot: number): number | undefined => (Number.isNaN(slots[base + slot]!) ? undefined : slots[base + slot]);
  return { counters, inuse: { ipv4: present(SLOT.inuseIpv4) ?? 0, ipv6: present(SLOT.inuseIpv6) }, timeWait: present(SLOT.timeWait) ?? 0 };
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

/** Adds `from` into `into` (the namespaces folded into netns="other"). */
export function addCounters(into: NamespaceCounters | undefined, from: NamespaceCounters): NamespaceCounters {
  if (into === undefined) return { counters: new Map(from.counters), inuse: { ...from.inuse }, timeWait: from.timeWait };
  for (const [metric, value] of from.counters) into.counters.set(metric, (into.counters.get(metric) ?? 0) + value);
  into.inuse.ipv4 += from.inuse.ipv4;
  if (from.inuse.ipv6 !== undefined) into.inuse.ipv6 = (into.inuse.ipv6 ?? 0) + from.inuse.ipv6;
  return { ...into, timeWait: into.timeWait + from.timeWait };
}

const IPV4: Readonly<Record<string, string>> = { family: 'ipv4' };
const IPV6: Readonly<Record<string, string>> = { family: 'ipv6' };

/** Registers the counters of every reported namespace, each under its owner labels (one object per row, shared by its series). */
export function reportCounters(registry: Registry, rows: ReadonlyArray<{ labels: Record<string, string>; counters: NamespaceCounters }>): void {
  if (rows.length === 0) return;
  // The same HELP as the host's series: the exporter merges both into one family.
  const metrics = NETNS_COUNTERS.map((counter) => ({ name: counter.metric, family: new SeriesFamily(registry, counter.metric, counter.help, 'counter') }));
  const inuse = new SeriesFamily(registry, 'tcpstate_sockstat_inuse', 'TCP sockets in use (TCP: inuse from sockstat, TCP6: inuse from sockstat6); excludes TIME_WAIT and request sockets.', 'gauge');
  const timeWait = new SeriesFamily(registry, 'tcpstate_sockstat_tw', 'TCP sockets in TIME_WAIT, plus orphaned FIN_WAIT2 sockets, in this network namespace.', 'gauge');
  for (const { labels, counters } of rows) {
    for (const { name, family } of metrics) {
      const value = counters.counters.get(name);
      if (value !== undefined) family.add(labels, NO_LABELS, value);
    }
    inuse.add(labels, IPV4, counters.inuse.ipv4);
    if (counters.inuse.ipv6 !== undefined) inuse.add(labels, IPV6, counters.inuse.ipv6);
    timeWait.add(labels, NO_LABELS, counters.timeWait);
  }
}
