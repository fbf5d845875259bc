import type { Finding } from '../finding.js';
import type { Observation } from '../observation.js';
import { checkCloseWait } from './close-wait.js';
import { checkCollectors } from './collectors.js';
import { checkHalfOpen, checkKeepalive } from './keepalive.js';
import { checkOrphans, checkTcpMemory } from './kernel-limits.js';
import { checkListenQueue } from './listen-queue.js';
import { checkSynFlood, checkSynQueueDrops, checkSyncookies } from './syn.js';
import { checkEphemeralPorts, checkTimeWaitBuckets, checkTwRecycle } from './time-wait.js';
import { checkResets, checkRetransmissions } from './traffic.js';
import { checkUpstreams } from './upstreams.js';

/** A pure check: an observation in, one or more findings out (ok or skipped when nothing is wrong). */
export type Check = (observation: Observation) => Finding[];

/**
 * Every check, in the order the report lists findings of equal severity: the exporter's own
 * health first (it decides what the others could see), then the path of a connection from SYN
 * to close, then host-wide limits, traffic and settings.
 */
export const CHECKS: readonly Check[] = [
  checkCollectors,
  checkSynFlood,
  checkSynQueueDrops,
  checkListenQueue,
  checkCloseWait,
  checkEphemeralPorts,
  checkTimeWaitBuckets,
  checkTwRecycle,
  checkOrphans,
  checkTcpMemory,
  checkRetransmissions,
  checkUpstreams,
  checkResets,
  checkHalfOpen,
  checkKeepalive,
  checkSyncookies,
];

export function runChecks(observation: Observation, checks: readonly Check[] = CHECKS): Finding[] {
  return checks.flatMap((check) => check(observation));
}
