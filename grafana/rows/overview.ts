/** Row "Overview: socket states": counts per state, connection rate, sockstat, TCP memory, queues. */
import { ALERT_THRESHOLDS as T, type AlertThreshold } from '../alert-thresholds.js';
import { alertSteps, limitDashed, runbookLink, stacked, statPanel, timeseriesPanel, type DashboardRow } from '../panels.js';
import { SEL, perInstance, query, rate, refIds, sockets, sysctl } from '../queries.js';

function stateStat(title: string, state: string, description: string) {
  return statPanel(title, description).span(3).targets(refIds(query(sockets(state), '{{instance}}')));
}

/** TCP buffer memory over one tcp_mem threshold, as a stat coloured at the alert's threshold. */
function memoryShare(title: string, threshold: 'pressure' | 'high', description: string, alert: AlertThreshold) {
  const expr = `${perInstance('tcpstate_sockstat_memory_bytes')} / max by (instance) (tcpstate_memory_limit_bytes{${SEL}, threshold="${threshold}"})`;
  return statPanel(title, description)
    .span(3)
    .unit('percentunit')
    .decimals(1)
    .targets(refIds(query(expr, '{{instance}}')))
    .thresholds(alertSteps(alert))
    .links([runbookLink(alert.alert)]);
}

export function overviewRow(): DashboardRow {
  return {
    title: 'Overview: socket states',
    panels: [
      stateStat('Established', 'established', 'Sockets in ESTABLISHED, IPv4 and IPv6 together (tcpstate_sockets).'),
      stateStat('Listening', 'listen', 'Listening sockets (one per listen() call; SO_REUSEPORT groups count each socket).'),
      stateStat('TIME_WAIT', 'time_wait', 'Sockets in TIME_WAIT: closed by this side first, held 60 s. Many of them come from short-lived outgoing connections.'),
      stateStat('CLOSE_WAIT', 'close_wait', 'Sockets in CLOSE_WAIT: the peer closed, the application has not. They never time out; see the CLOSE_WAIT row for the port and process.'),
      stateStat('SYN_RECV', 'syn_recv', "Half-open incoming connections (request sockets included): handshakes waiting for the client's final ACK. See the SYN flood row."),
      statPanel(
        'Orphans ÷ tcp_max_orphans',
        `Orphaned sockets (closed by their application, still finishing in the kernel) as a share of net.ipv4.tcp_max_orphans. TCPOrphanSocketsHigh fires above ${T.orphans.value * 100}%.`,
      )
        .span(3)
        .unit('percentunit')
        .decimals(1)
        .targets(refIds(query(`${perInstance('tcpstate_sockstat_orphan')} / ${sysctl('net.ipv4.tcp_max_orphans')}`, '{{instance}}')))
        .thresholds(alertSteps(T.orphans))
        .links([runbookLink(T.orphans.alert)]),
      memoryShare(
        'TCP memory ÷ tcp_mem pressure',
        'pressure',
        'TCP buffer memory as a share of the tcp_mem "pressure" threshold. Above 100% the kernel is in memory-pressure mode and shrinks socket buffers (TCPMemoryPressure, warning).',
        T.memoryPressure,
      ),
      memoryShare(
        'TCP memory ÷ tcp_mem high',
        'high',
        `TCP buffer memory as a share of the tcp_mem "high" limit, where allocations fail. TCPMemoryPressure (critical) fires above ${T.memoryHigh.value * 100}%.`,
        T.memoryHigh,
      ),
      stacked(
        timeseriesPanel(
          'Sockets by state',
          "Every TCP socket in the host's network namespace by state, IPv4 and IPv6 together. LISTEN sockets are left out so that the connection states keep their scale.",
        ),
      )
        .span(12)
        .targets(refIds(query(`sum by (instance, state) (tcpstate_sockets{${SEL}, state!="listen"})`, '{{instance}} {{state}}'))),
      timeseriesPanel(
        'Connections opened',
        'New connections per second: active opens (this host called connect()), passive opens (a listener completed a handshake), and failed connection attempts.',
      )
        .span(12)
        .unit('cps')
        .targets(
          refIds(
            query(rate('tcpstate_active_opens_total'), '{{instance}} active (outgoing)'),
            query(rate('tcpstate_passive_opens_total'), '{{instance}} passive (incoming)'),
            query(rate('tcpstate_attempt_fails_total'), '{{instance}} attempts failed'),
          ),
        ),
      timeseriesPanel(
        'Sockets in use (sockstat)',
        "The kernel's own counts from /proc/net/sockstat: sockets in use per family (TIME_WAIT and request sockets excluded), allocated, orphaned and TIME_WAIT buckets. Orphans and alloc are host-wide even in a container.",
      )
        .span(6)
        .targets(
          refIds(
            query(`sum by (instance, family) (tcpstate_sockstat_inuse{${SEL}})`, '{{instance}} in use {{family}}'),
            query(perInstance('tcpstate_sockstat_alloc'), '{{instance}} allocated'),
            query(perInstance('tcpstate_sockstat_orphan'), '{{instance}} orphaned'),
            query(perInstance('tcpstate_sockstat_tw'), '{{instance}} time_wait buckets'),
          ),
        ),
      timeseriesPanel(
        'TCP memory vs tcp_mem',
        'Memory used by TCP socket buffers, with the tcp_mem thresholds (dashed): above "pressure" the kernel shrinks buffers, at "high" it refuses allocations.',
      )
        .span(6)
        .unit('bytes')
        .targets(
          refIds(
            query(perInstance('tcpstate_sockstat_memory_bytes'), '{{instance}} in use'),
            query(`max by (instance, threshold) (tcpstate_memory_limit_bytes{${SEL}, threshold=~"pressure|high"})`, '{{instance}} {{threshold}} limit'),
          ),
        )
        .withOverride(limitDashed()),
      timeseriesPanel(
        'TCP memory pressure entries',
        'How often per second TCP entered memory-pressure mode (TcpExt TCPMemoryPressures): each entry shrinks socket buffers on every connection. Zero on a healthy host.',
      )
        .span(6)
        .unit('cps')
        .targets(refIds(query(rate('tcpstate_memory_pressures_total'), '{{instance}}')))
        .links([runbookLink(T.memoryPressure.alert)]),
      timeseriesPanel(
        'Bytes queued by state',
        'Receive queues (received, not yet read by the application) and send queues (sent, not yet acknowledged) summed by state; LISTEN sockets excluded. A growing receive queue means a slow reader, a growing send queue a slow peer or path.',
      )
        .span(6)
        .unit('bytes')
        .targets(
          refIds(
            query(`sum by (instance, state) (tcpstate_receive_queue_bytes{${SEL}}) > 0`, '{{instance}} receive {{state}}'),
            query(`sum by (instance, state) (tcpstate_send_queue_bytes{${SEL}}) > 0`, '{{instance}} send {{state}}'),
          ),
        ),
    ],
  };
}
