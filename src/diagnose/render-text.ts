import type { TcpStateName } from '../kernel/tcp.js';
import type { Finding, Severity } from './finding.js';
import { SEVERITIES } from './finding.js';
import { count } from './format.js';
import { DIAGNOSE_EXIT_CODES, type Report } from './report.js';

export interface TextOptions {
  /** ANSI colours: only for a terminal, and never with NO_COLOR set. */
  readonly color: boolean;
  /**
   * Wrap long lines at this width, or not at all. Piped output is not wrapped, so one fact
   * stays on one line for grep.
   */
  readonly width: number | undefined;
}

const GROUP_TITLES: Record<Severity, string> = { critical: 'CRITICAL', warning: 'WARNING', info: 'INFO', ok: 'OK', skipped: 'NOT CHECKED' };
const TAGS: Record<Severity, string> = { critical: '[CRIT]', warning: '[WARN]', info: '[INFO]', ok: '[ OK ]', skipped: '[SKIP]' };
const COLORS: Record<Severity, string> = { critical: '1;31', warning: '1;33', info: '36', ok: '32', skipped: '2' };

/** States the summary always shows; the others only when some socket is in them. */
const KEY_STATES: ReadonlySet<TcpStateName> = new Set(['established', 'syn_recv', 'time_wait', 'close_wait', 'listen']);
const PORT_COLUMNS: readonly TcpStateName[] = ['listen', 'established', 'syn_recv', 'close_wait', 'time_wait'];
const PROCESS_COLUMNS: readonly TcpStateName[] = ['listen', 'established', 'close_wait'];
/** Column titles as short as ss's, so the port table fits 80 columns. */
const COLUMN_TITLES: Partial<Record<TcpStateName, string>> = { established: 'estab' };
const title = (state: TcpStateName): string => COLUMN_TITLES[state] ?? state;

const LABEL_WIDTH = 10;
const INDENT = '  ';

/** Greedy word wrap with a hanging indent; a word longer than the line is left whole. */
export function wrap(text: string, width: number | undefined, firstPrefix: string, restPrefix: string): string[] {
  if (width === undefined) return [firstPrefix + text];
  const lines: string[] = [];
  let line = firstPrefix;
  let empty = true;
  for (const word of text.split(' ')) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = restPrefix + word;
    } else {
      line += (empty ? '' : ' ') + word;
    }
    empty = false;
  }
  lines.push(line);
  return lines;
}

function table(rows: readonly (readonly string[])[], rightAligned: (column: number) => boolean): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => INDENT + row.map((cell, column) => (rightAligned(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ').trimEnd());
}

export function renderText(report: Report, options: TextOptions): string {
  const paint = (code: string, text: string): string => (options.color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const out: string[] = [];

  out.push(paint('1', `tcpstate-exporter diagnose: ${report.host} at ${report.takenAt.toISOString()}`));
  const looks = report.intervalSeconds === undefined ? '1 snapshot (--diagnose.interval=0): no rates, checks that need them are not run' : `2 snapshots ${Number(report.intervalSeconds.toFixed(1))} s apart`;
  out.push(...wrap(`${looks}; socket source ${report.source}; collectors ${report.collectors.map((c) => c.name).join(', ')}`, options.width, '', ''));
  out.push(...wrap('This is one look at this moment; the alerts wait (for:) before they fire. Sustained? Check the dashboard and alerts.', options.width, '', ''));

  for (const severity of SEVERITIES) {
    const group = report.findings.filter((finding) => finding.severity === severity);
    if (group.length === 0) continue;
    out.push('', paint(COLORS[severity], `${GROUP_TITLES[severity]} (${group.length})`));
    for (const finding of group) out.push(...renderFinding(finding, options, paint));
  }

  out.push(...renderSummary(report));

  const problems = [`${report.counts.critical} critical`, `${report.counts.warning} warning${report.counts.warning === 1 ? '' : 's'}`, `${report.counts.info} info`].join(', ');
  const codes = `${DIAGNOSE_EXIT_CODES.healthy} healthy, ${DIAGNOSE_EXIT_CODES.warning} warnings, ${DIAGNOSE_EXIT_CODES.critical} critical`;
  const resultColor = report.status === 'healthy' ? COLORS.ok : COLORS[report.status];
  out.push('', ...wrap(`RESULT: ${report.status.toUpperCase()}: ${problems}; exit ${report.exitCode} (${codes})`, options.width, '', '').map((line) => paint(resultColor, line)));
  return `${out.join('\n')}\n`;
}

function renderFinding(finding: Finding, options: TextOptions, paint: (code: string, text: string) => string): string[] {
  const lines: string[] = [];
  const tag = `${INDENT}${paint(COLORS[finding.severity], TAGS[finding.severity])} `;
  const hanging = ' '.repeat(INDENT.length + TAGS[finding.severity].length + 1);
  lines.push(...wrap(finding.headline, options.width, tag, hanging));
  // ok and skipped findings are one line each: the headline carries the number.
  if (finding.severity === 'ok' || finding.severity === 'skipped') return lines;

  const field = (label: string, text: string): string[] => wrap(text, options.width, hanging + label.padEnd(LABEL_WIDTH), hanging + ' '.repeat(LABEL_WIDTH));
  finding.evidence.forEach((fact, index) => lines.push(...field(index === 0 ? 'evidence' : '', fact)));
  if (finding.remedy !== undefined) {
    lines.push(...field('app', finding.remedy.application));
    lines.push(...field('kernel', finding.remedy.kernel));
  }
  if (finding.runbook !== undefined) lines.push(...field('runbook', finding.runbook));
  if (finding.alert !== undefined && finding.sustained !== undefined) {
    lines.push(...field('alert', `${finding.alert} fires only when this holds ${finding.sustained}; this was one look. Sustained? Check the dashboard/alerts.`));
  }
  return lines;
}

function renderSummary(report: Report): string[] {
  const lines: string[] = [];
  if (report.states !== undefined) {
    const hasIpv6 = report.states.some((row) => row.ipv6 !== undefined);
    const header = hasIpv6 ? ['state', 'ipv4', 'ipv6', 'total'] : ['state', 'ipv4', 'total'];
    const rows = report.states
      .filter((row) => row.total > 0 || KEY_STATES.has(row.state))
      .map((row) => (hasIpv6 ? [row.state, count(row.ipv4 ?? 0), count(row.ipv6 ?? 0), count(row.total)] : [row.state, count(row.ipv4 ?? 0), count(row.total)]));
    lines.push('', 'SOCKETS BY STATE', ...table([header, ...rows], (column) => column > 0));
  }
  if (report.topPorts.length > 0) {
    const header = ['port', 'sockets', ...PORT_COLUMNS.map(title), 'accept queue'];
    const rows = report.topPorts.map((row) => [
      row.port,
      count(row.sockets),
      ...PORT_COLUMNS.map((state) => count(row.states[state] ?? 0)),
      row.acceptQueue === undefined ? '' : `${count(row.acceptQueue.length)}/${row.acceptQueue.backlog === undefined ? '?' : count(row.acceptQueue.backlog)}`,
    ]);
    lines.push('', 'TOP PORTS (local listening ports, by sockets)', ...table([header, ...rows], (column) => column > 0 && column < header.length - 1));
  }
  if (report.topProcesses !== undefined && report.topProcesses.length > 0) {
    const header = ['process', 'sockets', ...PROCESS_COLUMNS.map(title)];
    const rows = report.topProcesses.map((row) => [row.process, count(row.sockets), ...PROCESS_COLUMNS.map((state) => count(row.states[state] ?? 0))]);
    lines.push('', 'TOP PROCESSES (by sockets; "unknown" = no owner visible)', ...table([header, ...rows], (column) => column > 0));
  }
  return lines;
}
