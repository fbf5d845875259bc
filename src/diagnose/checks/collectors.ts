import { healthy, identity, problem, type Finding, type Remedy } from '../finding.js';
import type { Observation } from '../observation.js';
import type { CollectorOutcome } from '../snapshot.js';
import { THRESHOLDS } from '../thresholds.js';

const COLLECTORS = identity('collectors', 'TCPStateCollectorFailing');

const REMEDY: Remedy = {
  application: 'Point --path.procfs at the host\'s /proc (in a container, mount it there); fix or drop a --collector.sysctl.include that cannot be parsed; turn off a collector this host does not need with --no-collector.NAME.',
  kernel: 'None; if netlink socket diagnostics are refused (seccomp, a sandbox), use --collector.sockets.source=procfs.',
};

/** TCPStateCollectorFailing: a collector that failed in either snapshot; the checks that need it were skipped. */
export function checkCollectors(observation: Observation): Finding[] {
  const { current, previous } = observation;
  // The latest failure of each collector, in list order; a failure in either look counts.
  const failed = new Map<string, CollectorOutcome>();
  for (const outcome of [...(previous?.collectors ?? []), ...current.collectors]) if (!outcome.ok) failed.set(outcome.name, outcome);
  const findings = current.collectors
    .filter((outcome) => failed.has(outcome.name))
    .map(({ name }) => {
      const error = failed.get(name)?.error ?? 'unknown error';
      return problem(COLLECTORS, 'warning', `Collector ${name} failed: its metrics are missing and the checks that need them were skipped`, {
        evidence: [`error: ${error}`],
        remedy: REMEDY,
        labels: { collector: name },
        sustained: THRESHOLDS.collectors.sustained,
      });
    });
  if (findings.length > 0) return findings;
  const names = current.collectors.map((outcome) => outcome.name).join(', ');
  return [healthy(COLLECTORS, `Collectors: all ${current.collectors.length} succeeded (${names}; socket source ${current.source})`)];
}
