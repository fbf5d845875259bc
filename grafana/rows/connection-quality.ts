/**
 * Row "Connection quality": RTT, retransmissions and loss recovery per port, from tcp_info (the
 * opt-in --collector.tcpinfo; without it the row is empty). Upstreams (direction="remote", the
 * ports of --collector.sockets.remote-ports) and listeners (direction="local", our server ports)
 * are drawn apart: the RTT to an upstream is ours to fix, our clients' RTT mostly is not.
 *
 * Every series is a snapshot of the ESTABLISHED sockets alive at the scrape, not a counter: the
 * histograms are read as they are (no rate()), and the sums that grow while sockets live are read
 * with deriv(), which a closing socket pulls down instead of reading it as a counter reset.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as heatmap from '@grafana/grafana-foundation-sdk/heatmap';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import { ALERT_THRESHOLDS as T } from '../alert-thresholds.js';
import { alertSteps, runbookLink, stacked, thresholdLines, timeseriesPanel, type DashboardRow } from '../panels.js';
import { DATASOURCE, PORT_SEL, SEL, query, refIds } from '../queries.js';

/** Upstream ports: the $port variable lists our watched local ports, so it does not apply. */
const UPSTREAM = `${SEL}, direction="remote"`;
/** Listening ports, filtered by $port. */
const LISTENER = `${PORT_SEL}, direction="local"`;

/** The window of the deriv() panels: the one TCPUpstreamRetransmissionRateHigh uses. */
const DERIV_WINDOW = '10m';

/**
 * A heatmap of a tcpinfo histogram's buckets, summed over the selected instances and ports: one
 * series per bucket (legend {{le}}), de-accumulated by Grafana (format "heatmap").
 */
function bucketHeatmap(title: string, description: string, buckets: string): heatmap.PanelBuilder {
  return new heatmap.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .height(8)
    .unit('short')
    .calculate(false)
    .yAxis(new heatmap.YAxisConfigBuilder().unit('s').axisPlacement(common.AxisPlacement.Left))
    .rowsFrame(new heatmap.RowsHeatmapOptionsBuilder().layout(common.HeatmapCellLayout.Auto).value('sockets'))
    .color(new heatmap.HeatmapColorOptionsBuilder().mode(heatmap.HeatmapColorMode.Scheme).scheme('Oranges').scale(heatmap.HeatmapColorScale.Exponential).exponent(0.5).steps(64).reverse(false))
    .cellGap(1)
    .showValue(common.VisibilityMode.Never)
    .mode(common.TooltipDisplayMode.Single)
    .showYHistogram()
    .showLegend()
    .targets(
      refIds(
        new prometheus.DataqueryBuilder()
          .datasource(DATASOURCE)
          .editorMode(prometheus.QueryEditorMode.Code)
          .expr(`sum by (le) (${buckets})`)
          .legendFormat('{{le}}')
          .format(prometheus.PromQueryFormat.Heatmap)
          .range(),
      ),
    );
}

/** Median RTT per port from the histogram's buckets, and the lowest min_rtt of the port's sockets. */
function rttTargets(sel: string, side: string): prometheus.DataqueryBuilder[] {
  return refIds(
    query(`histogram_quantile(0.5, sum by (instance, port, le) (tcpstate_tcpinfo_rtt_seconds_bucket{${sel}}))`, `{{instance}} ${side} :{{port}} median`),
    query(`min by (instance, port) (tcpstate_tcpinfo_min_rtt_seconds{${sel}})`, `{{instance}} ${side} :{{port}} min RTT`),
  );
}

/** deriv() of a tcpinfo sum, per instance, direction and port, never below 0. */
function growth(metric: string, sel = SEL): string {
  return `clamp_min(sum by (instance, direction, port) (deriv(${metric}{${sel}}[${DERIV_WINDOW}])), 0)`;
}

export function connectionQualityRow(): DashboardRow {
  return {
    title: 'Connection quality',
    panels: [
      bucketHeatmap(
        'RTT to upstreams',
        'Smoothed RTT (tcp_info rtt) of the ESTABLISHED connections to the upstream ports of --collector.sockets.remote-ports, one socket per count, summed over the selected instances. Needs --collector.tcpinfo. A band that moves up is queueing or a longer route.',
        `tcpstate_tcpinfo_rtt_seconds_bucket{${UPSTREAM}}`,
      ).span(12),
      bucketHeatmap(
        'RTT to clients, by listening port',
        'Smoothed RTT of the ESTABLISHED connections to the selected listening ports: the distance to our clients, mostly theirs to fix. Needs --collector.tcpinfo.',
        `tcpstate_tcpinfo_rtt_seconds_bucket{${LISTENER}}`,
      ).span(12),
      timeseriesPanel(
        'Median and minimum RTT per upstream port',
        'Median smoothed RTT of the live connections to each upstream port (from the histogram, interpolated within a bucket) and the lowest min_rtt among them, the path\'s floor. The median rising while min RTT does not is queueing. TCPUpstreamRTTHigh fires when the median passes 3 times its median of the last day and 1 ms.',
      )
        .span(12)
        .unit('s')
        .targets(rttTargets(UPSTREAM, 'upstream'))
        .overrideByRegexp('.*min RTT', [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }])
        .links([runbookLink('TCPUpstreamRTTHigh')]),
      timeseriesPanel(
        'Median and minimum RTT per listening port',
        'Median smoothed RTT of the live connections to each selected listening port, and the lowest min_rtt among them.',
      )
        .span(12)
        .unit('s')
        .targets(rttTargets(LISTENER, 'listener'))
        .overrideByRegexp('.*min RTT', [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }]),
      timeseriesPanel(
        'Retransmitted share per upstream port',
        `How fast the live connections to each upstream retransmit against how fast they send (deriv over ${DERIV_WINDOW} of their summed total_retrans over their summed segs_out; sockets that close leave both sums). TCPUpstreamRetransmissionRateHigh fires above ${T.upstreamRetransmitShare.value * 100}% with more than 50 segments/s over 5 sockets.`,
      )
        .span(8)
        .unit('percentunit')
        .targets(
          refIds(
            query(
              `${growth('tcpstate_tcpinfo_retransmitted_segments', UPSTREAM)} / ${growth('tcpstate_tcpinfo_sent_segments', UPSTREAM)}`,
              '{{instance}} upstream :{{port}}',
            ),
          ),
        )
        .thresholds(alertSteps(T.upstreamRetransmitShare))
        .thresholdsStyle(thresholdLines('line+area'))
        .links([runbookLink(T.upstreamRetransmitShare.alert)]),
      timeseriesPanel(
        'Sockets retransmitting now, per port',
        'Connections whose oldest unacknowledged segment has been retransmitted by the retransmission timer and is still unacknowledged (tcp_info retransmits > 0), per upstream port and per selected listening port.',
      )
        .span(8)
        .targets(
          refIds(
            query(`sum by (instance, port) (tcpstate_tcpinfo_retransmitting_sockets{${UPSTREAM}})`, '{{instance}} upstream :{{port}}'),
            query(`sum by (instance, port) (tcpstate_tcpinfo_retransmitting_sockets{${LISTENER}})`, '{{instance}} listener :{{port}}'),
          ),
        ),
      timeseriesPanel(
        'Clients in loss recovery, per listening port',
        `Share of each selected listener's ESTABLISHED connections in congestion state recovery (fast retransmit) or loss (after a timeout). TCPListenerLossRecovery fires when the 5-minute average passes ${T.listenerLossRecoveryShare.value * 100}% with at least 10 sockets.`,
      )
        .span(8)
        .unit('percentunit')
        .targets(
          refIds(
            query(
              `sum by (instance, port) (tcpstate_tcpinfo_ca_state_sockets{${LISTENER}, ca_state=~"recovery|loss"}) / sum by (instance, port) (tcpstate_tcpinfo_sockets{${LISTENER}})`,
              '{{instance}} listener :{{port}}',
            ),
          ),
        )
        .thresholds(alertSteps(T.listenerLossRecoveryShare))
        .thresholdsStyle(thresholdLines('line+area'))
        .links([runbookLink(T.listenerLossRecoveryShare.alert)]),
      stacked(
        timeseriesPanel(
          'Sockets by congestion state',
          'The summarised ESTABLISHED connections by tcp_info ca_state: open (normal), disorder (reordering or duplicate ACKs), cwr (congestion window reduced by ECN or local congestion), recovery (fast retransmit), loss (after a retransmission timeout).',
        ),
      )
        .span(8)
        .targets(refIds(query(`sum by (instance, direction, ca_state) (tcpstate_tcpinfo_ca_state_sockets{${SEL}})`, '{{instance}} {{direction}} {{ca_state}}'))),
      timeseriesPanel(
        'Segments presumed lost now, per port',
        'Segments the kernel now presumes lost (tcp_info lost), summed over the live connections of each port: the backlog of retransmissions still to be done.',
      )
        .span(8)
        .targets(refIds(query(`sum by (instance, direction, port) (tcpstate_tcpinfo_lost_segments{${SEL}})`, '{{instance}} {{direction}} :{{port}}'))),
      timeseriesPanel(
        'Sending limited by the receive window or the send buffer',
        `How many connections of each port were, on average, unable to send because the peer's receive window was full (the peer reads slowly) or our send buffer was (deriv over ${DERIV_WINDOW} of the seconds tcp_info counts as rwnd_limited and sndbuf_limited, summed over the live connections).`,
      )
        .span(8)
        .targets(
          refIds(
            query(growth('tcpstate_tcpinfo_rwnd_limited_seconds'), '{{instance}} {{direction}} :{{port}} receive window'),
            query(growth('tcpstate_tcpinfo_sndbuf_limited_seconds'), '{{instance}} {{direction}} :{{port}} send buffer'),
          ),
        ),
      bucketHeatmap(
        'Idle time since data was last received',
        'Time since each live connection last received data (tcp_info last_data_recv), all ports and directions. Connections idle far past their peers\' usual gaps (past 300-900 s, the NAT and load-balancer idle timeouts) are likely half-open, long before keepalive gives up on them.',
        `tcpstate_tcpinfo_idle_seconds_bucket{${SEL}}`,
      ).span(12),
      timeseriesPanel(
        'RTT variance per port',
        'Mean RTT variance (tcp_info rttvar) of the live connections of each port: the jitter. It sets the retransmission timeout with the RTT, so a jittery path also recovers from loss more slowly.',
      )
        .span(12)
        .unit('s')
        .targets(refIds(query(`max by (instance, direction, port) (tcpstate_tcpinfo_rtt_variance_seconds{${SEL}})`, '{{instance}} {{direction}} :{{port}}'))),
    ],
  };
}
