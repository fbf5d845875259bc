/** Row "Accept queues by port": queue length against the backlog, fill, overflows, established per port. */
import { ALERT_THRESHOLDS as T } from '../alert-thresholds.js';
import { alertSteps, limitDashed, runbookLink, thresholdLines, timeseriesPanel, type DashboardRow } from '../panels.js';
import { PORT_SEL, ownerName, query, rate, refIds } from '../queries.js';

export function acceptQueuesRow(): DashboardRow {
  const queued = `sum by (instance, port) (tcpstate_listen_queue_length{${PORT_SEL}})`;
  const backlog = `sum by (instance, port) (tcpstate_listen_queue_max{${PORT_SEL}})`;
  return {
    title: 'Accept queues by port',
    panels: [
      timeseriesPanel(
        'Accept queue length vs backlog',
        'Completed handshakes waiting for accept(), per listening port, with the listen() backlog (dashed; netlink source only). A queue at its limit makes the kernel drop new handshakes.',
      )
        .span(12)
        .targets(refIds(query(queued, '{{instance}} :{{port}} queued'), query(backlog, '{{instance}} :{{port}} backlog limit')))
        .withOverride(limitDashed()),
      timeseriesPanel(
        'Accept queue fill',
        `Accept-queue length as a share of its backlog, per port (netlink source only). TCPListenQueueOverflow names the ports above ${T.listenQueueFill.value * 100}% while overflows happen.`,
      )
        .span(12)
        .unit('percentunit')
        .targets(refIds(query(`${queued} / ${backlog}`, '{{instance}} :{{port}}')))
        .thresholds(alertSteps(T.listenQueueFill))
        .thresholdsStyle(thresholdLines('line+area'))
        .links([runbookLink(T.listenQueueFill.alert)]),
      timeseriesPanel(
        'Accept queue overflows and listen drops',
        'Handshakes dropped because an accept queue was full (ListenOverflows; TCPListenQueueOverflow fires on any that keep coming), and every SYN or handshake dropped at a listener (ListenDrops, overflows included).',
      )
        .span(12)
        .unit('cps')
        .targets(refIds(query(rate('tcpstate_listen_overflows_total'), '{{instance}} overflows'), query(rate('tcpstate_listen_drops_total'), '{{instance}} drops')))
        .links([runbookLink(T.listenQueueFill.alert)]),
      timeseriesPanel(
        'Accept queue fill by owner',
        'Accept-queue length as a share of its backlog per owning unit, container or pod and port (cgroup collector, netlink source): which container does not accept() fast enough, also when two owners share a port with SO_REUSEPORT.',
      )
        .span(12)
        .unit('percentunit')
        .targets(
          refIds(
            query(
              ownerName(`sum by (instance, namespace, pod, container, unit, port) (tcpstate_owner_listen_queue_length{${PORT_SEL}}) / sum by (instance, namespace, pod, container, unit, port) (tcpstate_owner_listen_queue_max{${PORT_SEL}})`),
              '{{instance}} {{owner}} :{{port}}',
            ),
          ),
        )
        .thresholds(alertSteps(T.listenQueueFill))
        .thresholdsStyle(thresholdLines('line+area'))
        .links([runbookLink(T.listenQueueFill.alert)]),
      timeseriesPanel(
        'Established connections by port',
        'Established connections per watched local port (every listening port plus --collector.sockets.ports; ports beyond the cap are summed into "other").',
      )
        .span(12)
        .targets(refIds(query(`sum by (instance, port) (tcpstate_port_sockets{${PORT_SEL}, state="established"})`, '{{instance}} :{{port}}'))),
    ],
  };
}
