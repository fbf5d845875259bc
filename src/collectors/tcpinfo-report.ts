/**
 * Registers the tcpinfo series of one scrape from a filled TcpInfoSummary (docs/tcpinfo.md).
 * tcpstate_tcpinfo_sockets has a series for every watched {port, direction}, 0 included; the
 * others only where there were sockets, and only for fields the running kernel sent (an older
 * kernel's shorter tcp_info leaves series out, never reports them as 0).
 */
import type { Metric, Registry } from 'prom-client';
import { preAggregatedHistogram, type HistogramSample, type SlotHistograms } from '../netlink/rtt-histogram.js';
import { CA_STATES, type TcpInfoSummary, type TrackedField } from '../netlink/tcpinfo-summary.js';
import { scrapeGauge } from './metric-helpers.js';
import type { WatchedPorts } from './tcpinfo-ports.js';

type Labels = { port: string; direction: string };
const LABELS = ['port', 'direction'] as const;

/** A per-slot gauge: registered only when the kernel sent its field, set for the slots with sockets. */
function slotGauge(registry: Registry, summary: TcpInfoSummary, slots: readonly number[], labels: (slot: number) => Labels, field: TrackedField, name: string, help: string, value: (slot: number) => number | undefined): void {
  if (!summary.has(field)) return;
  const gauge = scrapeGauge(registry, name, help, LABELS);
  for (const slot of slots) {
    const v = value(slot);
    if (v !== undefined) gauge.set(labels(slot), v);
  }
}

function histogram(registry: Registry, histograms: SlotHistograms, slots: readonly number[], labels: (slot: number) => Labels, name: string, help: string): void {
  const values: HistogramSample[] = slots.flatMap((slot) => histograms.samples(name, slot, labels(slot)));
  // prom-client renders any object with its Metric shape; this one's samples were counted elsewhere.
  registry.registerMetric(preAggregatedHistogram(name, help, values) as unknown as Metric);
}

export function reportTcpInfo(registry: Registry, summary: TcpInfoSummary, watched: WatchedPorts): void {
  const labels = (slot: number): Labels => ({ port: watched.series[slot]!.port, direction: watched.series[slot]!.direction });
  const all = watched.series.map((_, slot) => slot);
  const sockets = scrapeGauge(registry, 'tcpstate_tcpinfo_sockets', 'ESTABLISHED sockets summarised by the other tcpstate_tcpinfo_ series: direction="local" for a watched server port, "remote" for a --collector.sockets.remote-ports port.', LABELS);
  for (const slot of all) sockets.set(labels(slot), summary.sockets[slot]!);
  const live = all.filter((slot) => summary.sockets[slot]! > 0);

  if (summary.has('rtt')) histogram(registry, summary.rtt, live, labels, 'tcpstate_tcpinfo_rtt_seconds', 'Smoothed round-trip time (tcpi_rtt) of the ESTABLISHED sockets, one observation per socket.');
  slotGauge(registry, summary, live, labels, 'minRtt', 'tcpstate_tcpinfo_min_rtt_seconds', 'Lowest minimum RTT (tcpi_min_rtt) over the sockets: the floor of the path, to compare the smoothed RTT with.', (slot) => summary.minRttSeconds(slot));
  slotGauge(registry, summary, live, labels, 'rttvar', 'tcpstate_tcpinfo_rtt_variance_seconds', 'Mean RTT variance (tcpi_rttvar) over the sockets: jitter.', (slot) => summary.meanRttvarSeconds(slot));
  if (summary.has('caState')) {
    const ca = scrapeGauge(registry, 'tcpstate_tcpinfo_ca_state_sockets', 'Sockets per congestion-avoidance state (tcpi_ca_state): recovery is fast retransmit, loss an RTO.', [...LABELS, 'ca_state']);
    for (const slot of live) CA_STATES.forEach((state, index) => ca.set({ ...labels(slot), ca_state: state }, summary.caState(slot, index)));
  }
  slotGauge(registry, summary, live, labels, 'retransmits', 'tcpstate_tcpinfo_retransmitting_sockets', 'Sockets whose oldest unacknowledged segment was retransmitted by the RTO timer and is still unacknowledged (tcpi_retransmits > 0).', (slot) => summary.retransmittingSockets[slot]);
  slotGauge(registry, summary, live, labels, 'totalRetrans', 'tcpstate_tcpinfo_retransmitted_segments', 'Segments retransmitted over the lifetime of the sockets alive now (tcpi_total_retrans summed). Not a counter: it falls when sockets close.', (slot) => summary.totalRetransSum[slot]);
  slotGauge(registry, summary, live, labels, 'segsOut', 'tcpstate_tcpinfo_sent_segments', 'Segments sent, retransmissions included, over the lifetime of the sockets alive now (tcpi_segs_out summed): the denominator of a retransmission ratio. Not a counter: it falls when sockets close.', (slot) => summary.segsOutSum[slot]);
  slotGauge(registry, summary, live, labels, 'lost', 'tcpstate_tcpinfo_lost_segments', 'Segments the sockets now presume lost (tcpi_lost summed).', (slot) => summary.lostSum[slot]);
  slotGauge(registry, summary, live, labels, 'rwndLimited', 'tcpstate_tcpinfo_rwnd_limited_seconds', 'Time the sockets alive now spent unable to send because the peer\'s receive window was full (tcpi_rwnd_limited summed). Not a counter: it falls when sockets close.', (slot) => summary.rwndLimitedMicrosSum[slot]! / 1e6);
  slotGauge(registry, summary, live, labels, 'sndbufLimited', 'tcpstate_tcpinfo_sndbuf_limited_seconds', 'Time the sockets alive now spent limited by their own send buffer (tcpi_sndbuf_limited summed). Not a counter: it falls when sockets close.', (slot) => summary.sndbufLimitedMicrosSum[slot]! / 1e6);
  if (summary.has('lastDataRecv')) histogram(registry, summary.idle, live, labels, 'tcpstate_tcpinfo_idle_seconds', 'Time since each socket last received data (tcpi_last_data_recv): a half-open peer shows as a socket idle far past its peers.');
}
