import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithNetns, exporterBin, TestNamespace, type RunningFarm } from '../../helpers/netns.js';
import type { JsonFinding } from '../../helpers/diagnose-json.js';

/**
 * The process collector reads every descriptor on the host, and the socket dump walks every
 * socket on the host (the hash table is shared by all namespaces): with a benchmark farm running
 * next to the tests, one snapshot can take seconds. Two snapshots get room.
 */
const TWO_SNAPSHOTS_TIMEOUT_MS = 120_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `tcpstate-exporter diagnose` inside the namespace; a non-zero exit is a result here, not an
 * error. These tests are about the namespace's own stack: the netns collector would also report
 * every other namespace on the machine (other tests' leaks among them), so it is off here;
 * pods.test.ts covers it.
 */
async function diagnoseIn(ns: TestNamespace, flags: readonly string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await ns.exec(process.execPath, [exporterBin, 'diagnose', '--log.level=warn', '--no-collector.netns', ...flags]);
    return { code: 0, stdout, stderr: withoutPermissionNotice(stderr) };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: withoutPermissionNotice(failed.stderr ?? '') };
  }
}

/**
 * The process collector's one-time notice that some process could not be inspected. Even root
 * meets such a process on some machines (a VM's init here), so it may or may not appear; any
 * other line on stderr is still a failure.
 */
function withoutPermissionNotice(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => !line.includes('msg="some processes could not be inspected'))
    .join('\n');
}


describeWithNetns('diagnose on real sockets', () => {
  describe('a port leaking CLOSE_WAIT, owned by a forked process', () => {
    let ns: TestNamespace;
    let farm: RunningFarm;

    beforeAll(async () => {
      ns = await TestNamespace.create();
      // 30 sockets: above the alert's floor of 20. The server ends live in a child named leaky-worker.
      farm = await ns.startFarm({
        listeners: [
          { name: 'api', host: '127.0.0.1', port: 7001 },
          { name: 'leaky', host: '127.0.0.1', port: 7002 },
        ],
        groups: [
          { kind: 'established', to: 'api', count: 5 },
          { kind: 'close_wait', to: 'leaky', count: 30, owner: 'leaky-worker' },
        ],
        expect: { '( sport = :7002 )': { 'CLOSE-WAIT': 30 } },
      });
    });
    afterAll(async () => {
      await farm?.stop();
      await ns?.destroy();
    });

    it('the text report names the port and the process, with the runbook, and exits 3 (warning)', async () => {
      const run = await diagnoseIn(ns, ['--diagnose.interval=1']);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 3, stderr: '' });
      expect(run.stdout).toMatch(/^WARNING \(1\)$/m);
      expect(run.stdout).toContain('[WARN] CLOSE_WAIT piling up on port 7002: 30 sockets the application never closed');
      expect(run.stdout).toContain('30 sockets in CLOSE_WAIT on local port 7002 (alert floor 20)');
      expect(run.stdout).toMatch(/30 [\d.]+ s ago: not draining/);
      expect(run.stdout).toContain('held by (CLOSE_WAIT on all ports): leaky-worker 30');
      expect(run.stdout).toContain('runbook   docs/runbooks.md#tcpclosewaitleak');
      expect(run.stdout).not.toMatch(/^CRITICAL/m);
      // Real rates from two snapshots: the rate-only checks ran.
      expect(run.stdout).toMatch(/\[ OK \] Resets: [\d.]+\/s RSTs sent in the last [\d.]+ s/);
      expect(run.stdout).toMatch(/\n +7002 +31 +1 +0 +0 +30 +0 +0\/128\n/);
      expect(run.stdout).toMatch(/RESULT: WARNING: 0 critical, 1 warning, \d+ info; exit 3/);
    }, TWO_SNAPSHOTS_TIMEOUT_MS);

    it('the JSON report locates it with labels, for machines', async () => {
      const run = await diagnoseIn(ns, ['--diagnose.interval=0', '--diagnose.format=json']);
      expect(run.code).toBe(3);
      const report = JSON.parse(run.stdout) as { status: string; exit_code: number; source: string; findings: JsonFinding[] };
      expect(report).toMatchObject({ status: 'warning', exit_code: 3, source: 'netlink' });
      const problems = report.findings.filter((f) => f.severity === 'warning' || f.severity === 'critical');
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatchObject({ check: 'close_wait', labels: { port: '7002', process: 'leaky-worker' }, runbook: 'docs/runbooks.md#tcpclosewaitleak' });
    });

    it('with --no-collector.process the port is still named and the report says the owner is unknown', async () => {
      const run = await diagnoseIn(ns, ['--diagnose.interval=0', '--no-collector.process']);
      expect(run.code).toBe(3);
      expect(run.stdout).toContain('CLOSE_WAIT piling up on port 7002');
      expect(run.stdout).toContain('owning processes unknown: the process collector is disabled');
    });
  });

  describe('a small healthy farm', () => {
    let ns: TestNamespace;
    let farm: RunningFarm;

    beforeAll(async () => {
      ns = await TestNamespace.create();
      farm = await ns.startFarm({
        listeners: [{ name: 'api', host: '127.0.0.1', port: 7001 }],
        groups: [
          { kind: 'established', to: 'api', count: 5, keepalive: true },
          { kind: 'time_wait', to: 'api', count: 3 },
          { kind: 'close_wait', to: 'api', count: 2 },
        ],
        expect: { '( sport = :7001 )': { 'CLOSE-WAIT': 2 } },
      });
    });
    afterAll(async () => {
      await farm?.stop();
      await ns?.destroy();
    });

    it('exits 0 with nothing critical or warning, and shows the states it saw', async () => {
      const run = await diagnoseIn(ns, ['--diagnose.interval=1']);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
      expect(run.stdout).not.toMatch(/^(CRITICAL|WARNING) /m);
      expect(run.stdout).toContain('[ OK ] CLOSE_WAIT: 2 sockets, no port at the floor of 20 (most on one port: 2 on port 7001)');
      // Host-wide limits are not visible from a test namespace: not checked, never "ok".
      expect(run.stdout).toMatch(/\[SKIP\] Orphaned sockets: not checked, net\.ipv4\.tcp_max_orphans is host-wide/);
      expect(run.stdout).toMatch(/\n +established +\d+ +\d+ +10\n/);
      expect(run.stdout).toMatch(/\n +time_wait +3 +0 +3\n/);
      expect(run.stdout).toMatch(/RESULT: HEALTHY: 0 critical, 0 warnings, \d+ info; exit 0/);
    }, TWO_SNAPSHOTS_TIMEOUT_MS);
  });
});
