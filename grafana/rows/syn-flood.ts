/** Row "SYN flood": SYN_RECV against the backlog, SYN cookies, SYN queue drops. */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { ALERT_THRESHOLDS as T } from '../alert-thresholds.js';
import { alertSteps, limitDashed, runbookLink, settingPanel, steps, thresholdLines, timeseriesPanel, type DashboardRow } from '../panels.js';
import { PORT_SEL, query, rate, refIds, sockets, sysctl } from '../queries.js';

export function synFloodRow(): DashboardRow {
  return {
    title: 'SYN flood',
    panels: [
      timeseriesPanel(
        'SYN queue fill per port',
        `SYN_RECV sockets on each listening port as a share of that port's own backlog (its listen() backlog, capped by somaxconn): with SYN cookies on, a listener's SYN queue stops at about its backlog, so this is what fills in a flood. TCPSynFlood fires above ${T.synPortBacklog.value * 100}% (netlink source only: /proc/net/tcp has no backlog).`,
      )
        .span(9)
        .unit('percentunit')
        .targets(
          refIds(
            query(`max by (instance, port) (tcpstate_port_sockets{${PORT_SEL}, state="syn_recv"}) / max by (instance, port) (tcpstate_listen_queue_max{${PORT_SEL}} > 0)`, '{{instance}} :{{port}}'),
          ),
        )
        .thresholds(alertSteps(T.synPortBacklog))
        .thresholdsStyle(thresholdLines('line+area'))
        .links([runbookLink(T.synPortBacklog.alert)]),
      timeseriesPanel(
        'SYN backlog usage (host)',
        `SYN_RECV sockets as a share of tcp_max_syn_backlog: TCPSynFlood's fallback where the per-port backlog is unknown (procfs); it fires above ${T.synBacklog.value * 100}% while SYNs are dropped.`,
      )
        .span(9)
        .unit('percentunit')
        .targets(refIds(query(`${sockets('syn_recv')} / ${sysctl('net.ipv4.tcp_max_syn_backlog')}`, '{{instance}}')))
        .thresholds(alertSteps(T.synBacklog))
        .thresholdsStyle(thresholdLines('line+area'))
        .links([runbookLink(T.synBacklog.alert)]),
      settingPanel(
        'tcp_syncookies',
        'net.ipv4.tcp_syncookies: 0 = off (a full SYN queue drops SYNs, TCPSyncookiesDisabled), 1 = sent when the SYN queue overflows (the default), 2 = always.',
      )
        .span(6)
        .height(8)
        .targets(refIds(query(sysctl('net.ipv4.tcp_syncookies'), '{{instance}}')))
        .thresholds(steps('red', ['green', 1]))
        .mappings([
          {
            type: dashboard.MappingType.ValueToText,
            options: {
              [String(T.syncookies.value)]: { text: 'off', color: 'red', index: 0 },
              '1': { text: 'on overflow', color: 'green', index: 1 },
              '2': { text: 'always', color: 'green', index: 2 },
            },
          },
        ])
        .links([runbookLink(T.syncookies.alert)]),
      timeseriesPanel(
        'SYN_RECV vs tcp_max_syn_backlog',
        'Half-open incoming connections (SYN_RECV, request sockets included) against net.ipv4.tcp_max_syn_backlog (dashed). With SYN cookies off, the host-wide limit is what a flood runs into.',
      )
        .span(8)
        .targets(refIds(query(sockets('syn_recv'), '{{instance}} syn_recv'), query(sysctl('net.ipv4.tcp_max_syn_backlog'), '{{instance}} tcp_max_syn_backlog limit')))
        .withOverride(limitDashed()),
      timeseriesPanel(
        'SYN cookies',
        `SYN cookies sent (some listener's SYN queue was full and the kernel answered statelessly), received back (valid ACKs) and failed (invalid cookies: often a flood of forged ACKs), and SYN-queue overflows answered with a cookie. TCPSynFlood fires above ${T.synCookies.value} cookies sent per second.`,
      )
        .span(8)
        .unit('cps')
        .thresholds(alertSteps(T.synCookies))
        .thresholdsStyle(thresholdLines('dashed'))
        .targets(
          refIds(
            query(rate('tcpstate_syncookies_sent_total'), '{{instance}} sent'),
            query(rate('tcpstate_syncookies_received_total'), '{{instance}} received'),
            query(rate('tcpstate_syncookies_failed_total'), '{{instance}} failed'),
            query(rate('tcpstate_syn_queue_cookies_total'), '{{instance}} SYN queue full, cookie sent'),
          ),
        ),
      timeseriesPanel(
        'SYN queue drops and SYN retransmits',
        'SYNs dropped because the SYN queue was full and no cookie could be sent (TCPSynQueueDrops fires on any), and SYN/SYN-ACK retransmissions (handshakes that needed a second try).',
      )
        .span(8)
        .unit('cps')
        .targets(
          refIds(
            query(rate('tcpstate_syn_queue_drops_total'), '{{instance}} SYN queue drops'),
            query(rate('tcpstate_syn_retransmits_total'), '{{instance}} SYN retransmits'),
          ),
        )
        .links([runbookLink('TCPSynQueueDrops')]),
    ],
  };
}
