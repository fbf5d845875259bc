/**
 * Row "Pods and containers": the other network namespaces of each host (pods, containers,
 * `ip netns`), from the netns collector. Tables answer "which pods leak CLOSE_WAIT, overflow
 * accept queues, retransmit most", worst first; the last panels show how the collector read them.
 */
import { ALERT_THRESHOLDS as T } from '../alert-thresholds.js';
import { alertSteps, runbookLink, tablePanel, timeseriesPanel, type DashboardRow } from '../panels.js';
import { SEL, query, refIds, tableQuery } from '../queries.js';

/**
 * The pod row's matchers: another namespace's series (the host's have netns=""), not the sum of
 * the namespaces beyond --collector.netns.max-namespaces (netns="other", whose members change),
 * and the pods picked in $pod (a container or a bare namespace has pod="", which All's `.*` keeps).
 */
const POD_SEL = 'job=~"$job", instance=~"$instance", netns!~"|other", pod=~"$pod"';
/** The owner labels every pod table keeps, so a row says which pod (or container, or namespace). */
const OWNER = 'instance, namespace, pod, container, netns';
/** The ten worst, sorted (topk keeps the order Grafana's table shows). */
const worst = (expr: string): string => `sort_desc(topk(10, ${expr}))`;
/** Owner columns first, then the value, in every pod table. */
const ownerColumns = (value: string) => [
  {
    id: 'organize',
    options: {
      excludeByName: { Time: true },
      indexByName: { instance: 0, namespace: 1, pod: 2, container: 3, netns: 4 },
      renameByName: { Value: value },
    },
  },
];
/** One `owner` label for a legend: the pod (namespace and name), else the container, else the netns. */
const ownerLegend = (expr: string): string => `label_join(${expr}, "owner", " ", "namespace", "pod", "container", "netns")`;

export function podsRow(): DashboardRow {
  return {
    title: 'Pods and containers',
    panels: [
      tablePanel(
        'Pods leaking CLOSE_WAIT',
        `CLOSE_WAIT sockets per pod (or container, or network namespace) and listening port, the most first: the peer closed, the application in the pod never called close(). TCPPodCloseWaitLeak fires when one stays at ${T.closeWait.value} or more without draining. port "other" holds the rest, client-side CLOSE_WAIT included.`,
      )
        .span(12)
        .targets(refIds(tableQuery(worst(`sum by (${OWNER}, port) (tcpstate_netns_close_wait_sockets{${POD_SEL}}) > 0`))))
        .thresholds(alertSteps(T.closeWait))
        .transformations(ownerColumns('CLOSE_WAIT'))
        .links([runbookLink('TCPPodCloseWaitLeak')]),
      tablePanel(
        'Pods retransmitting most',
        `Share of each pod's segments sent that were retransmissions (its own kernel stack's counters), the most first. TCPPodRetransmissionRateHigh fires above ${T.retransmitRatio.value * 100}% with traffic. Segments sent per second are floored at 1, so that an idle pod reads 0 rather than nothing.`,
      )
        .span(12)
        .unit('percentunit')
        .targets(
          refIds(
            tableQuery(
              worst(
                `sum by (${OWNER}) (rate(tcpstate_retransmitted_segments_total{${POD_SEL}}[$__rate_interval])) / clamp_min(sum by (${OWNER}) (rate(tcpstate_segments_sent_total{${POD_SEL}}[$__rate_interval])), 1)`,
              ),
            ),
          ),
        )
        .thresholds(alertSteps(T.retransmitRatio))
        .transformations(ownerColumns('Retransmitted'))
        .links([runbookLink('TCPPodRetransmissionRateHigh')]),
      tablePanel(
        'Pods overflowing accept queues',
        "Completed handshakes each pod's kernel dropped per second because an accept queue was full (TcpExtListenOverflows in the pod's own stack), the most first. TCPPodListenQueueOverflow fires when they keep coming for 10 minutes.",
      )
        .span(12)
        .unit('ops')
        .targets(refIds(tableQuery(worst(`sum by (${OWNER}) (rate(tcpstate_listen_overflows_total{${POD_SEL}}[$__rate_interval]))`))))
        .transformations(ownerColumns('Overflows/s'))
        .links([runbookLink('TCPPodListenQueueOverflow')]),
      tablePanel(
        'Fullest accept queues in pods',
        `Connections waiting in each listening port's accept queue, as a share of its backlog, the fullest first (netlink tables only: procfs knows no backlog). Above ${T.listenQueueFill.value * 100}%, overflows are near.`,
      )
        .span(12)
        .unit('percentunit')
        .targets(refIds(tableQuery(worst(`max by (${OWNER}, port) (tcpstate_netns_listen_queue_length{${POD_SEL}} / tcpstate_netns_listen_queue_max{${POD_SEL}})`))))
        .thresholds(alertSteps(T.listenQueueFill))
        .transformations(ownerColumns('Queue fill'))
        .links([runbookLink('TCPPodListenQueueOverflow')]),
      timeseriesPanel(
        'Sockets per pod',
        'Sockets in each pod (or container, or network namespace), all states and both families: the ten busiest. A pod restarted gets a new network namespace, so a new series.',
      )
        .span(12)
        .targets(refIds(query(ownerLegend(`topk(10, sum by (${OWNER}) (tcpstate_netns_sockets{${POD_SEL}}))`), '{{instance}} {{owner}}'))),
      tablePanel(
        'Namespace tables: how read, how old',
        "How the exporter read each namespace's socket table (method: netlink or procfs), whether the namespace has a TCP hash table of its own (own_hash; see the tcp_child_ehash_entries advice in docs/configuration.md), and the age of the figures shown: 0 when read in the last scrape, more when the per-scrape budget skipped it.",
      )
        .span(12)
        .unit('s')
        .targets(
          refIds(
            tableQuery(
              `max by (${OWNER}, method, own_hash) (tcpstate_netns_table_info{${POD_SEL}}) * on (instance, netns) group_left () max by (instance, netns) (tcpstate_netns_table_age_seconds{${POD_SEL}})`,
            ),
          ),
        )
        .transformations(ownerColumns('Age')),
      timeseriesPanel(
        'Namespaces found and tables read',
        'Network namespaces the exporter found besides its own, by what became of them (reported, folded into netns="other" by --collector.netns.max-namespaces, without a process to read through, unreadable), and the socket tables of each scrape (dumped, skipped by the budget, failed because the namespace went away).',
      )
        .span(12)
        .targets(
          refIds(
            query(`max by (instance, state) (tcpstate_netns_namespaces{${SEL}})`, '{{instance}} namespaces {{state}}'),
            query(`max by (instance, outcome) (tcpstate_netns_tables{${SEL}})`, '{{instance}} tables {{outcome}}'),
          ),
        ),
      timeseriesPanel(
        'Namespace collector time',
        'Time the netns collector spent per scrape finding the namespaces, reading their counters and dumping their tables. The dumps cost in proportion to namespaces × every socket on the host (they share one hash table) unless the namespaces have their own (tcp_child_ehash_entries); --collector.netns.table-budget bounds them.',
      )
        .span(12)
        .unit('s')
        .targets(
          refIds(
            query(`max by (instance) (tcpstate_netns_discovery_seconds{${SEL}})`, '{{instance}} discovery'),
            query(`max by (instance) (tcpstate_netns_counters_read_seconds{${SEL}})`, '{{instance}} counter reads'),
            query(`max by (instance) (tcpstate_netns_table_dump_seconds{${SEL}})`, '{{instance}} table dumps'),
          ),
        ),
    ],
  };
}
