import type { Finding } from './finding.js';
import type { Report } from './report.js';

/** Bump when a key is renamed or removed; adding keys keeps the version. */
export const JSON_SCHEMA = 'tcpstate-exporter.diagnose/v1';

/**
 * The report for machines. Every key is always present (null, not absent, when unknown), so a
 * consumer can rely on the shape; test/diagnose/render.test.ts pins it.
 */
export function toJson(report: Report): Record<string, unknown> {
  return {
    schema: JSON_SCHEMA,
    host: report.host,
    taken_at: report.takenAt.toISOString(),
    snapshots: report.snapshots,
    interval_seconds: report.intervalSeconds ?? null,
    source: report.source,
    status: report.status,
    exit_code: report.exitCode,
    counts: report.counts,
    collectors: report.collectors.map((c) => ({ name: c.name, ok: c.ok, error: c.error ?? null, seconds: c.seconds })),
    findings: report.findings.map(findingJson),
    states: report.states?.map((row) => ({ state: row.state, ipv4: row.ipv4 ?? null, ipv6: row.ipv6 ?? null, total: row.total })) ?? null,
    top_ports: report.topPorts.map((row) => ({
      port: row.port,
      sockets: row.sockets,
      states: row.states,
      accept_queue: row.acceptQueue === undefined ? null : { length: row.acceptQueue.length, backlog: row.acceptQueue.backlog ?? null },
    })),
    top_processes: report.topProcesses?.map((row) => ({ process: row.process, sockets: row.sockets, states: row.states })) ?? null,
  };
}

function findingJson(finding: Finding): Record<string, unknown> {
  return {
    check: finding.check,
    alert: finding.alert ?? null,
    severity: finding.severity,
    headline: finding.headline,
    evidence: finding.evidence,
    remedy: finding.remedy === undefined ? null : { application: finding.remedy.application, kernel: finding.remedy.kernel },
    runbook: finding.runbook ?? null,
    labels: finding.labels,
    sustained: finding.sustained ?? null,
  };
}

export function renderJson(report: Report): string {
  return `${JSON.stringify(toJson(report), null, 2)}\n`;
}
