import type { Registry } from 'prom-client';
import { parseSnmp, type SnmpCounters } from '../procfs/snmp.js';
import { stringFlag } from '../config/flag.js';
import type { FileCollector } from './collector.js';
import { kernelCounter } from './metric-helpers.js';

interface CuratedCounter {
  metric: string;
  group: 'Tcp' | 'TcpExt';
  field: string;
  help: string;
}

/** The kernel counters every TCP dashboard needs, under names that explain themselves. */
export const CURATED_COUNTERS: readonly CuratedCounter[] = [
  { metric: 'tcpstate_active_opens_total', group: 'Tcp', field: 'ActiveOpens', help: 'Connections opened actively (connect) (Tcp ActiveOpens).' },
  { metric: 'tcpstate_passive_opens_total', group: 'Tcp', field: 'PassiveOpens', help: 'Connections accepted passively (Tcp PassiveOpens).' },
  { metric: 'tcpstate_attempt_fails_total', group: 'Tcp', field: 'AttemptFails', help: 'Connection attempts that failed from SYN_SENT or SYN_RECV (Tcp AttemptFails).' },
  { metric: 'tcpstate_established_resets_total', group: 'Tcp', field: 'EstabResets', help: 'Resets of ESTABLISHED or CLOSE_WAIT connections (Tcp EstabResets).' },
  { metric: 'tcpstate_segments_received_total', group: 'Tcp', field: 'InSegs', help: 'Segments received (Tcp InSegs).' },
  { metric: 'tcpstate_segments_sent_total', group: 'Tcp', field: 'OutSegs', help: 'Segments sent, excluding retransmissions (Tcp OutSegs).' },
  { metric: 'tcpstate_retransmitted_segments_total', group: 'Tcp', field: 'RetransSegs', help: 'Segments retransmitted (Tcp RetransSegs).' },
  { metric: 'tcpstate_receive_errors_total', group: 'Tcp', field: 'InErrs', help: 'Segments received in error, e.g. bad checksums (Tcp InErrs).' },
  { metric: 'tcpstate_resets_sent_total', group: 'Tcp', field: 'OutRsts', help: 'Segments sent with the RST flag (Tcp OutRsts).' },
  { metric: 'tcpstate_listen_overflows_total', group: 'TcpExt', field: 'ListenOverflows', help: 'Completed handshakes dropped because the accept queue was full (TcpExt ListenOverflows).' },
  { metric: 'tcpstate_listen_drops_total', group: 'TcpExt', field: 'ListenDrops', help: 'SYNs and handshakes dropped at a listener for any reason, overflows included (TcpExt ListenDrops).' },
  { metric: 'tcpstate_syncookies_sent_total', group: 'TcpExt', field: 'SyncookiesSent', help: 'SYN cookies sent because the SYN queue was full (TcpExt SyncookiesSent).' },
  { metric: 'tcpstate_syncookies_received_total', group: 'TcpExt', field: 'SyncookiesRecv', help: 'Valid SYN cookies received back (TcpExt SyncookiesRecv).' },
  { metric: 'tcpstate_syncookies_failed_total', group: 'TcpExt', field: 'SyncookiesFailed', help: 'Invalid SYN cookies received (TcpExt SyncookiesFailed).' },
  { metric: 'tcpstate_syn_queue_drops_total', group: 'TcpExt', field: 'TCPReqQFullDrop', help: 'SYNs dropped because the SYN queue was full and SYN cookies were off (TcpExt TCPReqQFullDrop).' },
  { metric: 'tcpstate_syn_queue_cookies_total', group: 'TcpExt', field: 'TCPReqQFullDoCookies', help: 'SYNs answered with a cookie because the SYN queue was full (TcpExt TCPReqQFullDoCookies).' },
  { metric: 'tcpstate_syn_retransmits_total', group: 'TcpExt', field: 'TCPSynRetrans', help: 'SYN and SYN-ACK retransmissions (TcpExt TCPSynRetrans).' },
  { metric: 'tcpstate_timeouts_total', group: 'TcpExt', field: 'TCPTimeouts', help: 'Retransmission timeouts (TcpExt TCPTimeouts).' },
  { metric: 'tcpstate_time_wait_overflow_total', group: 'TcpExt', field: 'TCPTimeWaitOverflow', help: 'TIME_WAIT sockets not created because tcp_max_tw_buckets was reached (TcpExt TCPTimeWaitOverflow).' },
  { metric: 'tcpstate_time_wait_recycled_total', group: 'TcpExt', field: 'TWRecycled', help: 'TIME_WAIT sockets reused for a new connection (TcpExt TWRecycled).' },
  { metric: 'tcpstate_time_wait_killed_total', group: 'TcpExt', field: 'TWKilled', help: 'TIME_WAIT sockets destroyed early (TcpExt TWKilled).' },
  { metric: 'tcpstate_keepalive_probes_total', group: 'TcpExt', field: 'TCPKeepAlive', help: 'Keepalive probes sent (TcpExt TCPKeepAlive).' },
  { metric: 'tcpstate_memory_pressures_total', group: 'TcpExt', field: 'TCPMemoryPressures', help: 'Times TCP entered memory pressure (TcpExt TCPMemoryPressures).' },
];

/** TcpExt fields behind tcpstate_aborts_total{reason}. */
export const ABORT_REASONS: ReadonlyArray<{ reason: string; field: string }> = [
  { reason: 'data', field: 'TCPAbortOnData' },
  { reason: 'close', field: 'TCPAbortOnClose' },
  { reason: 'memory', field: 'TCPAbortOnMemory' },
  { reason: 'timeout', field: 'TCPAbortOnTimeout' },
  { reason: 'linger', field: 'TCPAbortOnLinger' },
  { reason: 'failed', field: 'TCPAbortFailed' },
];

/**
 * Fields of /proc/net/snmp that are settings or current values, not counters; exposing them as
 * tcpstate_netstat_total would make rate() lie. They are never selected by the fields regex.
 */
const NOT_COUNTERS = new Set(['Ip_Forwarding', 'Ip_DefaultTTL', 'Tcp_RtoAlgorithm', 'Tcp_RtoMin', 'Tcp_RtoMax', 'Tcp_MaxConn', 'Tcp_CurrEstab']);

function mergeGroups(...sources: SnmpCounters[]): SnmpCounters {
  const merged: SnmpCounters = new Map();
  for (const source of sources) for (const [group, fields] of source) merged.set(group, new Map([...(merged.get(group) ?? []), ...fields]));
  return merged;
}

function compileFieldsPattern(pattern: string): RegExp | undefined {
  // Anchored, as node_exporter matches the whole "Group_Field" name.
  return pattern === '' ? undefined : new RegExp(`^(?:${pattern})$`);
}

export const NETSTAT_FLAGS = {
  fields: stringFlag<RegExp | undefined>('collector.netstat.fields', {
    help: 'regex of extra "Group_Field" counters from /proc/net/{snmp,netstat} to expose as tcpstate_netstat_total',
    default: undefined,
    valueName: '<regex>',
    example: 'TcpExt_TCPFastOpen.*',
    check: (pattern) => {
      try {
        compileFieldsPattern(pattern);
        return undefined;
      } catch (error) {
        return `not a valid regular expression: ${(error as Error).message}`;
      }
    },
    convert: compileFieldsPattern,
  }),
};

/** The kernel's TCP counters from /proc/net/snmp and /proc/net/netstat. */
export const netstatCollector: FileCollector<typeof NETSTAT_FLAGS> = {
  name: 'netstat',
  defaultEnabled: true,
  description: 'TCP counters: opens, resets, retransmits, listen overflows, SYN cookies, aborts (/proc/net/snmp, /proc/net/netstat)',
  flags: NETSTAT_FLAGS,
  reads: 'files',
  async collect({ proc }, options, registry: Registry): Promise<void> {
    const [snmpText, netstatText] = await Promise.all([proc.readText('net', 'snmp'), proc.readText('net', 'netstat')]);
    const counters = mergeGroups(parseSnmp(proc.path('net', 'snmp'), snmpText), parseSnmp(proc.path('net', 'netstat'), netstatText));
    const value = (group: string, field: string): number | undefined => counters.get(group)?.get(field);

    // A field an older kernel lacks is left out, not reported as zero.
    for (const counter of CURATED_COUNTERS) {
      const kernelValue = value(counter.group, counter.field);
      if (kernelValue !== undefined) kernelCounter(registry, counter.metric, counter.help).inc(kernelValue);
    }

    const aborts = kernelCounter(registry, 'tcpstate_aborts_total', 'Connections aborted by the kernel, by reason (TcpExt TCPAbortOn*, TCPAbortFailed).', ['reason']);
    for (const { reason, field } of ABORT_REASONS) {
      const kernelValue = value('TcpExt', field);
      if (kernelValue !== undefined) aborts.inc({ reason }, kernelValue);
    }

    const pattern = options.fields;
    if (pattern !== undefined) {
      const extra = kernelCounter(registry, 'tcpstate_netstat_total', 'Any field of /proc/net/snmp or /proc/net/netstat selected by --collector.netstat.fields.', ['group', 'field']);
      for (const [group, fields] of counters) {
        for (const [field, kernelValue] of fields) {
          const name = `${group}_${field}`;
          if (pattern.test(name) && !NOT_COUNTERS.has(name)) extra.inc({ group, field }, kernelValue);
        }
      }
    }
  },
};
