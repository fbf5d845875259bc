/**
 * The alert thresholds the panels colour by. The numbers are not written here: they come from
 * src/diagnose/thresholds.ts, the one module that diagnose, the dashboard and the tests share.
 * This file adds what a panel needs beyond the number: which alert, which severity (the colour)
 * and the comparison, which test/grafana/dashboard.test.ts finds in alerts/tcpstate.rules.yml.
 */
import { THRESHOLDS } from '../src/diagnose/thresholds.js';

export interface AlertThreshold {
  /** The alert whose expression compares with this number. */
  readonly alert: string;
  readonly severity: 'critical' | 'warning' | 'info';
  /** The comparison as written in the rule, e.g. '>' for `... > 0.25`. */
  readonly op: '>' | '>=' | '<' | '==';
  readonly value: number;
}

export const ALERT_THRESHOLDS = {
  synBacklog: { alert: 'TCPSynFlood', severity: 'critical', op: '>', value: THRESHOLDS.synFlood.backlogShare },
  synPortBacklog: { alert: 'TCPSynFlood', severity: 'critical', op: '>', value: THRESHOLDS.synFlood.portBacklogShare },
  synCookies: { alert: 'TCPSynFlood', severity: 'critical', op: '>', value: THRESHOLDS.synFlood.cookiesPerSecond },
  listenQueueFill: { alert: 'TCPListenQueueOverflow', severity: 'warning', op: '>', value: THRESHOLDS.listenQueue.queueShare },
  closeWait: { alert: 'TCPCloseWaitLeak', severity: 'warning', op: '>=', value: THRESHOLDS.closeWait.floor },
  ephemeralWarning: { alert: 'TCPEphemeralPortExhaustion', severity: 'warning', op: '>', value: THRESHOLDS.ephemeralPorts.warningShare },
  ephemeralCritical: { alert: 'TCPEphemeralPortExhaustion', severity: 'critical', op: '>', value: THRESHOLDS.ephemeralPorts.criticalShare },
  orphans: { alert: 'TCPOrphanSocketsHigh', severity: 'warning', op: '>', value: THRESHOLDS.orphans.limitShare },
  memoryPressure: { alert: 'TCPMemoryPressure', severity: 'warning', op: '>', value: THRESHOLDS.tcpMemory.pressureShare },
  memoryHigh: { alert: 'TCPMemoryPressure', severity: 'critical', op: '>', value: THRESHOLDS.tcpMemory.highShare },
  retransmitRatio: { alert: 'TCPRetransmissionRateHigh', severity: 'warning', op: '>', value: THRESHOLDS.retransmissions.share },
  resetsSent: { alert: 'TCPResetStorm', severity: 'warning', op: '>', value: THRESHOLDS.resets.floorPerSecond },
  syncookies: { alert: 'TCPSyncookiesDisabled', severity: 'info', op: '==', value: THRESHOLDS.syncookies.disabledValue },
  halfOpen: { alert: 'TCPHalfOpenConnections', severity: 'warning', op: '>', value: THRESHOLDS.halfOpen.probingSockets },
  collectorSuccess: { alert: 'TCPStateCollectorFailing', severity: 'warning', op: '<', value: THRESHOLDS.collectors.successShare },
  upstreamRetransmitShare: { alert: 'TCPUpstreamRetransmissionRateHigh', severity: 'warning', op: '>', value: THRESHOLDS.upstreamRetransmissions.share },
  listenerLossRecoveryShare: { alert: 'TCPListenerLossRecovery', severity: 'warning', op: '>', value: THRESHOLDS.listenerLossRecovery.share },
} as const satisfies Record<string, AlertThreshold>;
