/** Row "Sysctl tunables": one table row per TCP sysctl, one column per instance. */
import { tablePanel, type DashboardRow } from '../panels.js';
import { SEL, refIds, tableQuery } from '../queries.js';

export function sysctlsRow(): DashboardRow {
  // Multi-value sysctls get one row per position, named name[index]; scalar ones keep their name.
  const named = `label_replace(label_replace(label_join(tcpstate_sysctl{${SEL}}, "sysctl", "#", "name", "index"), "sysctl", "$1[$2]", "sysctl", "(.+)#(.+)"), "sysctl", "$1", "sysctl", "(.+)#")`;
  return {
    title: 'Sysctl tunables',
    panels: [
      tablePanel(
        'TCP sysctls by instance',
        'The TCP tunables the exporter reads (plus any --collector.sysctl.include), one row per sysctl and one column per instance, as the kernel writes them. Multi-value sysctls show one row per position: tcp_mem[0..2] (pages), tcp_rmem/tcp_wmem[0..2] (bytes), ip_local_port_range[0..1].',
      )
        .span(24)
        .height(14)
        .targets(refIds(tableQuery(`max by (instance, sysctl) (${named})`)))
        .transformations([{ id: 'groupingToMatrix', options: { columnField: 'instance', rowField: 'sysctl', valueField: 'Value', emptyValue: 'empty' } }]),
    ],
  };
}
