/**
 * The faults the alerts exist for, reproduced on real sockets, each in a network namespace of its
 * own with the exporter on default flags, all scraped by one real Prometheus running
 * alerts/tcpstate.rules.yml (every `for:` shortened to FOR, nothing else changed) that notifies a
 * real Alertmanager, which posts to a webhook. Each fault's alert must fire, carry the labels that
 * name the culprit (port, destination) and reach the webhook; each near miss must stay silent.
 * The time from the start of each fault to its alert firing is printed.
 *
 * Windows: the rules' range windows are not shortened, but Prometheus here is seconds old, so a
 * window holds the samples there are. That matters for TCPCloseWaitLeak only: its 10-minute
 * min_over_time covers the leak's whole life (at or above the floor from the first scrape), so it
 * fires after `for:` instead of 10 minutes; alerts/tcpstate.rules.test.yml covers the real window.
 * The spike that drains does start below the floor, so the same window keeps it silent here too.
 *
 * Runs in parallel, about a minute in all: 11 namespaces, 10 exporters, 4 SYN floods at once.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithNetns, exporterBin, TestNamespace } from '../../helpers/netns.js';
import { toolOrSkip } from '../../helpers/require-tool.js';
import { FAULTS, type Fault, type FaultContext } from './fault-catalogue.js';
import { linkNamespaces, MonitoringStack, shortenedRules, sleep, waitFor, type PromAlert } from './monitoring-stack.js';

const run = promisify(execFile);
const rulesPath = fileURLToPath(new URL('../../../alerts/tcpstate.rules.yml', import.meta.url));
const flooderSource = fileURLToPath(new URL('./syn-flooder.c', import.meta.url));

const JOB = 'tcpstate';
/**
 * 3 s, with a 3 s timeout: the kernel's TCP hash table is shared by every namespace, so a dump
 * slows down while something else on the host holds many sockets, and a scrape that times out
 * marks every series stale, which resets the alerts' `for`.
 */
const SCRAPE_SECONDS = 3;
const FOR = '5s';
/** Every fault's alert must fire within this long after the fault starts (shortened `for:` included). */
const FIRE_WITHIN_MS = 75_000;
/** A near miss is watched at least this long after its fault started before it counts as silent. */
const NEAR_MISS_WATCH_MS = 30_000;

interface Running {
  fault: Fault;
  ns: TestNamespace;
  address: string;
  startedAt?: number;
}

function matches(alert: { labels: Record<string, string> }, instance: string, expected: Record<string, string>): boolean {
  return alert.labels.instance === instance && Object.entries(expected).every(([key, value]) => alert.labels[key] === value);
}

describeWithNetns('real faults page through Prometheus and Alertmanager; their near misses do not', () => {
  const prometheusBin = toolOrSkip('prometheus', 'prometheus');
  const alertmanagerBin = toolOrSkip('prometheus-alertmanager', 'prometheus-alertmanager');
  const gcc = toolOrSkip('gcc', 'gcc');
  const missing = [prometheusBin, alertmanagerBin, gcc].find((tool) => !tool.available);

  let dir: string;
  let monitor: TestNamespace;
  let stack: MonitoringStack | undefined;
  const running: Running[] = [];
  const firedAt = new Map<string, { at: number; alert: PromAlert }>();

  beforeAll(async () => {
    if (missing !== undefined) return;
    if (!existsSync(exporterBin)) throw new Error(`${exporterBin} is missing: run npm run build first`);
    dir = mkdtempSync(join(tmpdir(), 'tcpstate-faults-'));
    const flooder = join(dir, 'syn-flooder');
    await run(gcc.path!, ['-O2', '-Wall', '-Werror', '-o', flooder, flooderSource]);

    monitor = await TestNamespace.create();
    // Namespaces one after the other (ip netns is quick); exporters all at once.
    for (const [index, fault] of FAULTS.entries()) {
      const ns = await TestNamespace.create();
      const { farAddress } = await linkNamespaces(monitor, ns, index + 1);
      running.push({ fault, ns, address: `${farAddress}:9977` });
    }
    await Promise.all(
      running.map(async (entry) => {
        const context: FaultContext = { ns: entry.ns, dir, flooder };
        if (entry.fault.sysctls.length > 0) await entry.ns.exec('sysctl', ['-q', '-w', ...entry.fault.sysctls]);
        await entry.fault.prepare?.(context);
        entry.fault.exporter = entry.ns.spawn(process.execPath, [exporterBin, `--web.listen-address=${entry.address}`, '--log.level=warn']);
      }),
    );

    stack = await MonitoringStack.start({
      namespace: monitor,
      dir,
      rules: shortenedRules(readFileSync(rulesPath, 'utf8'), FOR),
      targets: running.map(({ fault, address }) => ({ instance: fault.name, address })),
      job: JOB,
      scrapeSeconds: SCRAPE_SECONDS,
      prometheusBin: prometheusBin.path!,
      alertmanagerBin: alertmanagerBin.path!,
    });
    await waitFor(
      'every fault exporter to be up in Prometheus',
      60_000,
      async () => {
        stack!.assertAllRunning();
        const up = await stack!.query(`up{job="${JOB}"} == 1`);
        return up.length === FAULTS.length ? true : undefined;
      },
      () => stack!.processReport(),
      1000,
    );
  }, 150_000);

  afterAll(async () => {
    for (const entry of running) await entry.fault.stop?.();
    await stack?.stop();
    for (const entry of running) await entry.ns.destroy();
    await monitor?.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(missing !== undefined)(
    'every fault fires its alert, naming the culprit, and each time to fire is printed',
    async () => {
      await Promise.all(
        running.map(async (entry) => {
          entry.startedAt = Date.now();
          await entry.fault.start({ ns: entry.ns, dir, flooder: join(dir, 'syn-flooder') });
        }),
      );
      const expectations = running.flatMap((entry) => entry.fault.fires.map((expected) => ({ entry, expected, key: `${entry.fault.name} ${JSON.stringify(expected)}` })));
      expect(expectations.length).toBeGreaterThanOrEqual(9);

      await waitFor(
        'every fault to fire its alert',
        FIRE_WITHIN_MS,
        async () => {
          stack!.assertAllRunning();
          const alerts = await stack!.alerts();
          for (const { entry, expected, key } of expectations) {
            if (firedAt.has(key)) continue;
            const alert = alerts.find((a) => a.state === 'firing' && matches(a, entry.fault.name, expected));
            if (alert !== undefined) firedAt.set(key, { at: Date.now(), alert });
          }
          return firedAt.size === expectations.length ? true : undefined;
        },
        () => `still waiting for: ${expectations.filter(({ key }) => !firedAt.has(key)).map(({ key }) => key).join('; ')}\n${stack!.processReport()}`,
        1000,
      );

      for (const { entry, expected, key } of expectations) {
        const { at, alert } = firedAt.get(key)!;
        const seconds = ((at - entry.startedAt!) / 1000).toFixed(1);
        const pendingAfter = ((Date.parse(alert.activeAt) - entry.startedAt!) / 1000).toFixed(1);
        console.log(`${expected.alertname}${expected.severity === undefined ? "" : ` (${expected.severity})`} fired ${seconds} s after the fault started (${entry.fault.name}: ${entry.fault.description}); pending after ${pendingAfter} s, for: ${FOR}; ${alert.annotations.summary}`);
        expect(alert.labels).toMatchObject({ job: JOB, ...expected });
      }
    },
    FIRE_WITHIN_MS + 30_000,
  );

  it.skipIf(missing !== undefined)(
    'the near misses happened, were scraped, and never even went pending',
    async () => {
      const latest = Math.max(...running.map((entry) => entry.startedAt ?? Date.now()));
      await sleep(Math.max(0, latest + NEAR_MISS_WATCH_MS - Date.now()));
      for (const entry of running) {
        for (const check of entry.fault.seen ?? []) {
          const result = await stack!.query(check.query.replaceAll('$instance', entry.fault.name));
          expect(result.length, `${entry.fault.name}: ${check.what} (${check.query})`).toBeGreaterThan(0);
        }
        for (const silent of entry.fault.silent ?? []) {
          const selector = Object.entries({ instance: entry.fault.name, ...silent }).map(([key, value]) => `${key}="${value}"`).join(',');
          const ever = await stack!.query(`count_over_time(ALERTS{${selector}}[10m])`);
          expect(ever.map((series) => series.metric), `${entry.fault.name}: ${silent.alertname} went pending`).toEqual([]);
        }
      }
      for (const entry of running) {
        const report = await entry.fault.report?.((expr) => stack!.query(expr.replaceAll('$instance', entry.fault.name)));
        if (report !== undefined) console.log(`${entry.fault.name}: ${report}`);
      }
    },
    NEAR_MISS_WATCH_MS + 30_000,
  );

  it.skipIf(missing !== undefined)(
    'Alertmanager delivered every fault alert to the webhook, with the same labels',
    async () => {
      const expectations = running.flatMap((entry) => entry.fault.fires.map((expected) => ({ instance: entry.fault.name, expected })));
      await waitFor(
        'the webhook to receive every fault alert',
        30_000,
        async () => (expectations.every(({ instance, expected }) => stack!.webhookAlerts().some((a) => a.status === 'firing' && matches(a, instance, expected))) ? true : undefined),
        () => `webhook got: ${JSON.stringify(stack!.webhookAlerts().map((a) => a.labels))}`,
      );
      for (const { instance, expected } of expectations) {
        const delivered = stack!.webhookAlerts().find((a) => matches(a, instance, expected))!;
        expect(delivered.annotations.runbook_url).toMatch(new RegExp(`runbooks\\.md#${expected.alertname!.toLowerCase()}$`));
      }
    },
    45_000,
  );
});
