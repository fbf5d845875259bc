import { healthy, identity, problem, type Finding, type Remedy } from '../finding.js';
import type { Observation } from '../observation.js';
import type { CollectorOutcome } from '../snapshot.js';
import { THRESHOLDS } from '../thresholds.js';

const COLLECTORS = identity('collectors', 'TCPStateCollectorFailing');

const REMEDY: Remedy = {
  application: 'Point --path.procfs at the host\'s /proc (in a container, mount it there); fix or drop a --collector.sysctl.include that cannot be parsed; turn off a collector this host does not need with --no-collector.NAME.',
  kernel: 'None; if netlink socket diagnostics are refused (seccomp, a sandbox), use --collector.sockets.source=procfs.',
};

/**
 * TCPStateCollectorFailing: collectors that failed in either snapshot. One finding for all of
 * them: a wrong --path.procfs fails several at once, and one fix applies.
 */
export function checkCollectors(observation: Observation): Finding[] {
  const { current, previous } = observation;
  // The latest failure of each collector; a failure in either look counts.
  const failed = new Map<string, CollectorOutcome>();
  for (const outcome of [...(previous?.collectors ?? []), ...current.collectors]) if (!outcome.ok) failed.set(outcome.name, outcome);
  const names = current.collectors.map((outcome) => outcome.name).filter((name) => failed.has(name));
  if (names.length > 0) {
    const headline = names.length === 1 ? `Collector ${names[0]} failed` : `${names.length} collectors failed (${names.join(', ')})`;
    return [
      problem(COLLECTORS, 'warning', `${headline}: their metrics are missing and the checks that need them were not run`, {
        evidence: names.map((name) => `${name}: ${failed.get(name)?.error ?? 'unknown error'}`),
        remedy: REMEDY,
        // The alert has one series per collector; a comma-separated list keeps one finding.
        labels: { collector: names.join(',') },
        sustained: THRESHOLDS.collectors.sustained,
      }),
    ];
  }
  const all = current.collectors.map((outcome) => outcome.name).join(', ');
  return [healthy(COLLECTORS, `Collectors: all ${current.collectors.length} succeeded (${all}; socket source ${current.source})`)];
}
