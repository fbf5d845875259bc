/**
 * critical, warning and info follow the alerts' severities; ok means the check ran and found
 * nothing; skipped means it could not run (a collector off or failing, a sysctl not visible from
 * this network namespace, no rates with one snapshot), which must never read as healthy.
 */
export type Severity = 'critical' | 'warning' | 'info' | 'ok' | 'skipped';

/** In report order: the worst first. */
export const SEVERITIES: readonly Severity[] = ['critical', 'warning', 'info', 'ok', 'skipped'];

export interface Remedy {
  /** What to change in the application (or its deployment). */
  readonly application: string;
  /** Which kernel tunable to change, if any. */
  readonly kernel: string;
}

export interface Finding {
  /** Stable identifier of the check, e.g. "close_wait"; the JSON format keys on it. */
  readonly check: string;
  /** The alert this check mirrors, or undefined for checks without one. */
  readonly alert: string | undefined;
  readonly severity: Severity;
  /** One line: what is wrong (or, for ok/skipped, what was looked at). */
  readonly headline: string;
  /** The numbers behind the headline, one fact per line. */
  readonly evidence: readonly string[];
  /** What to change; only for critical, warning and info. */
  readonly remedy: Remedy | undefined;
  /** `docs/runbooks.md#<alert-slug>`. */
  readonly runbook: string | undefined;
  /** Labels that locate the problem (port, process), for machines. */
  readonly labels: Readonly<Record<string, string>>;
  /**
   * How long the alert waits before it fires (its `for:`), which one look cannot show; the
   * report tells the reader to check the dashboard and alerts. Undefined when it does not apply.
   */
  readonly sustained: string | undefined;
}

/** `docs/runbooks.md#tcpclosewaitleak` for TCPCloseWaitLeak: GitHub's anchor for the section. */
export function runbookAnchor(alert: string): string {
  return `docs/runbooks.md#${alert.toLowerCase()}`;
}

/** The parts every check sets for all its findings. */
export interface CheckIdentity {
  readonly check: string;
  readonly alert: string | undefined;
  readonly runbook: string | undefined;
}

export function identity(check: string, alert: string | undefined, runbookAlert: string | undefined = alert): CheckIdentity {
  return { check, alert, runbook: runbookAlert === undefined ? undefined : runbookAnchor(runbookAlert) };
}

/** A problem: critical, warning or info, with a remedy. */
export function problem(
  id: CheckIdentity,
  severity: 'critical' | 'warning' | 'info',
  headline: string,
  details: { evidence: readonly string[]; remedy: Remedy; labels?: Readonly<Record<string, string>>; sustained?: string | undefined },
): Finding {
  return { ...id, severity, headline, evidence: details.evidence, remedy: details.remedy, labels: details.labels ?? {}, sustained: details.sustained };
}

/** The check ran and found nothing to change. */
export function healthy(id: CheckIdentity, headline: string, evidence: readonly string[] = []): Finding {
  return { ...id, severity: 'ok', headline, evidence, remedy: undefined, labels: {}, sustained: undefined };
}

/** The check could not run; `reason` says why and how to make it run. */
export function skipped(id: CheckIdentity, what: string, reason: string, evidence: readonly string[] = []): Finding {
  return { ...id, severity: 'skipped', headline: `${what}: not checked, ${reason}`, evidence, remedy: undefined, labels: {}, sustained: undefined };
}
