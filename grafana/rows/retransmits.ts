/** Row "Retransmissions, resets and aborts". */
import { ALERT_THRESHOLDS as T } from '../alert-thresholds.js';
import { alertSteps, runbookLink, thresholdLines, timeseriesPanel, type DashboardRow } from '../panels.js';
import { perInstance, query, rate, refIds } from '../queries.js';

export function retransmitsRow(): DashboardRow {
  return {
    title: 'Retransmissions, resets and aborts',
    panels: [
      timeseriesPanel(
        'Retransmitted share of segments sent',
        `Retransmitted segments per segment sent. Healthy hosts stay well under 1%. TCPRetransmissionRateHigh fires above ${T.retransmitRatio.value * 100}% with more than 100 segments/s sent.`,
      )
        .span(12)
        .unit('percentunit')
        .targets(refIds(query(`${rate('tcpstate_retransmitted_segments_total')} / ${rate('tcpstate_segments_sent_total')}`, '{{instance}}')))
        .thresholds(alertSteps(T.retransmitRatio))
        .thresholdsStyle(thresholdLines('line+area'))
        .links([runbookLink(T.retransmitRatio.alert)]),
      timeseriesPanel(
        'Segments',
        'TCP segments received, sent and retransmitted per second, and segments received with errors (bad checksum and the like).',
      )
        .span(12)
        .unit('pps')
        .targets(
          refIds(
            query(rate('tcpstate_segments_received_total'), '{{instance}} received'),
            query(rate('tcpstate_segments_sent_total'), '{{instance}} sent'),
            query(rate('tcpstate_retransmitted_segments_total'), '{{instance}} retransmitted'),
            query(rate('tcpstate_receive_errors_total'), '{{instance}} receive errors'),
          ),
        ),
      timeseriesPanel(
        'Retransmitting sockets and timeouts',
        'Sockets retransmitting right now (a retransmit timer with at least one retransmission), and retransmission timeouts per second (TCPTimeouts).',
      )
        .span(8)
        .targets(
          refIds(
            query(perInstance('tcpstate_retransmitting_sockets'), '{{instance}} sockets retransmitting'),
            query(rate('tcpstate_timeouts_total'), '{{instance}} timeouts/s'),
          ),
        )
        .overrideByRegexp('.*timeouts/s', [{ id: 'unit', value: 'cps' }]),
      timeseriesPanel(
        'Resets',
        `RST segments sent per second (TCPResetStorm fires above ${T.resetsSent.value}/s when that is 5× the host's daily median), and connections reset while ESTABLISHED or CLOSE_WAIT.`,
      )
        .span(8)
        .unit('cps')
        .targets(
          refIds(query(rate('tcpstate_resets_sent_total'), '{{instance}} RST sent'), query(rate('tcpstate_established_resets_total'), '{{instance}} established reset')),
        )
        .thresholds(alertSteps(T.resetsSent))
        .thresholdsStyle(thresholdLines('dashed'))
        .links([runbookLink(T.resetsSent.alert)]),
      timeseriesPanel(
        'Aborts by reason',
        'Connections the kernel aborted with an RST, by reason: data (closed with unread data), close, memory, timeout, linger, failed (the RST could not be sent).',
      )
        .span(8)
        .unit('cps')
        .targets(refIds(query(rate('tcpstate_aborts_total', 'instance, reason'), '{{instance}} {{reason}}'))),
    ],
  };
}
