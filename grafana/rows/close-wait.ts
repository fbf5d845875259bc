/** Row "CLOSE_WAIT by port and process": which port, and which process, holds CLOSE_WAIT sockets. */
import { ALERT_THRESHOLDS as T } from '../alert-thresholds.js';
import { alertSteps, runbookLink, thresholdLines, timeseriesPanel, type DashboardRow } from '../panels.js';
import { PORT_SEL, SEL, query, refIds } from '../queries.js';

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
