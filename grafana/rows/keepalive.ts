/** Row "Keepalive": the keepalive sysctls, detection time, armed and probing sockets. */
import { ALERT_THRESHOLDS as T } from '../alert-thresholds.js';
import { alertSteps, runbookLink, settingPanel, thresholdLines, timeseriesPanel, type DashboardRow } from '../panels.js';
import { SEL, perInstance, query, rate, refIds, sysctl } from '../queries.js';

function setting(title: string, name: string, unit: string, description: string) {
  return settingPanel(title, description).span(6).unit(unit).targets(refIds(query(sysctl(name), '{{instance}}')));
}

export function keepaliveRow(): DashboardRow {
  return {
    title: 'Keepalive',
    panels: [
      setting('tcp_keepalive_time', 'net.ipv4.tcp_keepalive_time', 's', 'Idle time before the first keepalive probe, for sockets with SO_KEEPALIVE and no per-socket TCP_KEEPIDLE.'),
      setting('tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_intvl', 's', 'Time between unanswered keepalive probes.'),
      setting('tcp_keepalive_probes', 'net.ipv4.tcp_keepalive_probes', 'none', 'Unanswered probes after which the connection is dropped.'),
      settingPanel(
        'Worst-case dead-peer detection',
        'tcp_keepalive_time + tcp_keepalive_intvl × tcp_keepalive_probes: how long a vanished peer can hold a keepalive socket with the host defaults.',
      )
        .span(6)
        .unit('s')
        .targets(refIds(query(perInstance('tcpstate_keepalive_detection_seconds'), '{{instance}}'))),
      timeseriesPanel(
        'Sockets with keepalive armed',
        'Sockets whose keepalive timer is armed, by state. Connections without keepalive never notice a peer that vanished silently.',
      )
        .span(8)
        .targets(refIds(query(`sum by (instance, state) (tcpstate_keepalive_sockets{${SEL}}) > 0`, '{{instance}} {{state}}'))),
      timeseriesPanel(
        'Sockets probing a silent peer',
        `Sockets with unanswered keepalive probes: the peer probably vanished without FIN or RST (half-open). TCPHalfOpenConnections fires above ${T.halfOpen.value}.`,
      )
        .span(8)
        .targets(refIds(query(perInstance('tcpstate_keepalive_probing_sockets'), '{{instance}}')))
        .thresholds(alertSteps(T.halfOpen))
        .thresholdsStyle(thresholdLines('dashed'))
        .links([runbookLink(T.halfOpen.alert)]),
      timeseriesPanel('Keepalive probes sent', 'Keepalive probes sent per second (TcpExt TCPKeepAlive).')
        .span(8)
        .unit('cps')
        .targets(refIds(query(rate('tcpstate_keepalive_probes_total'), '{{instance}}'))),
    ],
  };
}
