import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { SnmpFieldPicker } from '../procfs/snmp-fields.js';
import { parseSockstat } from '../procfs/sockstat.js';
import { CURATED_COUNTERS } from './netstat.js';
import { kernelCounter, scrapeGauge } from './metric-helpers.js';

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

const MAX_BYTES = 1024 * 1024;
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/**
 * A small procfs file, synchronously: four of them for each of a hundred namespaces cost less
 * read in place than through the thread pool (the caller yields between namespaces). Undefined
 * when it cannot be opened (the process exited, or it is not readable); regular files only.
 */
function readSmallSync(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch {
    return undefined;
  }
  try {
    if (!fstatSync(fd).isFile()) return undefined;
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buffer = Buffer.allocUnsafe(16 * 1024);
      const bytesRead = readSync(fd, buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > MAX_BYTES) return undefined;
      chunks.push(buffer.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks, total).toString('latin1');
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads <netDir>/{sockstat,sockstat6,snmp,netstat}; undefined when the namespace's files cannot be
 * read (the process left, or permission). A file that reads but does not parse throws: that is a
 * kernel format we do not know, and it should be seen.
 */
export function readNamespaceCounters(netDir: string): NamespaceCounters | undefined {
  const sockstatFile = join(netDir, 'sockstat');
  const snmpFile = join(netDir, 'snmp');
  const netstatFile = join(netDir, 'netstat');
  const sockstatText = readSmallSync(sockstatFile);
  const snmpText = readSmallSync(snmpFile);
  const netstatText = readSmallSync(netstatFile);
  if (sockstatText === undefined || snmpText === undefined || netstatText === undefined) return undefined;
  const sockstat6File = join(netDir, 'sockstat6');
  const sockstat6Text = readSmallSync(sockstat6File);
  const tcp = parseSockstat(sockstatFile, sockstatText).get('TCP');
  const tcp6 = sockstat6Text === undefined ? undefined : parseSockstat(sockstat6File, sockstat6Text).get('TCP6');
  const fields = picker.pick(netstatFile, netstatText, picker.pick(snmpFile, snmpText));
  const counters = new Map<string, number>();
  for (const counter of NETNS_COUNTERS) {
    const value = fields.get(`${counter.group}_${counter.field}`);
    // A field an older kernel lacks is left out, as the netstat collector does.
    if (value !== undefined) counters.set(counter.metric, value);
  }
  return { counters, inuse: { ipv4: tcp?.get('inuse') ?? 0, ipv6: tcp6?.get('inuse') }, timeWait: tcp?.get('tw') ?? 0 };
}

/** Adds `from` into `into` (the namespaces folded into netns="other"). */
export function addCounters(into: NamespaceCounters | undefined, from: NamespaceCounters): NamespaceCounters {
  if (into === undefined) return { counters: new Map(from.counters), inuse: { ...from.inuse }, timeWait: from.timeWait };
  for (const [metric, value] of from.counters) into.counters.set(metric, (into.counters.get(metric) ?? 0) + value);
  into.inuse.ipv4 += from.inuse.ipv4;
  if (from.inuse.ipv6 !== undefined) into.inuse.ipv6 = (into.inuse.ipv6 ?? 0) + from.inuse.ipv6;
  return { ...into, timeWait: into.timeWait + from.timeWait };
}

/** Registers the counters of every reported namespace, each under its owner labels. */
export function reportCounters(registry: Registry, rows: ReadonlyArray<{ labels: Record<string, string>; counters: NamespaceCounters }>, labelNames: readonly string[]): void {
  if (rows.length === 0) return;
  // The same HELP as the host's series: the exporter merges both into one family.
  for (const counter of NETNS_COUNTERS) {
    const metric = kernelCounter(registry, counter.metric, counter.help, labelNames);
    for (const row of rows) {
      const value = row.counters.counters.get(counter.metric);
      if (value !== undefined) metric.inc(row.labels, value);
    }
  }
  const inuse = scrapeGauge(registry, 'tcpstate_sockstat_inuse', 'TCP sockets in use (TCP: inuse from sockstat, TCP6: inuse from sockstat6); excludes TIME_WAIT and request sockets.', [...labelNames, 'family']);
  const timeWait = scrapeGauge(registry, 'tcpstate_sockstat_tw', 'TCP sockets in TIME_WAIT, plus orphaned FIN_WAIT2 sockets, in this network namespace.', labelNames);
  for (const { labels, counters } of rows) {
    inuse.set({ ...labels, family: 'ipv4' }, counters.inuse.ipv4);
    if (counters.inuse.ipv6 !== undefined) inuse.set({ ...labels, family: 'ipv6' }, counters.inuse.ipv6);
    timeWait.set(labels, counters.timeWait);
  }
}
