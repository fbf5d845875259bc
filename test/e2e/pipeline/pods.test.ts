/**
 * The pod pipeline, live: several pod network namespaces (made here, their processes in kubelet +
 * containerd cgroups, their CRI bundles in a temporary runtime root) -> the exporter on the "node"
 * -> Prometheus with the project's rules -> Alertmanager -> a webhook. A CLOSE_WAIT leak in one pod
 * must reach the webhook carrying that pod's `namespace` and `pod`, and no other pod may alert; the
 * node's own CLOSE_WAIT alert must stay quiet. Then every query of the dashboard's pod row runs
 * against that Prometheus and must return the pods' data.
 *
 * The "node" is a network namespace of its own (the exporter, Prometheus, Alertmanager and the
 * webhook receiver on its loopback): the exporter reads every other namespace on the machine, as a
 * DaemonSet with hostPID does. Other namespaces on the machine (other tests) may show up too, so
 * the assertions look at this file's pods by their labels: a Kubernetes namespace name made here.
 *
 * Time budget: about 40 s. Scrapes every 2 s, rules evaluated every second, every `for:` cut to 5 s
 * (shortenedRules); the windows need no change (see pipeline.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MonitoringStack, shortenedRules, waitFor, type PromAlert } from '../faults/monitoring-stack.js';
import { describeWithNetns, exporterBin, TestNamespace } from '../../helpers/netns.js';
import { PodFixture, type PodSpec } from '../../helpers/pod-fixture.js';
import { toolOrSkip } from '../../helpers/require-tool.js';
import { describeWithCgroups } from '../../owners/cgroup-fixture.js';
import { podRowQueries, runPanelQueries } from './pod-row-queries.js';

const rulesPath = fileURLToPath(new URL('../../../alerts/tcpstate.rules.yml', import.meta.url));
const EXPORTER = '127.0.0.1:9977';
const INSTANCE = 'node-1';
const JOB = 'tcpstate';
const SCRAPE_SECONDS = 2;

/** A Kubernetes namespace name of this run only, so that other tests' pods never count. */
const K8S_NAMESPACE = `shop-${randomBytes(3).toString('hex')}`;
const LEAK_PORT = 8080;
const LEAK_COUNT = 20;

const listener = (name: string, port: number, backlog?: number) => ({ name, host: '127.0.0.1', port, ...(backlog === undefined ? {} : { backlog }) });
const PODS: PodSpec[] = [
  // The leak: exactly the alert's floor of CLOSE_WAIT on its listening port.
  { namespace: K8S_NAMESPACE, pod: 'web-0', container: 'app', farm: { listeners: [listener('web', LEAK_PORT)], groups: [{ kind: 'close_wait', to: 'web', count: LEAK_COUNT }, { kind: 'established', to: 'web', count: 3 }] } },
  // A near miss on the same port number: 5 CLOSE_WAIT in another pod.
  { namespace: K8S_NAMESPACE, pod: 'cart-0', container: 'app', farm: { listeners: [listener('web', LEAK_PORT)], groups: [{ kind: 'close_wait', to: 'web', count: 5 }, { kind: 'established', to: 'web', count: 4 }] } },
  // A busy, healthy pod with a full little accept queue and connections in TIME_WAIT.
  { namespace: K8S_NAMESPACE, pod: 'api-0', container: 'api', farm: { listeners: [listener('api', 9000), listener('queue', 9001, 4)], groups: [{ kind: 'established', to: 'api', count: 6 }, { kind: 'time_wait', to: 'api', count: 3 }, { kind: 'backlog', to: 'queue', count: 4 }] } },
];

const mine = (labels: Record<string, string>): boolean => labels.namespace === K8S_NAMESPACE;

await describeWithCgroups('pod pipeline: cgroups for the pods', () => {
  describeWithNetns('pod pipeline: pod namespaces -> exporter -> Prometheus -> Alertmanager -> webhook, and the pod row of the dashboard', () => {
    const prometheusBin = toolOrSkip('prometheus', 'prometheus');
    const alertmanagerBin = toolOrSkip('prometheus-alertmanager', 'prometheus-alertmanager');
    const missing = [prometheusBin, alertmanagerBin].find((tool) => !tool.available);

    let node: TestNamespace | undefined;
    let pods: PodFixture | undefined;
    let stack: MonitoringStack | undefined;
    let dir: string | undefined;

    beforeAll(async () => {
      if (missing !== undefined) return;
      dir = mkdtempSync(join(tmpdir(), 'tcpstate-pod-pipeline-'));
      pods = await PodFixture.create(PODS);
      node = await TestNamespace.create();
      // The network namespace only (nsenter --net): the exporter needs the host's /sys/fs/cgroup.
      const exporter = node.spawnNetOnly(process.execPath, [exporterBin, `--web.listen-address=${EXPORTER}`, ...pods.exporterFlags(), '--log.level=warn']);
      let exporterLog = '';
      exporter.stderr!.on('data', (chunk: Buffer) => (exporterLog = (exporterLog + chunk.toString()).slice(-4000)));
      stack = await MonitoringStack.start({
        namespace: node,
        dir,
        rules: shortenedRules(await readFile(rulesPath, 'utf8')),
        targets: [{ instance: INSTANCE, address: EXPORTER }],
        job: JOB,
        scrapeSeconds: SCRAPE_SECONDS,
        prometheusBin: prometheusBin.path!,
        alertmanagerBin: alertmanagerBin.path!,
      });
      await waitFor(
        // Within the default table budget the exporter rotates through the machine's namespaces
        // (other tests' among them), tables not yet read first: a few scrapes on a busy machine.
        'Prometheus to scrape the pods of this test',
        60_000,
        async () => {
          if (exporter.exitCode !== null) throw new Error(`the exporter exited: ${exporterLog}`);
          const found = await stack!.query(`count by (pod) (tcpstate_netns_table_info{namespace="${K8S_NAMESPACE}"})`);
          return found.length === PODS.length ? true : undefined;
        },
        () => `${stack!.processReport()}\n--- exporter ---\n${exporterLog}`,
      );
    }, 120_000);

    afterAll(async () => {
      await stack?.stop();
      await node?.destroy();
      await pods?.destroy();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    it.skipIf(missing !== undefined)(`a CLOSE_WAIT leak in pod web-0 reaches the webhook with its namespace and pod, and no other pod alerts`, async () => {
      const leaker = pods!.pod('web-0');
      const isLeak = (labels: Record<string, string>): boolean => labels.alertname === 'TCPPodCloseWaitLeak' && labels.pod === 'web-0' && mine(labels);

      const firing: PromAlert = await waitFor(
        'TCPPodCloseWaitLeak to fire for web-0 in Prometheus',
        60_000,
        async () => {
          stack!.assertAllRunning();
          return (await stack!.alerts()).find((alert) => isLeak(alert.labels) && alert.state === 'firing');
        },
        () => stack!.processReport(),
      );
      expect(firing.labels).toMatchObject({ severity: 'warning', job: JOB, instance: INSTANCE, port: String(LEAK_PORT), netns: leaker.labels.netns, uid: leaker.uid });
      expect(Number(firing.value)).toBe(LEAK_COUNT);
      expect(firing.annotations.summary).toBe(`CLOSE_WAIT leak in pod ${K8S_NAMESPACE}/web-0 on ${INSTANCE} port ${LEAK_PORT}: ${LEAK_COUNT} sockets`);

      const delivered = await waitFor(
        'the webhook to receive TCPPodCloseWaitLeak for web-0',
        30_000,
        async () => stack!.webhookAlerts().find((alert) => isLeak(alert.labels)),
        () => `webhook alerts so far: ${JSON.stringify(stack!.webhookAlerts())}\n${stack!.processReport()}`,
      );
      expect(delivered.status).toBe('firing');
      expect(delivered.labels).toMatchObject({ alertname: 'TCPPodCloseWaitLeak', namespace: K8S_NAMESPACE, pod: 'web-0', uid: leaker.uid, netns: leaker.labels.netns, port: String(LEAK_PORT), instance: INSTANCE, severity: 'warning' });
      expect(delivered.labels.container).toBeUndefined(); // "" on the exporter's series: Prometheus drops empty labels
      expect(delivered.annotations.runbook_url).toMatch(/runbooks\.md#tcppodclosewaitleak$/);

      // Every pending or firing state any pod alert of this test's pods has had (ALERTS keeps them):
      // only web-0's leak. The node's own CLOSE_WAIT alert never saw the pod's sockets.
      const ever = await stack!.query(`count by (alertname, pod, port) (count_over_time(ALERTS{alertname=~"TCPPod.*", namespace="${K8S_NAMESPACE}"}[10m]))`);
      expect(ever.map((series) => series.metric)).toEqual([{ alertname: 'TCPPodCloseWaitLeak', pod: 'web-0', port: String(LEAK_PORT) }]);
      expect(await stack!.query('count_over_time(ALERTS{alertname="TCPCloseWaitLeak"}[10m])')).toEqual([]);
      const deliveredPods = stack!.webhookAlerts().filter((alert) => alert.labels.alertname?.startsWith('TCPPod') === true && mine(alert.labels));
      expect(new Set(deliveredPods.map((alert) => `${alert.labels.alertname} ${alert.labels.pod}`))).toEqual(new Set(['TCPPodCloseWaitLeak web-0']));
      // cart-0's near miss was seen, below the floor.
      const cart = await stack!.query(`tcpstate_netns_close_wait_sockets{namespace="${K8S_NAMESPACE}", pod="cart-0", port="${LEAK_PORT}"}`);
      expect(cart.map((series) => Number(series.value?.[1]))).toEqual([5]);
    }, 120_000);

    it.skipIf(missing !== undefined)('every query of the dashboard\'s pod row runs in Prometheus and shows these pods', async () => {
      await waitFor('5 scrapes of history', 30_000, async () => ((await stack!.query(`count_over_time(up{job="${JOB}"}[1m]) >= 5`)).length > 0 ? true : undefined));
      const { variables, results } = await runPanelQueries(stack!, podRowQueries(), SCRAPE_SECONDS);
      expect(variables.pod).toEqual(expect.arrayContaining(PODS.map((pod) => pod.pod)));
      const empty = results.filter((result) => result.series.length === 0).map((result) => result.name);
      expect(empty, 'pod row queries without data').toEqual([]);
      const value = (name: string, match: Record<string, string>): number | undefined => {
        const series = results.find((result) => result.name === name)?.series.find((s) => Object.entries(match).every(([k, v]) => s.metric[k] === v));
        return series === undefined ? undefined : Number(series.value[1]);
      };
      expect(value('Pods leaking CLOSE_WAIT / A', { namespace: K8S_NAMESPACE, pod: 'web-0', port: String(LEAK_PORT) })).toBe(LEAK_COUNT);
      expect(value('Pods leaking CLOSE_WAIT / A', { namespace: K8S_NAMESPACE, pod: 'cart-0', port: String(LEAK_PORT) })).toBe(5);
      // api-0's little listener holds 4 connections against a backlog of 4: full.
      expect(value('Fullest accept queues in pods / A', { namespace: K8S_NAMESPACE, pod: 'api-0', port: '9001' })).toBe(1);
      expect(value('Sockets per pod / A', { namespace: K8S_NAMESPACE, pod: 'web-0' })).toBeGreaterThanOrEqual(LEAK_COUNT + 3 + 1);
      const tables = results.find((result) => result.name === 'Namespace tables: how read, how old / A')!.series.filter((s) => mine(s.metric));
      expect(tables.map((s) => s.metric.pod).sort()).toEqual(PODS.map((pod) => pod.pod).sort());
      for (const table of tables) expect(table.metric.method, table.metric.pod).toBe('netlink');
    }, 60_000);
  });
});
