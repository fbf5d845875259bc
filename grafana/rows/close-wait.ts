/** Row "CLOSE_WAIT by port and process": which port, which owner (unit, container, pod) and which process hold CLOSE_WAIT sockets. */
import { ALERT_THRESHOLDS as T } from '../alert-thresholds.js';
import { alertSteps, runbookLink, thresholdLines, timeseriesPanel, type DashboardRow } from '../panels.js';
import { PORT_SEL, SEL, ownerName, query, refIds } from '../queries.js';

export function closeWaitRow(): DashboardRow {
  return {
    title: 'CLOSE_WAIT by port and process',
    panels: [
      timeseriesPanel(
        'CLOSE_WAIT by port',
        `CLOSE_WAIT sockets per local port: the peer closed, the application on this port never called close(). TCPCloseWaitLeak fires when a port stays at ${T.closeWait.value} or more without draining.`,
      )
        .span(12)
        .targets(refIds(query(`sum by (instance, port) (tcpstate_port_sockets{${PORT_SEL}, state="close_wait"})`, '{{instance}} :{{port}}')))
        .thresholds(alertSteps(T.closeWait))
        .thresholdsStyle(thresholdLines('dashed'))
        .links([runbookLink(T.closeWait.alert)]),
      timeseriesPanel(
        'CLOSE_WAIT by owner (unit, container, pod)',
        'CLOSE_WAIT sockets per owning cgroup, on by default with the netlink source: the systemd unit, the container, or the Kubernetes container in its pod. Tells a sidecar from its application, and two pods of one program apart. Owners beyond --collector.cgroup.top are "other"; "unknown" holds sockets of cgroups removed since, or not walked yet.',
      )
        .span(12)
        .targets(
          refIds(
            query(
              ownerName(`sum by (instance, namespace, pod, container, unit) (tcpstate_owner_sockets{${SEL}, state="close_wait"}) > 0`),
              '{{instance}} {{owner}}',
            ),
          ),
        )
        .thresholds(alertSteps(T.closeWait))
        .thresholdsStyle(thresholdLines('dashed'))
        .links([runbookLink(T.closeWait.alert)]),
      timeseriesPanel(
        'CLOSE_WAIT by owner and port',
        'CLOSE_WAIT sockets per owner and listening port: which unit, container or pod holds the leak on which of its ports (server side; a client-side CLOSE_WAIT shows only in the panel on the left). Pairs beyond --collector.cgroup.max-ports are port "other".',
      )
        .span(12)
        .targets(refIds(query(ownerName(`sum by (instance, namespace, pod, container, unit, port) (tcpstate_owner_port_sockets{${PORT_SEL}, state="close_wait"}) > 0`), '{{instance}} {{owner}} :{{port}}')))
        .thresholds(alertSteps(T.closeWait))
        .thresholdsStyle(thresholdLines('dashed'))
        .links([runbookLink(T.closeWait.alert)]),
      timeseriesPanel(
        'CLOSE_WAIT by process',
        'CLOSE_WAIT sockets per owning process name (comm), to find who leaks. Needs --collector.process (opt-in) and permission to read other processes\' /proc/<pid>/fd; without it the sockets show as "unknown".',
      )
        .span(12)
        .targets(refIds(query(`sum by (instance, process) (tcpstate_process_sockets{${SEL}, state="close_wait"})`, '{{instance}} {{process}}')))
        .thresholds(alertSteps(T.closeWait))
        .thresholdsStyle(thresholdLines('dashed'))
        .links([runbookLink(T.closeWait.alert)]),
    ],
  };
}
