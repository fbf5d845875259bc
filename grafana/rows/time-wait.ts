/** Row "TIME_WAIT and ephemeral ports": TIME_WAIT against its limit, ephemeral ports against the range. */
import { ALERT_THRESHOLDS as T } from '../alert-thresholds.js';
import { alertSteps, limitDashed, runbookLink, thresholdLines, timeseriesPanel, type DashboardRow } from '../panels.js';
import { SEL, perInstance, query, rate, refIds, sockets, sysctl } from '../queries.js';

export function timeWaitRow(): DashboardRow {
  const rangeEnd = (index: 0 | 1): string => `max by (instance) (tcpstate_sysctl{${SEL}, name="net.ipv4.ip_local_port_range", index="${index}"})`;
  const rangeSize = `(${rangeEnd(1)} - ${rangeEnd(0)} + 1)`;
  return {
    title: 'TIME_WAIT and ephemeral ports',
    panels: [
      timeseriesPanel(
        'TIME_WAIT vs tcp_max_tw_buckets',
        "Sockets in TIME_WAIT, the kernel's TIME_WAIT buckets (sockstat tw: TIME_WAIT plus orphaned FIN_WAIT2), and net.ipv4.tcp_max_tw_buckets (dashed): past it closing sockets skip TIME_WAIT.",
      )
        .span(8)
        .targets(
          refIds(
            query(sockets('time_wait'), '{{instance}} time_wait'),
            query(perInstance('tcpstate_sockstat_tw'), '{{instance}} buckets (sockstat)'),
            query(sysctl('net.ipv4.tcp_max_tw_buckets'), '{{instance}} tcp_max_tw_buckets limit'),
          ),
        )
        .withOverride(limitDashed()),
      timeseriesPanel(
        'Ephemeral ports in use vs the range',
        'Sockets whose local port is inside net.ipv4.ip_local_port_range, all destinations together, against the size of the range (dashed). One destination can run out long before this total does: see the next panel.',
      )
        .span(8)
        .targets(refIds(query(perInstance('tcpstate_ephemeral_ports_used'), '{{instance}} in use'), query(rangeSize, '{{instance}} range size limit')))
        .withOverride(limitDashed()),
      timeseriesPanel(
        'Busiest destinations: share of the range',
        `Sockets to each of the busiest destinations (remote address and port) with an ephemeral local port, as a share of the range. connect() to one fails at 100%. TCPEphemeralPortExhaustion: warning above ${T.ephemeralWarning.value * 100}%, critical above ${T.ephemeralCritical.value * 100}%.`,
      )
        .span(8)
        .unit('percentunit')
        .max(1)
        .targets(
          refIds(
            query(`max by (instance, remote_address, remote_port) (tcpstate_ephemeral_destination_usage_ratio{${SEL}})`, '{{instance}} → {{remote_address}}:{{remote_port}}'),
            query(perInstance('tcpstate_ephemeral_port_usage_ratio'), '{{instance}} busiest'),
          ),
        )
        .thresholds(alertSteps(T.ephemeralWarning, T.ephemeralCritical))
        .thresholdsStyle(thresholdLines('line+area'))
        .links([runbookLink(T.ephemeralWarning.alert)]),
      timeseriesPanel(
        'TIME_WAIT overflow, recycled and killed',
        'TIME_WAIT sockets not created because tcp_max_tw_buckets was full (overflow; TCPTimeWaitBucketsOverflow fires on any), reused for a new connection (recycled), and killed early (by an RST, or by tcp_tw_reuse/PAWS).',
      )
        .span(12)
        .unit('cps')
        .targets(
          refIds(
            query(rate('tcpstate_time_wait_overflow_total'), '{{instance}} overflow'),
            query(rate('tcpstate_time_wait_recycled_total'), '{{instance}} recycled'),
            query(rate('tcpstate_time_wait_killed_total'), '{{instance}} killed'),
          ),
        )
        .links([runbookLink('TCPTimeWaitBucketsOverflow')]),
      timeseriesPanel(
        'Outgoing connections by remote port',
        'Client-side sockets by remote port and state, for the ports given with --collector.sockets.remote-ports (connection pools to databases and upstreams). Empty unless that flag is set.',
      )
        .span(12)
        .targets(
          refIds(
            query(
              `sum by (instance, port, state) (tcpstate_remote_port_sockets{${SEL}, state=~"established|syn_sent|time_wait|close_wait|fin_wait2"})`,
              '{{instance}} :{{port}} {{state}}',
            ),
          ),
        ),
    ],
  };
}
