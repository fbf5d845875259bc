import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseCommandLine, UsageError } from '../../../src/cli.js';
import { COLLECTORS } from '../../../src/collectors/index.js';
import { commandLineFlags, ConfigError, parseConfig } from '../../../src/config/config.js';
import { fixtureProcfs } from '../../helpers/exporter-process.js';
import { exporterBin } from '../../helpers/netns.js';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [exporterBin, ...args], { timeout: 30_000, env }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('diagnose flags on the command line', () => {
  it('the subcommand and its two flags parse; the shared flags come along', () => {
    const parsed = parseCommandLine(['diagnose', '--diagnose.interval=1.5', '--diagnose.format', 'json', '--path.procfs=/host/proc', '--no-collector.process'], COLLECTORS, () => undefined);
    expect(parsed.command).toBe('diagnose');
    expect(parsed.flags).toMatchObject({ values: { 'diagnose.interval': '1.5', 'diagnose.format': 'json', 'path.procfs': '/host/proc' }, collectorToggles: { process: false } });
    expect(parseConfig(parsed.flags, COLLECTORS).diagnose).toEqual({ intervalSeconds: 1.5, format: 'json' });
  });

  it('defaults: 5 s apart, text', () => {
    expect(parseConfig(commandLineFlags(), COLLECTORS).diagnose).toEqual({ intervalSeconds: 5, format: 'text' });
    expect(parseConfig(commandLineFlags({ 'diagnose.interval': '0' }), COLLECTORS).diagnose.intervalSeconds).toBe(0);
  });

  it.each([['abc'], ['-1'], ['601'], [''], ['5s']])('--diagnose.interval=%j is a one-line ConfigError', (value) => {
    expect(() => parseConfig(commandLineFlags({ 'diagnose.interval': value }), COLLECTORS)).toThrow(new ConfigError(`--diagnose.interval: expected seconds from 0 to 600 (0 = one snapshot, no rates), got ${JSON.stringify(value)}`));
  });

  it('the diagnose flags belong to the subcommand only', () => {
    expect(() => parseCommandLine(['--diagnose.interval=1'], COLLECTORS, () => undefined)).toThrow(UsageError);
    expect(() => parseCommandLine(['collect', '--diagnose.format=json'], COLLECTORS, () => undefined)).toThrow(UsageError);
  });
});

describe('tcpstate-exporter diagnose (the built CLI)', () => {
  it.each([
    [['diagnose', '--diagnose.interval=soon'], /--diagnose\.interval: expected seconds from 0 to 600 \(0 = one snapshot, no rates\), got "soon"/],
    [['diagnose', '--diagnose.interval=-5'], /--diagnose\.interval: .*got "-5"/],
    [['diagnose', '--diagnose.format=yaml'], /--diagnose\.format: expected one of text, json, got "yaml"/],
    [['diagnose', '--diagnose.interval'], /argument missing/],
    [['--diagnose.interval=1'], /unknown option '--diagnose\.interval=1'/],
  ])('%j: one line on stderr, exit 2', async (args, pattern) => {
    const result = await cli(args);
    expect(result.code).toBe(2);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tcpstate-exporter: error: /);
    expect(lines[0]).toMatch(pattern);
    expect(result.stdout).toBe('');
  });

  it('--help lists the flags, the exit codes and the process collector on by default', async () => {
    const result = await cli(['diagnose', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--diagnose.interval <seconds>');
    expect(result.stdout).toContain('--diagnose.format <text|json>');
    expect(result.stdout).toContain('exit 0 healthy, 3 warnings, 4 critical');
    expect(result.stdout).toMatch(/--\[no-\]collector\.process\s+enable the process collector:[^-]*\(default: enabled\)/);
    expect((await cli(['--help'])).stdout).toContain('diagnose');
  });

  it('on the fixture /proc: a healthy text report, exit 0, no colours when piped even without NO_COLOR', async () => {
    const env = { ...process.env };
    delete env.NO_COLOR;
    const result = await cli(['diagnose', `--path.procfs=${fixtureProcfs}`, '--diagnose.interval=0', '--log.level=warn'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('socket source procfs');
    expect(result.stdout).toContain('[ OK ] CLOSE_WAIT: 4 sockets, no port at the floor of 20 (most on one port: 4 on port 8082)');
    expect(result.stdout).toMatch(/RESULT: HEALTHY: .*; exit 0/);
    expect(result.stdout).not.toMatch(/\u001b\[/);
    expect(result.stderr).toBe('');
  });

  it('--diagnose.format=json: the same run for machines; the exit code matches the report', async () => {
    const result = await cli(['diagnose', `--path.procfs=${fixtureProcfs}`, '--diagnose.interval=0', '--diagnose.format=json', '--log.level=warn']);
    const report = JSON.parse(result.stdout) as { schema: string; exit_code: number; findings: Array<{ check: string; severity: string }>; top_processes: Array<{ process: string }> };
    expect(report.schema).toBe('tcpstate-exporter.diagnose/v1');
    expect(result.code).toBe(report.exit_code);
    expect(report.findings.find((f) => f.check === 'close_wait')?.severity).toBe('ok');
    // The process collector is on by default in diagnose.
    expect(report.top_processes.map((p) => p.process)).toContain('leaky-worker');
  });

  it('a /proc that does not exist: the failing collectors are a warning (exit 3), the checks say they were not run', async () => {
    const result = await cli(['diagnose', '--path.procfs=/nonexistent-proc', '--diagnose.interval=0', '--log.level=warn']);
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(/\[WARN\] 6 collectors failed \(sockets, sockstat, netstat, sysctl, process, netns\)/);
    expect(result.stdout).toContain('[SKIP] CLOSE_WAIT in pods: not checked, the netns collector failed');
    // With the sysctl collector failed, the tunables are not checked, rather than all "not present".
    expect(result.stdout).not.toContain('tcp_tw_recycle: not present');
    expect(result.stdout).toContain('sockstat: cannot read /nonexistent-proc/net/sockstat: no such file or directory');
    expect(result.stdout).toMatch(/\[SKIP\] CLOSE_WAIT: not checked, the sockets collector failed/);
    expect(result.stdout).not.toContain('[ OK ] CLOSE_WAIT');
  });
});
