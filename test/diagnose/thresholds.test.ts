import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runChecks } from '../../src/diagnose/checks/index.js';
import { THRESHOLDS } from '../../src/diagnose/thresholds.js';
import { oneLook } from './snapshots.js';

interface Rule {
  alert?: string;
  expr: string;
  for?: string;
}

const rules = (parse(readFileSync(new URL('../../alerts/tcpstate.rules.yml', import.meta.url), 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((group) => group.rules);
const runbooks = readFileSync(new URL('../../docs/runbooks.md', import.meta.url), 'utf8');

/** Every expr and `for` of the alert's rules (an alert may have a warning and a critical rule). */
function alert(name: string): { exprs: string; fors: string[] } {
  const found = rules.filter((rule) => rule.alert === name);
  expect(found.length, `alert ${name} in the rules file`).toBeGreaterThan(0);
  return { exprs: found.map((rule) => rule.expr.replace(/\s+/g, ' ')).join(' | '), fors: found.map((rule) => rule.for ?? '') };
}

/**
 * diagnose's numbers are the alerts' defaults. When someone tunes the rules file, this fails
 * and points at src/diagnose/thresholds.ts.
 */
describe('THRESHOLDS equal the alert defaults in alerts/tcpstate.rules.yml', () => {
  it.each([
    ['TCPSynFlood', [`> ${THRESHOLDS.synFlood.portBacklogShare} * tcpstate_listen_queue_max`, `syncookies_sent:rate5m > ${THRESHOLDS.synFlood.cookiesPerSecond}`, `backlog_usage:ratio > ${THRESHOLDS.synFlood.backlogShare}`]],
    ['TCPSynQueueDrops', [`rate5m > ${THRESHOLDS.synQueueDrops.perSecond}`]],
    ['TCPListenQueueOverflow', [`> ${THRESHOLDS.listenQueue.queueShare})`, `rate5m > ${THRESHOLDS.listenQueue.perSecond})`]],
    ['TCPCloseWaitLeak', [`>= ${THRESHOLDS.closeWait.floor}`]],
    ['TCPEphemeralPortExhaustion', [`> ${THRESHOLDS.ephemeralPorts.warningShare}`, `> ${THRESHOLDS.ephemeralPorts.criticalShare}`]],
    ['TCPTimeWaitBucketsOverflow', [`rate5m > ${THRESHOLDS.timeWaitOverflow.perSecond}`]],
    ['TCPOrphanSocketsHigh', [`> ${THRESHOLDS.orphans.limitShare}`]],
    ['TCPMemoryPressure', [`pressure_usage:ratio > ${THRESHOLDS.tcpMemory.pressureShare}`, `high_usage:ratio > ${THRESHOLDS.tcpMemory.highShare}`]],
    ['TCPRetransmissionRateHigh', [`ratio_rate5m > ${THRESHOLDS.retransmissions.share}`, `rate5m > ${THRESHOLDS.retransmissions.minSentPerSecond}`]],
    ['TCPResetStorm', [`rate5m > ${THRESHOLDS.resets.floorPerSecond}`, `> ${THRESHOLDS.resets.baselineFactor} * quantile_over_time`]],
    ['TCPSyncookiesDisabled', [`== ${THRESHOLDS.syncookies.disabledValue}`]],
    ['TCPHalfOpenConnections', [`> ${THRESHOLDS.halfOpen.probingSockets}`]],
    [
      'TCPUpstreamRetransmissionRateHigh',
      [`) > ${THRESHOLDS.upstreamRetransmissions.share}`, `[10m]) > ${THRESHOLDS.upstreamRetransmissions.minSentPerSecond}`, `[10m]) >= ${THRESHOLDS.upstreamRetransmissions.minSockets}`],
    ],
    [
      'TCPUpstreamRTTHigh',
      [`> ${THRESHOLDS.upstreamRtt.factor} * quantile_over_time`, `> ${THRESHOLDS.upstreamRtt.floorSeconds}`, `"remote"} >= ${THRESHOLDS.upstreamRtt.minSockets}`],
    ],
    ['TCPListenerLossRecovery', [`) > ${THRESHOLDS.listenerLossRecovery.share}`, `[5m])) >= ${THRESHOLDS.listenerLossRecovery.minSockets}`]],
    // The per-namespace alerts use the host alerts' numbers.
    ['TCPPodSynFlood', [`(${THRESHOLDS.synFlood.portBacklogShare} * max without (port) (tcpstate_netns_listen_queue_max))`, `syncookies_sent:rate5m > ${THRESHOLDS.synFlood.cookiesPerSecond}`, `(${THRESHOLDS.synFlood.backlogShare} * tcpstate_sysctl`]],
    ['TCPPodListenQueueOverflow', [`> ${THRESHOLDS.listenQueue.queueShare})`, `rate5m > ${THRESHOLDS.listenQueue.perSecond})`]],
    ['TCPPodCloseWaitLeak', [`>= ${THRESHOLDS.closeWait.floor}`]],
    ['TCPPodRetransmissionRateHigh', [`ratio_rate5m > ${THRESHOLDS.retransmissions.share}`, `rate5m > ${THRESHOLDS.retransmissions.minSentPerSecond}`]],
    ['TCPPodResetStorm', [`rate5m > ${THRESHOLDS.resets.floorPerSecond}`, `> ${THRESHOLDS.resets.baselineFactor} * quantile_over_time`]],
  ] as const)('%s', (name, fragments) => {
    const { exprs } = alert(name);
    // The number must end where the fragment does: 0.9 must not match 0.95.
    for (const fragment of fragments) expect(exprs).toMatch(new RegExp(`${fragment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\d.])`));
  });

  it('each "sustained" note quotes the alert\'s for: durations', () => {
    const sustained: Record<string, string> = {
      TCPSynFlood: THRESHOLDS.synFlood.sustained,
      TCPSynQueueDrops: THRESHOLDS.synQueueDrops.sustained,
      TCPListenQueueOverflow: THRESHOLDS.listenQueue.sustained,
      TCPCloseWaitLeak: THRESHOLDS.closeWait.sustained,
      TCPEphemeralPortExhaustion: THRESHOLDS.ephemeralPorts.sustained,
      TCPTimeWaitBucketsOverflow: THRESHOLDS.timeWaitOverflow.sustained,
      TCPOrphanSocketsHigh: THRESHOLDS.orphans.sustained,
      TCPMemoryPressure: THRESHOLDS.tcpMemory.sustained,
      TCPRetransmissionRateHigh: THRESHOLDS.retransmissions.sustained,
      TCPResetStorm: THRESHOLDS.resets.sustained,
      TCPSyncookiesDisabled: THRESHOLDS.syncookies.sustained,
      TCPHalfOpenConnections: THRESHOLDS.halfOpen.sustained,
      TCPStateCollectorFailing: THRESHOLDS.collectors.sustained,
      TCPUpstreamRetransmissionRateHigh: THRESHOLDS.upstreamRetransmissions.sustained,
      TCPUpstreamRTTHigh: THRESHOLDS.upstreamRtt.sustained,
      TCPListenerLossRecovery: THRESHOLDS.listenerLossRecovery.sustained,
      TCPPodSynFlood: THRESHOLDS.synFlood.sustained,
      TCPPodListenQueueOverflow: THRESHOLDS.listenQueue.sustained,
      TCPPodCloseWaitLeak: THRESHOLDS.closeWait.sustained,
      TCPPodRetransmissionRateHigh: THRESHOLDS.retransmissions.sustained,
      TCPPodResetStorm: THRESHOLDS.resets.sustained,
    };
    for (const [name, note] of Object.entries(sustained)) {
      for (const duration of alert(name).fors) expect({ name, note }).toEqual({ name, note: expect.stringContaining(`for ${duration}`) });
    }
    expect(alert('TCPCloseWaitLeak').exprs).toContain('[10m]');
    expect(THRESHOLDS.closeWait.sustained).toContain('10m');
  });

  it('every check names an alert that exists and a runbook section that exists', () => {
    const findings = runChecks(oneLook());
    for (const finding of findings) {
      if (finding.alert !== undefined) alert(finding.alert);
      const anchor = finding.runbook?.replace('docs/runbooks.md#', '');
      expect(anchor, finding.check).toBeDefined();
      const headings = [...runbooks.matchAll(/^## (\S+)$/gm)].map((match) => match[1]!.toLowerCase());
      expect(headings, finding.check).toContain(anchor);
    }
  });
});
