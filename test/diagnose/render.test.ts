import { describe, expect, it } from 'vitest';
import { runChecks } from '../../src/diagnose/checks/index.js';
import type { Finding } from '../../src/diagnose/finding.js';
import type { Observation } from '../../src/diagnose/observation.js';
import { JSON_SCHEMA, renderJson } from '../../src/diagnose/render-json.js';
import { renderText, wrap } from '../../src/diagnose/render-text.js';
import { buildReport, DIAGNOSE_EXIT_CODES, statusOf } from '../../src/diagnose/report.js';
import { oneLook, twoLooks, type SnapshotBuilder } from './snapshots.js';

/** CLOSE_WAIT piling up on 8082 (warning) and tcp_tw_recycle on (critical). */
const troubled = (b: SnapshotBuilder) =>
  b
    .states({ established: 420, listen: 4, close_wait: 33, time_wait: 300 })
    .port('8082', { listen: 1, close_wait: 30 })
    .listenQueue('8082', 0, 128)
    .process('leaky-worker', { listen: 1, close_wait: 30 })
    .sysctl('net.ipv4.tcp_tw_recycle', 1);

function report(observation: Observation) {
  return buildReport(observation, runChecks(observation), 'web-1');
}

const ANSI = /\u001b\[/;

describe('exit status', () => {
  const finding = (severity: Finding['severity']): Finding => ({ check: 'x', alert: undefined, severity, headline: '', evidence: [], remedy: undefined, runbook: undefined, labels: {}, sustained: undefined });

  it('0 healthy (info, ok and skipped do not count), 3 with a warning, 4 with a critical; never 1 or 2', () => {
    expect(statusOf([finding('ok'), finding('info'), finding('skipped')])).toBe('healthy');
    expect(statusOf([finding('ok'), finding('warning'), finding('info')])).toBe('warning');
    expect(statusOf([finding('warning'), finding('critical')])).toBe('critical');
    expect(DIAGNOSE_EXIT_CODES).toEqual({ healthy: 0, warning: 3, critical: 4 });
  });

  it('the report carries the code for its findings', () => {
    expect(report(twoLooks()).exitCode).toBe(0);
    expect(report(twoLooks({ both: (b) => troubled(b).sysctl('net.ipv4.tcp_tw_recycle', 0) })).exitCode).toBe(3);
    expect(report(twoLooks({ both: troubled })).exitCode).toBe(4);
  });
});

describe('the text report', () => {
  const text = renderText(report(twoLooks({ both: troubled })), { color: false, width: undefined });

  it('groups findings by severity, worst first, each with its headline', () => {
    const order = ['CRITICAL (1)', 'WARNING (1)', 'INFO (1)', 'OK ('].map((title) => text.indexOf(`\n${title}`));
    expect(order.every((index) => index > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(text).toContain('[CRIT] tcp_tw_recycle is on: clients behind NAT fail to connect');
    expect(text).toContain('[WARN] CLOSE_WAIT piling up on port 8082: 30 sockets the application never closed');
    expect(text).not.toContain('NOT CHECKED');
  });

  it('gives the evidence, the fix, the runbook anchor and the point-in-time caveat of a problem', () => {
    const block = text.slice(text.indexOf('[WARN] CLOSE_WAIT'), text.indexOf('\nINFO'));
    expect(block).toMatch(/evidence +30 sockets in CLOSE_WAIT on local port 8082 \(alert floor 20\)/);
    expect(block).toContain('30 10 s ago: not draining');
    expect(block).toContain('held by (CLOSE_WAIT on all ports): leaky-worker 30');
    expect(block).toMatch(/app +The application never close\(\)s/);
    expect(block).toMatch(/kernel +None: no sysctl drains CLOSE_WAIT/);
    expect(block).toMatch(/runbook +docs\/runbooks\.md#tcpclosewaitleak\n/);
    expect(block).toContain('TCPCloseWaitLeak fires only when this holds at or above the floor for 10m, then for 5m; this was one look. Sustained? Check the dashboard/alerts.');
  });

  it('ends with the states, the top ports and processes, and the result with its exit code', () => {
    expect(text).toMatch(/SOCKETS BY STATE\n +state +ipv4 +ipv6 +total\n/);
    expect(text).toMatch(/\n +close_wait +33 +0 +33\n/);
    expect(text).toMatch(/TOP PORTS[^\n]*\n +port +sockets +listen +estab +syn_recv +close_wait +time_wait +accept queue\n +443 +657 .*\n +80 /);
    expect(text).toMatch(/\n +8082 +31 +1 +0 +0 +30 +0 +0\/128\n/);
    expect(text).toMatch(/TOP PROCESSES[^\n]*\n +process +sockets +listen +estab +close_wait\n +nginx +416 /);
    expect(text.trimEnd().split('\n').at(-1)).toBe('RESULT: CRITICAL: 1 critical, 1 warning, 1 info; exit 4 (0 healthy, 3 warnings, 4 critical)');
  });

  it('with one snapshot, says there are no rates and lists what was not checked', () => {
    const once = renderText(report(oneLook()), { color: false, width: undefined });
    expect(once).toContain('1 snapshot (--diagnose.interval=0): no rates');
    expect(once).toMatch(/NOT CHECKED \(4\)\n +\[SKIP\] SYN queue drops: not checked, needs two snapshots/);
    expect(once.trimEnd().split('\n').at(-1)).toContain('RESULT: HEALTHY');
  });

  it('has no colour codes unless asked, and colours severities when asked', () => {
    expect(text).not.toMatch(ANSI);
    const colored = renderText(report(twoLooks({ both: troubled })), { color: true, width: undefined });
    expect(colored).toContain('\u001b[1;31m[CRIT]\u001b[0m');
    expect(colored).toContain('\u001b[1;33mWARNING (1)\u001b[0m');
  });

  it('wraps at the terminal width with a hanging indent, and not at all when piped', () => {
    const narrow = renderText(report(twoLooks({ both: troubled })), { color: false, width: 80 });
    const lines = narrow.split('\n');
    // Only a single word longer than the line (a URL, a command) may overflow.
    for (const line of lines) if (line.length > 80) expect(line.trim()).not.toContain(' ');
    expect(narrow).toMatch(/\n {9}app {7}The application never close\(\)s these sockets: close in\n {19}finally\/defer\/using/);
    expect(Math.max(...text.split('\n').map((line) => line.length))).toBeGreaterThan(120);
  });

  it('wrap() keeps every word and breaks only between them', () => {
    const words = 'one two three four five six seven eight nine ten'.split(' ');
    const lines = wrap(words.join(' '), 16, '> ', '  ');
    expect(lines).toEqual(['> one two three', '  four five six', '  seven eight', '  nine ten']);
    expect(wrap('a b', undefined, '> ', '  ')).toEqual(['> a b']);
  });
});

describe('the JSON report', () => {
  const json = JSON.parse(renderJson(report(twoLooks({ both: troubled })))) as Record<string, unknown> & {
    findings: Array<Record<string, unknown>>;
    collectors: Array<Record<string, unknown>>;
    top_ports: Array<Record<string, unknown>>;
    states: Array<Record<string, unknown>>;
  };

  it('has a stable schema: the same keys, always present', () => {
    expect(Object.keys(json)).toEqual(['schema', 'host', 'taken_at', 'snapshots', 'interval_seconds', 'source', 'status', 'exit_code', 'counts', 'collectors', 'findings', 'states', 'top_ports', 'top_processes']);
    expect(json.schema).toBe(JSON_SCHEMA);
    expect(json.schema).toBe('tcpstate-exporter.diagnose/v1');
    expect(Object.keys(json.counts as object)).toEqual(['critical', 'warning', 'info', 'ok', 'skipped']);
    for (const finding of json.findings) expect(Object.keys(finding)).toEqual(['check', 'alert', 'severity', 'headline', 'evidence', 'remedy', 'runbook', 'labels', 'sustained']);
    for (const collector of json.collectors) expect(Object.keys(collector)).toEqual(['name', 'ok', 'error', 'seconds']);
    expect(Object.keys(json.top_ports[0]!)).toEqual(['port', 'sockets', 'states', 'accept_queue']);
    expect(Object.keys(json.states[0]!)).toEqual(['state', 'ipv4', 'ipv6', 'total']);
  });

  it('carries the status, the exit code and machine-readable labels', () => {
    expect(json).toMatchObject({ host: 'web-1', status: 'critical', exit_code: 4, snapshots: 2, interval_seconds: 10, source: 'netlink' });
    expect(json.findings[0]).toMatchObject({ check: 'tw_recycle', severity: 'critical', alert: null, runbook: 'docs/runbooks.md#tcpephemeralportexhaustion', sustained: null });
    expect(json.findings[1]).toMatchObject({ check: 'close_wait', severity: 'warning', alert: 'TCPCloseWaitLeak', labels: { port: '8082', process: 'leaky-worker' } });
    expect(json.findings.find((f) => f.severity === 'ok')).toMatchObject({ remedy: null });
  });

  it('uses null, never a missing key, for what one snapshot cannot know', () => {
    const once = JSON.parse(renderJson(report(oneLook((b) => b.collector('process', 'boom'))))) as Record<string, unknown>;
    expect(once).toMatchObject({ snapshots: 1, interval_seconds: null, top_processes: null });
    expect((once.collectors as Array<Record<string, unknown>>).find((c) => c.name === 'sockets')).toMatchObject({ error: null });
  });
});
