/** Row "Exporter": the exporter's own health. */
import { ALERT_THRESHOLDS as T } from '../alert-thresholds.js';
import { runbookLink, steps, tablePanel, thresholdLines, timeseriesPanel, type DashboardRow } from '../panels.js';
import { SEL, perInstance, query, refIds, tableQuery } from '../queries.js';

export function exporterRow(): DashboardRow {
  return {
    title: 'Exporter',
    panels: [
      timeseriesPanel(
        'Collector success',
        `Share of scrapes in which each collector succeeded. TCPStateCollectorFailing fires when it stays below ${T.collectorSuccess.value * 100}% over 15 minutes; the exporter logs one line per failure with the collector's name.`,
      )
        .span(6)
        .unit('percentunit')
        .max(1)
        .targets(refIds(query(`avg by (instance, collector) (avg_over_time(tcpstate_scrape_collector_success{${SEL}}[$__rate_interval]))`, '{{instance}} {{collector}}')))
        // Red below the alert's threshold: it fires on too little success, not too much.
        .thresholds(steps('red', ['green', T.collectorSuccess.value]))
        .thresholdsStyle(thresholdLines('area'))
        .links([runbookLink(T.collectorSuccess.alert)]),
      timeseriesPanel(
        'Collector duration',
        "Time each collector took in a scrape. The sockets collector grows with the number of sockets on the host (every network namespace shares the kernel's hash table).",
      )
        .span(6)
        .unit('s')
        .targets(refIds(query(`max by (instance, collector) (tcpstate_scrape_collector_duration_seconds{${SEL}})`, '{{instance}} {{collector}}'))),
      timeseriesPanel(
        'Processes the exporter could not read',
        'With --collector.process: processes whose /proc/<pid>/fd the exporter could not read in a scrape (no permission, or the process exited mid-walk). Their sockets count as process="unknown". Run the exporter as root (or with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH) to attribute them.',
      )
        .span(6)
        .targets(refIds(query(perInstance('tcpstate_process_unreadable'), '{{instance}}'))),
      tablePanel(
        'Exporter build',
        'Exporter version, Node.js version and the socket source in use (netlink is the fast path; procfs has no accept-queue limits).',
      )
        .span(6)
        .targets(refIds(tableQuery(`max by (instance, version, node_version, source) (tcpstate_build_info{${SEL}})`)))
        .transformations([
          { id: 'organize', options: { excludeByName: { Time: true, Value: true }, indexByName: { instance: 0, version: 1, node_version: 2, source: 3 }, renameByName: {} } },
        ]),
    ],
  };
}
