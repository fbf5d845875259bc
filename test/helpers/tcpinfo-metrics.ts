/**
 * The sample names of the opt-in tcpinfo collector (--collector.tcpinfo; docs/tcpinfo.md), which
 * none of the golden scrapes runs: they come from the fixture /proc (no tcp_info there) and from
 * captured dumps made without INET_DIAG_INFO. The alert rules and the dashboard may use these names
 * as well as the emitted ones. When a golden scrape of the collector exists, read it instead.
 */
const GAUGES = [
  'tcpstate_tcpinfo_sockets',
  'tcpstate_tcpinfo_min_rtt_seconds',
  'tcpstate_tcpinfo_rtt_variance_seconds',
  'tcpstate_tcpinfo_ca_state_sockets',
  'tcpstate_tcpinfo_retransmitting_sockets',
  'tcpstate_tcpinfo_retransmitted_segments',
  'tcpstate_tcpinfo_sent_segments',
  'tcpstate_tcpinfo_lost_segments',
  'tcpstate_tcpinfo_rwnd_limited_seconds',
  'tcpstate_tcpinfo_sndbuf_limited_seconds',
] as const;

const HISTOGRAMS = ['tcpstate_tcpinfo_rtt_seconds', 'tcpstate_tcpinfo_idle_seconds'] as const;

export const TCPINFO_SAMPLE_NAMES: ReadonlySet<string> = new Set([...GAUGES, ...HISTOGRAMS.flatMap((name) => [`${name}_bucket`, `${name}_sum`, `${name}_count`])]);
