import { TCP_STATES, type TcpStateName } from '../kernel/tcp.js';
import { SEVERITIES, type Finding, type Severity } from './finding.js';
import { collectorOutcome, select, sumBy, type CollectorOutcome, type Snapshot } from './snapshot.js';
import { intervalSeconds, type Observation } from './observation.js';

/**
 * diagnose's exit codes. 1 (runtime failure) and 2 (usage error) are taken by the CLI, so the
 * nagios-style "warning" and "critical" move up to 3 and 4. Info findings do not change it.
 */
export const DIAGNOSE_EXIT_CODES = { healthy: 0, warning: 3, critical: 4 } as const;
export type DiagnoseStatus = keyof typeof DIAGNOSE_EXIT_CODES;

export interface StateRow {
  readonly state: TcpStateName;
  /** undefined when the kernel has no such family (no IPv6). */
  readonly ipv4: number | undefined;
  readonly ipv6: number | undefined;
  readonly total: number;
}

export interface PortRow {
  readonly port: string;
  readonly sockets: number;
  /** Sockets per state, states with none left out. */
  readonly states: Readonly<Partial<Record<TcpStateName, number>>>;
  /** For a listening port: connections waiting for accept(), and the backlog when the source knows it. */
  readonly acceptQueue: { readonly length: number; readonly backlog: number | undefined } | undefined;
}

export interface ProcessRow {
  readonly process: string;
  readonly sockets: number;
  readonly states: Readonly<Partial<Record<TcpStateName, number>>>;
}

export interface Report {
  readonly host: string;
  /** When the last snapshot was taken. */
  readonly takenAt: Date;
  readonly snapshots: 1 | 2;
  /** Measured seconds between the two snapshots; undefined with one. */
  readonly intervalSeconds: number | undefined;
  readonly source: string;
  readonly collectors: readonly CollectorOutcome[];
  readonly status: DiagnoseStatus;
  readonly exitCode: (typeof DIAGNOSE_EXIT_CODES)[DiagnoseStatus];
  readonly counts: Readonly<Record<Severity, number>>;
  /** Worst first; within a severity, in check order. */
  readonly findings: readonly Finding[];
  /** undefined when the sockets collector did not report. */
  readonly states: readonly StateRow[] | undefined;
  readonly topPorts: readonly PortRow[];
  /** undefined when the process collector is off or failed. */
  readonly topProcesses: readonly ProcessRow[] | undefined;
}

const TOP_PORTS = 10;
const TOP_PROCESSES = 5;

export function statusOf(findings: readonly Finding[]): DiagnoseStatus {
  if (findings.some((finding) => finding.severity === 'critical')) return 'critical';
  if (findings.some((finding) => finding.severity === 'warning')) return 'warning';
  return 'healthy';
}

function stateRows(snapshot: Snapshot): StateRow[] | undefined {
  if (!snapshot.metrics.has('tcpstate_sockets')) return undefined;
  return TCP_STATES.map((state) => {
    const byFamily = sumBy(snapshot, 'tcpstate_sockets', 'family', { state });
    const ipv4 = byFamily.get('ipv4');
    const ipv6 = byFamily.get('ipv6');
    return { state, ipv4, ipv6, total: (ipv4 ?? 0) + (ipv6 ?? 0) };
  });
}

/** label value -> state -> sockets, for tcpstate_port_sockets and tcpstate_process_sockets. */
function statesBy(snapshot: Snapshot, metric: string, label: string): Map<string, Partial<Record<TcpStateName, number>>> {
  const table = new Map<string, Partial<Record<TcpStateName, number>>>();
  for (const sample of select(snapshot, metric)) {
    const key = sample.labels[label];
    const state = sample.labels.state as TcpStateName | undefined;
    if (key === undefined || state === undefined || sample.value === 0) continue;
    const row = table.get(key) ?? {};
    row[state] = (row[state] ?? 0) + sample.value;
    table.set(key, row);
  }
  return table;
}

function total(states: Partial<Record<TcpStateName, number>>): number {
  return Object.values(states).reduce((sum, n) => sum + n, 0);
}

/** The busiest entries first; ties in name order so the report is stable. */
function ranked(table: Map<string, Partial<Record<TcpStateName, number>>>, limit: number): Array<{ name: string; sockets: number; states: Partial<Record<TcpStateName, number>> }> {
  return [...table]
    .map(([name, states]) => ({ name, sockets: total(states), states }))
    .sort((a, b) => b.sockets - a.sockets || (a.name < b.name ? -1 : 1))
    .slice(0, limit);
}

function topPorts(snapshot: Snapshot): PortRow[] {
  const lengths = sumBy(snapshot, 'tcpstate_listen_queue_length', 'port');
  const backlogs = sumBy(snapshot, 'tcpstate_listen_queue_max', 'port');
  return ranked(statesBy(snapshot, 'tcpstate_port_sockets', 'port'), TOP_PORTS).map(({ name, sockets, states }) => {
    const length = lengths.get(name);
    return { port: name, sockets, states, acceptQueue: length === undefined ? undefined : { length, backlog: backlogs.get(name) } };
  });
}

function topProcesses(snapshot: Snapshot): ProcessRow[] | undefined {
  if (!collectorOutcome(snapshot, 'process')?.ok) return undefined;
  return ranked(statesBy(snapshot, 'tcpstate_process_sockets', 'process'), TOP_PROCESSES).map(({ name, sockets, states }) => ({ process: name, sockets, states }));
}

/** Everything the renderers print, from the observation and the checks' findings. Pure. */
export function buildReport(observation: Observation, findings: readonly Finding[], host: string): Report {
  const { current } = observation;
  const order = (finding: Finding): number => SEVERITIES.indexOf(finding.severity);
  // Array.prototype.sort is stable, so check order survives within a severity.
  const sorted = [...findings].sort((a, b) => order(a) - order(b));
  const counts = Object.fromEntries(SEVERITIES.map((severity) => [severity, findings.filter((finding) => finding.severity === severity).length])) as Record<Severity, number>;
  const status = statusOf(findings);
  return {
    host,
    takenAt: new Date(current.takenAtMs),
    snapshots: observation.previous === undefined ? 1 : 2,
    intervalSeconds: intervalSeconds(observation),
    source: current.source,
    collectors: current.collectors,
    status,
    exitCode: DIAGNOSE_EXIT_CODES[status],
    counts,
    findings: sorted,
    states: stateRows(current),
    topPorts: topPorts(current),
    topProcesses: topProcesses(current),
  };
}
