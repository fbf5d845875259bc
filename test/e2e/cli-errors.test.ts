import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseExposition, valueOf } from '../helpers/exposition.js';
import { fixtureProcfs } from '../helpers/exporter-process.js';
import { exporterBin } from '../helpers/netns.js';
import { toolOrSkip } from '../helpers/require-tool.js';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: readonly string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [exporterBin, ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

/** One line on stderr, no stack trace. */
function expectOneLineError(result: Result, pattern: RegExp): void {
  expect(result.code).toBe(2);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^tcpstate-exporter: error: /);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

const scratch = mkdtempSync(join(tmpdir(), 'tcpstate-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('bad command lines exit 2 with one readable line', () => {
  it.each([
    [['--no-such-flag'], /unknown option '--no-such-flag'/],
    [['--web.listen-address=9977'], /--web\.listen-address: expected \[host\]:port/],
    [['--web.listen-address=:99999'], /--web\.listen-address/],
    [['--web.max-requests=-1'], /--web\.max-requests: expected an integer >= 0, got "-1"/],
    [['--web.telemetry-path=metrics'], /--web\.telemetry-path: expected a path/],
    [['--collector.sockets.source=ebpf'], /--collector\.sockets\.source: expected one of auto, netlink, procfs, got "ebpf"/],
    [['--collector.sockets.ports=80,http'], /--collector\.sockets\.ports: expected port numbers 1-65535, got "http"/],
    [['--collector.sockets.max-ports=0'], /--collector\.sockets\.max-ports: expected an integer >= 1/],
    [['--collector.netstat.fields=('], /--collector\.netstat\.fields: not a valid regular expression/],
    [['--collector.sysctl.include=/etc/passwd'], /--collector\.sysctl\.include: expected a dotted sysctl name/],
    [['--log.level=verbose'], /--log\.level: expected one of debug, info, warn, error/],
    [['--log.format=xml'], /--log\.format: expected one of logfmt, json/],
    [['--web.listen-address'], /argument missing/],
    [['surplus-argument'], /too many arguments|unknown command/],
  ])('%j', async (args, pattern) => {
    expectOneLineError(await cli(args), pattern);
  });

  it('a web config that is not valid', async () => {
    const file = join(scratch, 'web.yml');
    writeFileSync(file, 'basic_auth_users:\n  prometheus: not-a-hash\n');
    expectOneLineError(await cli([`--web.config.file=${file}`, '--web.listen-address=127.0.0.1:0']), /basic_auth_users\.prometheus: expected a bcrypt hash/);
    writeFileSync(file, 'tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n');
    expectOneLineError(await cli([`--web.config.file=${file}`, '--web.listen-address=127.0.0.1:0']), /cannot read cert_file .*missing\.crt/);
    writeFileSync(file, 'tls_server_config: [\n');
    expectOneLineError(await cli([`--web.config.file=${file}`, '--web.listen-address=127.0.0.1:0']), /not valid YAML/);
    writeFileSync(file, 'basic_auth: {}\n');
    expectOneLineError(await cli([`--web.config.file=${file}`, '--web.listen-address=127.0.0.1:0']), /Unrecognized key/);
    expectOneLineError(await cli([`--web.config.file=${join(scratch, 'absent.yml')}`]), /--web\.config\.file: ENOENT/);
  });

  it('--help and --version exit 0', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--web.listen-address');
    expect(help.stdout).toContain('--collector.sockets');
    expect(help.stdout).toContain('--path.procfs');
    // As node_exporter's: every line fits 80 columns, and collector switches read --[no-]collector.NAME.
    expect(help.stdout.split('\n').filter((line) => line.length > 80)).toEqual([]);
    expect(help.stdout).toMatch(/^ {2}--\[no-\]collector\.sockets$/m);
    expect(help.stdout).not.toMatch(/^ {2}--no-collector\./m);
    const version = await cli(['--version']);
    expect(version.code).toBe(0);
    const packageVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    // As node_exporter's: the version, the commit it was built from, then the build and platform.
    expect(version.stdout).toMatch(new RegExp(`^tcpstate-exporter, version ${packageVersion.replace(/\./g, '\\.')} \\(revision: [0-9a-f]{12}(-dirty)?\\)\n`));
    expect(version.stdout).toMatch(/^ {2}build date: +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m);
    expect(version.stdout).toContain(`  node version:     ${process.version}\n`);
    expect(version.stdout).toMatch(/^ {2}platform: +linux\/\w+$/m);
  });
});

describe('unreadable or corrupt /proc files fail one collector, not the scrape', () => {
  it('a --path.procfs that does not exist: every /proc collector reports success 0, and collect exits 1', async () => {
    const result = await cli(['collect', `--path.procfs=${join(scratch, 'no-such-proc')}`]);
    expect(result.code).toBe(1);
    const samples = parseExposition(result.stdout);
    for (const collector of ['sockets', 'sockstat', 'netstat', 'sysctl', 'netns']) expect(valueOf(samples, 'tcpstate_scrape_collector_success', { collector })).toBe(0);
    expect(result.stderr).toMatch(/collector=sysctl err="none of the TCP sysctls exists under .*no-such-proc\/sys\/net: is --path.procfs the host's \/proc\?"/);
    expect(result.stderr.trimEnd().split('\n').at(-1)).toBe('tcpstate-exporter: error: 5 of 6 collectors failed: sockets, sockstat, netstat, sysctl, netns');
    // What the TCPStateCollectorFailing runbook tells the operator to grep for finds these lines.
    const runbookGrep = /grep '([^']+)'`\. The reason names/.exec(readFileSync(new URL('../../docs/runbooks.md', import.meta.url), 'utf8'))?.[1];
    expect(runbookGrep).toBeDefined();
    expect(result.stderr.split('\n').filter((line) => line.includes(runbookGrep!))).toHaveLength(5);
    // One log line per failed collector, naming it.
    expect(result.stderr).toMatch(/level=error msg="collector failed" collector=sockstat err="cannot read .*no-such-proc\/net\/sockstat: no such file or directory"/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('a corrupt net/tcp fails the sockets collector only, and names the line and field', async () => {
    const proc = join(scratch, 'proc-corrupt');
    cpSync(fixtureProcfs, proc, { recursive: true });
    const lines = readFileSync(join(proc, 'net', 'tcp'), 'latin1').split('\n');
    lines[5] = lines[5]!.replace(/^(\s*\d+: \S+ \S+ )../, '$1Q!');
    writeFileSync(join(proc, 'net', 'tcp'), lines.join('\n'));
    const result = await cli(['collect', `--path.procfs=${proc}`]);
    expect(result.code).toBe(1);
    const samples = parseExposition(result.stdout);
    expect(valueOf(samples, 'tcpstate_scrape_collector_success', { collector: 'sockets' })).toBe(0);
    expect(valueOf(samples, 'tcpstate_scrape_collector_success', { collector: 'netstat' })).toBe(1);
    expect(valueOf(samples, 'tcpstate_scrape_collector_success', { collector: 'sysctl' })).toBe(1);
    expect(samples.some((s) => s.name === 'tcpstate_sockets')).toBe(false);
    expect(samples.some((s) => s.name === 'tcpstate_listen_overflows_total')).toBe(true);
    expect(result.stderr).toContain(`collector=sockets err="${join(proc, 'net', 'tcp')}:6: field st: not a hex number"`);
  });

  it('an unparseable sysctl is named, and the other sysctls are still served', async () => {
    const proc = join(scratch, 'proc-sysctl');
    cpSync(fixtureProcfs, proc, { recursive: true });
    writeFileSync(join(proc, 'sys', 'net', 'ipv4', 'tcp_fin_timeout'), 'sixty\n');
    const result = await cli(['collect', `--path.procfs=${proc}`, '--collector.sysctl.include=net.ipv4.tcp_no_such_thing']);
    const samples = parseExposition(result.stdout);
    expect(valueOf(samples, 'tcpstate_scrape_collector_success', { collector: 'sysctl' })).toBe(0);
    expect(valueOf(samples, 'tcpstate_sysctl', { name: 'net.ipv4.tcp_syncookies' })).toBe(1);
    expect(samples.filter((s) => s.labels.name === 'net.ipv4.tcp_fin_timeout')).toHaveLength(0);
    // A sysctl the kernel lacks is left out, with one warning that says so.
    expect(samples.filter((s) => s.labels.name === 'net.ipv4.tcp_no_such_thing')).toHaveLength(0);
    expect(result.stderr).toMatch(/level=warn msg="--collector.sysctl.include names a sysctl this kernel does not have; it is left out" collector=sysctl sysctl=net.ipv4.tcp_no_such_thing/);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('field net.ipv4.tcp_fin_timeout: not a number: \\"sixty\\"');
  });

  it('a missing tcp6 (a kernel without IPv6) leaves the ipv6 series out', async () => {
    const proc = join(scratch, 'proc-no-ipv6');
    cpSync(fixtureProcfs, proc, { recursive: true });
    rmSync(join(proc, 'net', 'tcp6'));
    rmSync(join(proc, 'net', 'sockstat6'));
    const samples = parseExposition((await cli(['collect', `--path.procfs=${proc}`])).stdout);
    expect(samples.filter((s) => s.name === 'tcpstate_sockets' && s.labels.family === 'ipv4')).toHaveLength(11);
    expect(samples.filter((s) => s.labels.family === 'ipv6')).toHaveLength(0);
    expect(valueOf(samples, 'tcpstate_scrape_collector_success', { collector: 'sockets' })).toBe(1);
  });
});

describe('an open-file limit too low to start', () => {
  const prlimit = toolOrSkip('prlimit', 'util-linux');
  it.skipIf(!prlimit.available)('is one line naming the limit and what to raise, exit 2, not an EMFILE stack trace', async () => {
    const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(prlimit.path!, ['--nofile=64', process.execPath, exporterBin, 'collect'], { timeout: 30_000 }, (error, _stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stderr });
      });
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("tcpstate-exporter: error: the open-file limit is 64; the exporter needs at least 128: raise it (ulimit -n, systemd LimitNOFILE=, or the container's nofile ulimit)\n");
  });
});
