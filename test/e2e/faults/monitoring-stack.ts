/**
 * A real monitoring stack for the live tests: the Debian `prometheus` and
 * `prometheus-alertmanager` binaries and a webhook receiver, in a network namespace made for the
 * test, with a copy of alerts/tcpstate.rules.yml whose `for:` durations are shortened (and
 * nothing else). The test process stays in the host namespace; it talks to Prometheus through a
 * long-lived HTTP agent inside the namespace (http-agent.mjs) and reads the webhook deliveries
 * from the receiver's stdout.
 *
 * Exporters may run in other test-made namespaces: linkNamespaces() joins two of them with a veth
 * pair on a /30 of 10.201.0.0/16, so Prometheus scrapes each fault's exporter over its own link.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import type { TestNamespace } from '../../helpers/netns.js';

const run = promisify(execFile);
const httpAgent = fileURLToPath(new URL('./http-agent.mjs', import.meta.url));
const webhookReceiver = fileURLToPath(new URL('../pipeline/webhook-receiver.mjs', import.meta.url));

export const PROMETHEUS = '127.0.0.1:9090';
export const ALERTMANAGER = '127.0.0.1:9093';
const WEBHOOK_PORT = 5001;

export interface PromResponse<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
}
export interface PromSeries {
  metric: Record<string, string>;
  value?: [number, string];
}
export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}
export interface WebhookAlert {
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a value (not undefined), at most `timeoutMs`; throws with `describe()` on timeout. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, describe: () => string = () => '', everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms (${attempt + 1} attempts) waiting for ${what}\n${describe()}`);
    await sleep(everyMs);
  }
}

interface RuleFile {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string; for?: string }[] }[];
}

/**
 * A copy of the rule file that can fire within seconds: every `for:` becomes `forDuration`. The
 * expressions, thresholds and range windows stay the project's own.
 */
export function shortenedRules(original: string, forDuration = '5s'): string {
  const doc = parse(original) as RuleFile;
  let alerts = 0;
  for (const group of doc.groups) {
    for (const rule of group.rules) {
      if (rule.alert === undefined) continue;
      alerts++;
      if (rule.for !== undefined) rule.for = forDuration;
    }
  }
  if (alerts === 0) throw new Error('no alerts in the rule file');
  return stringify(doc);
}

/** Joins two namespaces with a veth pair; returns the addresses of both ends (link `index` < 16384). */
export async function linkNamespaces(near: TestNamespace, far: TestNamespace, index: number): Promise<{ nearAddress: string; farAddress: string }> {
  const base = index * 4;
  const prefix = `10.201.${Math.floor(base / 256)}`;
  const nearAddress = `${prefix}.${(base % 256) + 1}`;
  const farAddress = `${prefix}.${(base % 256) + 2}`;
  const nearName = `mon${index}`;
  await run('ip', ['link', 'add', nearName, 'netns', near.name, 'type', 'veth', 'peer', 'name', 'mon', 'netns', far.name]);
  await run('ip', ['-n', near.name, 'addr', 'add', `${nearAddress}/30`, 'dev', nearName]);
  await run('ip', ['-n', far.name, 'addr', 'add', `${farAddress}/30`, 'dev', 'mon']);
  await run('ip', ['-n', near.name, 'link', 'set', nearName, 'up']);
  await run('ip', ['-n', far.name, 'link', 'set', 'mon', 'up']);
  return { nearAddress, farAddress };
}

export interface ScrapeTarget {
  /** The `instance` label Prometheus gives the target (the fault's name). */
  instance: string;
  address: string;
}

export interface StackOptions {
  namespace: TestNamespace;
  dir: string;
  rules: string;
  targets: readonly ScrapeTarget[];
  job: string;
  scrapeSeconds: number;
  prometheusBin: string;
  alertmanagerBin: string;
}

export class MonitoringStack {
  private readonly processes: { name: string; child: ChildProcess; logs: () => string }[] = [];
  private readonly deliveries: WebhookAlert[] = [];
  private readonly pending = new Map<number, (answer: { status?: number; body?: unknown; error?: string }) => void>();
  private nextId = 0;
  private agent: ChildProcess | undefined;

  private constructor(private readonly options: StackOptions) {}

  static async start(options: StackOptions): Promise<MonitoringStack> {
    const stack = new MonitoringStack(options);
    await stack.boot();
    return stack;
  }

  /** Every alert Alertmanager delivered to the webhook so far. */
  webhookAlerts(): readonly WebhookAlert[] {
    return this.deliveries;
  }

  processReport(): string {
    return this.processes.map(({ name, child, logs }) => `--- ${name} (exit ${child.exitCode ?? 'running'}) ---\n${logs()}`).join('\n');
  }

  assertAllRunning(): void {
    const dead = this.processes.filter(({ child }) => child.exitCode !== null || child.signalCode !== null);
    if (dead.length > 0) throw new Error(`${dead.map((d) => d.name).join(', ')} exited early\n${this.processReport()}`);
  }

  /** A Prometheus API call: POST with `form` (queries), GET without. */
  async api<T>(path: string, form?: Record<string, string>): Promise<PromResponse<T>> {
    const answer = await this.request(`http://${PROMETHEUS}${path}`, form);
    if (answer.error !== undefined) throw new Error(`${path}: ${answer.error}`);
    return answer.body as PromResponse<T>;
  }

  async alerts(): Promise<PromAlert[]> {
    return (await this.api<{ alerts: PromAlert[] }>('/api/v1/alerts')).data.alerts;
  }

  async query(expr: string): Promise<PromSeries[]> {
    const response = await this.api<{ result: PromSeries[] }>('/api/v1/query', { query: expr });
    if (response.status !== 'success') throw new Error(`query ${expr}: ${response.error ?? 'failed'}`);
    return response.data.result;
  }

  async ready(url: string): Promise<boolean> {
    const answer = await this.request(url);
    return answer.status === 200;
  }

  async stop(): Promise<void> {
    this.agent?.stdin?.end();
    for (const { child } of this.processes) if (child.exitCode === null) child.kill('SIGTERM');
  }

  private request(url: string, form?: Record<string, string>): Promise<{ status?: number; body?: unknown; error?: string }> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.agent!.stdin!.write(`${JSON.stringify({ id, url, ...(form ? { form } : {}) })}\n`);
    });
  }

  private start(name: string, command: string, args: string[]): ChildProcess {
    const child = this.options.namespace.spawn(command, args);
    let logs = '';
    child.stderr!.on('data', (chunk: Buffer) => (logs = (logs + chunk.toString()).slice(-8000)));
    this.processes.push({ name, child, logs: () => logs.slice(-4000) });
    return child;
  }

  private async boot(): Promise<void> {
    const { dir, rules, namespace } = this.options;
    writeFileSync(join(dir, 'tcpstate.rules.yml'), rules);
    writeFileSync(join(dir, 'prometheus.yml'), this.prometheusConfig(join(dir, 'tcpstate.rules.yml')));
    writeFileSync(join(dir, 'alertmanager.yml'), ALERTMANAGER_CONFIG);

    this.agent = this.start('http agent', process.execPath, [httpAgent]);
    const agentReady = lineWhere(this.agent, (line) => line === 'READY', 'http agent');
    createInterface({ input: this.agent.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      const answer = JSON.parse(line) as { id: number; status?: number; body?: unknown; error?: string };
      this.pending.get(answer.id)?.(answer);
      this.pending.delete(answer.id);
    });

    const receiver = this.start('webhook receiver', process.execPath, [webhookReceiver, String(WEBHOOK_PORT)]);
    const receiverReady = lineWhere(receiver, (line) => line.startsWith('LISTENING '), 'webhook receiver');
    createInterface({ input: receiver.stdout! }).on('line', (line) => {
      if (line.startsWith('{')) this.deliveries.push(...(JSON.parse(line) as { body: { alerts: WebhookAlert[] } }).body.alerts);
    });
    await Promise.all([agentReady, receiverReady]);

    this.start('alertmanager', this.options.alertmanagerBin, [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'alertmanager-data')}`,
      `--web.listen-address=${ALERTMANAGER}`,
      '--cluster.listen-address=', // no gossip: a single, isolated Alertmanager
      '--log.level=warn',
    ]);
    this.start('prometheus', this.options.prometheusBin, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'prometheus-data')}`,
      `--web.listen-address=${PROMETHEUS}`,
      '--log.level=warn',
    ]);
    await waitFor(
      `Prometheus and Alertmanager to answer in ${namespace.name}`,
      30_000,
      async () => {
        this.assertAllRunning();
        const answers = await Promise.all([this.ready(`http://${PROMETHEUS}/-/ready`), this.ready(`http://${ALERTMANAGER}/-/ready`)]);
        return answers.every(Boolean) ? true : undefined;
      },
      () => this.processReport(),
    );
  }

  private prometheusConfig(rulesFile: string): string {
    const { scrapeSeconds, job, targets } = this.options;
    return stringify({
      global: { scrape_interval: `${scrapeSeconds}s`, scrape_timeout: `${scrapeSeconds}s`, evaluation_interval: '1s' },
      rule_files: [rulesFile],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [ALERTMANAGER] }] }] },
      scrape_configs: [{ job_name: job, static_configs: targets.map(({ instance, address }) => ({ targets: [address], labels: { instance } })) }],
    });
  }
}

/** Resolves on the first stdout line of `child` that matches; rejects if it exits or 15 s pass. */
function lineWhere(child: ChildProcess, matches: (line: string) => boolean, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 15 s`)), 15_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!matches(line)) return;
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}`));
    });
  });
}

/** One route to the webhook, grouped per alert and instance; 1 s waits so that the test waits little. */
const ALERTMANAGER_CONFIG = stringify({
  route: { receiver: 'webhook', group_by: ['alertname', 'instance', 'port'], group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
  receivers: [{ name: 'webhook', webhook_configs: [{ url: `http://127.0.0.1:${WEBHOOK_PORT}/alerts`, send_resolved: false }] }],
});
