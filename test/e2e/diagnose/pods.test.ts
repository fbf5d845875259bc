/**
 * diagnose names the pod: real pod namespaces (kubelet + containerd cgroups, CRI bundles in a
 * temporary runtime root) beside a "node" namespace of this test, where diagnose runs as on a
 * node (network namespace only: it needs the host's /sys/fs/cgroup and /proc). A CLOSE_WAIT leak
 * in one pod is a warning naming that pod and port; its neighbour below the floor is not; and the
 * node's own checks do not count the pods' sockets or counters.
 *
 * Other namespaces on the machine (other tests) are seen too: the assertions pick this file's
 * pods by a Kubernetes namespace name made here.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithNetns, exporterBin, TestNamespace, type RunningFarm } from '../../helpers/netns.js';
import { PodFixture } from '../../helpers/pod-fixture.js';
import { describeWithCgroups } from '../../owners/cgroup-fixture.js';
import type { JsonFinding } from '../../helpers/diagnose-json.js';

const run = promisify(execFile);
const K8S_NAMESPACE = `shop-${randomBytes(3).toString('hex')}`;
const listener = (name: string, port: number) => ({ name, host: '127.0.0.1', port });


await describeWithCgroups('diagnose on pods: cgroups', () => {
  describeWithNetns('diagnose names the pod', () => {
    let pods: PodFixture | undefined;
    let node: TestNamespace | undefined;
    let nodeFarm: RunningFarm | undefined;

    /** diagnose in the node's network namespace; a non-zero exit is a result here. */
    async function diagnose(flags: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      // A budget for every table: other tests' namespaces beside 100k-socket benchmarks would
      // otherwise spend the default half second before this file's pods get their turn.
      const args = [`--net=/run/netns/${node!.name}`, process.execPath, exporterBin, 'diagnose', '--log.level=warn', '--collector.netns.table-budget=30', ...pods!.exporterFlags(), ...flags];
      try {
        const { stdout, stderr } = await run('nsenter', args, { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
        return { code: 0, stdout, stderr };
      } catch (error) {
        const failed = error as { code?: unknown; stdout?: string; stderr?: string };
        if (typeof failed.code !== 'number') throw error;
        return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
      }
    }

    beforeAll(async () => {
      pods = await PodFixture.create([
        // 30 CLOSE_WAIT on the pod's listening port: above the floor of 20.
        { namespace: K8S_NAMESPACE, pod: 'web-0', container: 'app', farm: { listeners: [listener('web', 8080)], groups: [{ kind: 'close_wait', to: 'web', count: 30 }, { kind: 'established', to: 'web', count: 2 }] } },
        // The same port in a neighbour, 5: below it.
        { namespace: K8S_NAMESPACE, pod: 'cart-0', container: 'app', farm: { listeners: [listener('web', 8080)], groups: [{ kind: 'close_wait', to: 'web', count: 5 }] } },
      ]);
      node = await TestNamespace.create();
      nodeFarm = await node.startFarm({ listeners: [listener('api', 7001)], groups: [{ kind: 'established', to: 'api', count: 3 }] });
    }, 120_000);

    afterAll(async () => {
      await nodeFarm?.stop().catch(() => undefined);
      await node?.destroy();
      await pods?.destroy();
    }, 60_000);

    it('JSON: a warning for the leaking pod and port, with its labels; none for its neighbour; the node\'s CLOSE_WAIT check is ok', async () => {
      const web = pods!.pod('web-0');
      const result = await diagnose(['--diagnose.interval=1', '--diagnose.format=json']);
      const report = JSON.parse(result.stdout) as { exit_code: number; findings: JsonFinding[]; collectors: { name: string; ok: boolean }[] };
      expect(result.code).toBe(report.exit_code);
      expect(result.code).toBeGreaterThanOrEqual(3); // at least web-0's warning (another test's namespace may add more)
      expect(report.collectors.find((c) => c.name === 'netns')).toMatchObject({ ok: true });

      const ours = report.findings.filter((f) => f.labels.namespace === K8S_NAMESPACE);
      expect(ours.map((f) => [f.check, f.severity, f.labels.pod])).toEqual([['pod_close_wait', 'warning', 'web-0']]);
      expect(ours[0]).toMatchObject({
        headline: `CLOSE_WAIT piling up in pod ${K8S_NAMESPACE}/web-0 on port 8080: 30 sockets the application never closed`,
        labels: { netns: web.labels.netns, namespace: K8S_NAMESPACE, pod: 'web-0', uid: web.uid, port: '8080' },
        runbook: 'docs/runbooks.md#tcppodclosewaitleak',
      });
      expect(ours[0]!.evidence).toEqual([
        `30 sockets in CLOSE_WAIT on port 8080 of pod ${K8S_NAMESPACE}/web-0 (alert floor 20); netns ${web.labels.netns}, uid ${web.uid} (joins kube_pod_info{uid})`,
        expect.stringMatching(/^30 [\d.]+ s ago: not draining$/),
        expect.stringContaining(`nsenter --net=/run/netns/${web.labels.netns} ss -tnp state close-wait`),
      ]);
      // The node's own checks read the node's own stack: no CLOSE_WAIT there, whatever the pods hold.
      expect(report.findings.find((f) => f.check === 'close_wait')).toMatchObject({ severity: 'ok', headline: 'No sockets in CLOSE_WAIT' });
    }, 150_000);

    it('text: the pod is named in the headline, and --no-collector.netns leaves the pod checks not checked', async () => {
      const text = await diagnose(['--diagnose.interval=0']);
      expect(text.stdout).toContain(`[WARN] CLOSE_WAIT piling up in pod ${K8S_NAMESPACE}/web-0 on port 8080: 30 sockets the application never closed`);
      expect(text.stdout).toContain('runbook   docs/runbooks.md#tcppodclosewaitleak');
      expect(text.stdout).not.toContain(`${K8S_NAMESPACE}/cart-0`);

      const hostOnly = await diagnose(['--diagnose.interval=0', '--no-collector.netns']);
      expect(hostOnly.code).toBe(0);
      expect(hostOnly.stdout).toContain('[SKIP] CLOSE_WAIT in pods: not checked, the netns collector is disabled (enable it with --collector.netns)');
      expect(hostOnly.stdout).not.toContain(K8S_NAMESPACE);
    }, 150_000);
  });
});
