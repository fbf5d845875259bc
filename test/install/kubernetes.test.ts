/**
 * Every shipped kustomization renders with the real `kubectl kustomize`, every rendered object is
 * valid against the Kubernetes (and Prometheus Operator CRD) schema, and the pod runs with the
 * least privilege docs/security.md promises: none for the default collectors, exactly the
 * process collector's two capabilities behind its component.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseCommandLine } from '../../src/cli.js';
import { COLLECTORS } from '../../src/collectors/index.js';
import { parseConfig } from '../../src/config/config.js';
import { repoRoot } from '../helpers/netns.js';
import { toolOrSkip } from '../helpers/require-tool.js';
import { run } from './helpers.js';
import { find, podSpec, render, renderComposition, schemaErrors, type Container, type K8sObject } from './kubernetes.js';

const kubectl = toolOrSkip('kubectl', 'kubectl');
const tool = kubectl.path ?? 'kubectl';

/** The kustomizations a user applies, by directory. */
const KUSTOMIZATIONS = ['deploy/kubernetes/base', 'deploy/kubernetes', 'deploy/kubernetes-overlays/process-collector', 'deploy/kubernetes-overlays/kube-rbac-proxy', 'deploy/kubernetes-overlays/pod-network-namespaces'];
/** Components on the Operator-free base, and both components together. */
const COMPOSITIONS: { resources: string[]; components: string[] }[] = [
  { resources: ['deploy/kubernetes/base'], components: ['deploy/kubernetes/components/process-collector'] },
  { resources: ['deploy/kubernetes/base'], components: ['deploy/kubernetes/components/kube-rbac-proxy'] },
  { resources: ['deploy/kubernetes'], components: ['deploy/kubernetes/components/process-collector', 'deploy/kubernetes/components/kube-rbac-proxy'] },
  { resources: ['deploy/kubernetes/base'], components: ['deploy/kubernetes/components/node-cgroups'] },
  { resources: ['deploy/kubernetes/base'], components: ['deploy/kubernetes/components/pod-network-namespaces'] },
  { resources: ['deploy/kubernetes'], components: ['deploy/kubernetes/components/pod-network-namespaces', 'deploy/kubernetes/components/process-collector', 'deploy/kubernetes/components/kube-rbac-proxy'] },
];

/** Args as the kubelet passes them ($(HOST_IP) expanded), accepted by the exporter's own parser. */
function expectAcceptedFlags(args: readonly string[]): void {
  for (const hostIp of ['10.0.0.7', '2001:db8::7']) {
    const expanded = args.map((arg) => arg.replaceAll('$(HOST_IP)', hostIp));
    const parsed = parseCommandLine(expanded, COLLECTORS, () => undefined);
    expect(() => parseConfig(parsed.flags, COLLECTORS), expanded.join(' ')).not.toThrow();
  }
}

const exporterOf = (objects: readonly K8sObject[]): Container => podSpec(objects).containers.find((c) => c.name === 'tcpstate-exporter')!;

describe.skipIf(!kubectl.available)('Kubernetes manifests, rendered by kubectl kustomize', () => {
  const rendered = new Map<string, Promise<K8sObject[]>>();
  const renderOnce = (dir: string): Promise<K8sObject[]> => {
    if (!rendered.has(dir)) rendered.set(dir, render(tool, join(repoRoot, dir)));
    return rendered.get(dir)!;
  };

  it.each(KUSTOMIZATIONS)('%s: every object is valid against the API schema, in the monitoring namespace it creates', async (dir) => {
    const objects = await renderOnce(dir);
    expect(objects.length).toBeGreaterThan(0);
    for (const object of objects) expect(await schemaErrors(object), `${object.kind} ${object.metadata.name}`).toBeUndefined();
    expect(find(objects, 'Namespace', 'monitoring')).toBeDefined();
    const cluster = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);
    for (const object of objects.filter((o) => !cluster.has(o.kind))) expect(object.metadata.namespace, `${object.kind} ${object.metadata.name}`).toBe('monitoring');
    expectAcceptedFlags(exporterOf(objects).args ?? []);
  });

  it.each(COMPOSITIONS)('components $components on $resources render and validate', async ({ resources, components }) => {
    const objects = await renderComposition(tool, resources, components);
    for (const object of objects) expect(await schemaErrors(object), `${object.kind} ${object.metadata.name}`).toBeUndefined();
    expectAcceptedFlags(exporterOf(objects).args ?? []);
  });

  it('the kustomization of your own in docs/install.md renders with the image it names', async () => {
    const doc = readFileSync(join(repoRoot, 'docs', 'install.md'), 'utf8');
    const example = parse(/```yaml\n# kustomization\.yaml of your own\n([^]*?)```/.exec(doc)![1]!) as { resources: string[]; components: string[]; images: { name: string; newName: string; newTag: string }[] };
    const local = (paths: string[]): string[] => paths.map((path) => path.replace('<path to this repository>/', ''));
    const dir = mkdtempSync(join(tmpdir(), 'tcpstate-kustomize-'));
    // kustomize takes only relative paths.
    const fromDir = (paths: string[]): string[] => local(paths).map((path) => relative(dir, join(repoRoot, path)));
    try {
      writeFileSync(join(dir, 'kustomization.yaml'), stringify({ resources: fromDir(example.resources), components: fromDir(example.components), images: example.images }));
      const objects = await render(tool, dir);
      const image = example.images[0]!;
      expect(podSpec(objects).containers[0]!.image).toBe(`${image.newName}:${image.newTag}`);
      for (const object of objects) expect(await schemaErrors(object), `${object.kind} ${object.metadata.name}`).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the schema check catches a wrong manifest (a string where the API wants a boolean)', async () => {
    const objects = await renderOnce('deploy/kubernetes/base');
    const broken = JSON.parse(JSON.stringify(find(objects, 'DaemonSet'))) as K8sObject & { spec: { template: { spec: { hostNetwork: unknown } } } };
    broken.spec.template.spec.hostNetwork = 'yes';
    expect(await schemaErrors(broken)).toMatch(/hostNetwork must be boolean/);
  });

  it('base: the default collectors run with least privilege', async () => {
    const pod = podSpec(await renderOnce('deploy/kubernetes/base'));
    expect(pod.hostNetwork, 'the socket table is the host network namespace’s').toBe(true);
    expect(pod.hostPID).toBeUndefined();
    expect(pod.volumes ?? [], 'no hostPath mounts').toEqual([]);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, seccompProfile: { type: 'RuntimeDefault' } });
    for (const container of pod.containers) {
      expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'], add: [] } });
    }
    const args = exporterOf(await renderOnce('deploy/kubernetes/base')).args!;
    expect(args).toContain('--web.listen-address=[$(HOST_IP)]:9977');
    expect(args).not.toContain('--collector.process');
  });

  it('process-collector: adds hostPID, root and exactly SYS_PTRACE and DAC_READ_SEARCH, nothing else', async () => {
    const objects = await renderOnce('deploy/kubernetes-overlays/process-collector');
    const pod = podSpec(objects);
    expect(pod.hostPID).toBe(true);
    expect(pod.securityContext).toEqual({ runAsNonRoot: false, runAsUser: 0, runAsGroup: 0, seccompProfile: { type: 'RuntimeDefault' } });
    const exporter = exporterOf(objects);
    expect(exporter.args).toContain('--collector.process');
    expect(exporter.securityContext).toEqual({ allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'], add: ['SYS_PTRACE', 'DAC_READ_SEARCH'] } });
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it('kube-rbac-proxy: the exporter listens on loopback only, the proxy serves HTTPS in front of it, the ServiceMonitor scrapes HTTPS', async () => {
    const objects = await renderOnce('deploy/kubernetes-overlays/kube-rbac-proxy');
    const pod = podSpec(objects);
    const exporter = exporterOf(objects);
    const proxy = pod.containers.find((c) => c.name === 'kube-rbac-proxy')!;
    expect(exporter.args).toContain('--web.listen-address=127.0.0.1:9978');
    expect(proxy.args).toContain('--upstream=http://127.0.0.1:9978/');
    expect(proxy.args).toContain('--secure-listen-address=[$(HOST_IP)]:9977');
    expect(pod.serviceAccountName).toBe('tcpstate-exporter');
    expect(find(objects, 'ServiceAccount')).toBeDefined();
    const monitor = find(objects, 'ServiceMonitor') as unknown as { spec: { endpoints: { scheme?: string }[] } };
    expect(monitor.spec.endpoints[0]!.scheme).toBe('https');
  });

  it.each(['deploy/kubernetes', 'deploy/kubernetes-overlays/process-collector', 'deploy/kubernetes-overlays/kube-rbac-proxy', 'deploy/kubernetes-overlays/pod-network-namespaces'])('%s: the ServiceMonitor honours the exporter’s labels', async (dir) => {
    const monitor = find(await renderOnce(dir), 'ServiceMonitor') as unknown as { spec: { endpoints: { honorLabels?: boolean }[] } };
    expect(monitor.spec.endpoints.map((endpoint) => endpoint.honorLabels)).toEqual([true]);
  });

  it('base has no Prometheus Operator resources (no CRDs needed)', async () => {
    const objects = await renderOnce('deploy/kubernetes/base');
    expect(objects.filter((object) => object.apiVersion.startsWith('monitoring.coreos.com/'))).toEqual([]);
  });
});

describe('the plain Prometheus scrape config in docs/install.md', () => {
  const promtool = toolOrSkip('promtool', 'prometheus');
  const doc = readFileSync(join(repoRoot, 'docs', 'install.md'), 'utf8');
  const block = /```yaml\n(# prometheus\.yml[^]*?)```/.exec(doc)?.[1];

  it('is there, and sets honor_labels: true on every job', () => {
    expect(block, 'a ```yaml block starting with "# prometheus.yml"').toBeDefined();
    const config = parse(block!) as { scrape_configs: { job_name: string; honor_labels?: boolean }[] };
    expect(config.scrape_configs.length).toBeGreaterThan(0);
    for (const job of config.scrape_configs) expect(job.honor_labels, job.job_name).toBe(true);
  });

  it.skipIf(!promtool.available)('passes promtool check config', async () => {
    // Debian builds Prometheus without Kubernetes service discovery, so its promtool rejects
    // kubernetes_sd_configs as an unknown field: check the job with a static target in its place
    // (the relabelling, honor_labels and timeouts are still Prometheus's to judge).
    const config = parse(block!) as { scrape_configs: Record<string, unknown>[] };
    for (const job of config.scrape_configs) {
      if ('kubernetes_sd_configs' in job) {
        delete job.kubernetes_sd_configs;
        job.static_configs = [{ targets: ['127.0.0.1:9977'] }];
      }
    }
    const dir = mkdtempSync(join(tmpdir(), 'tcpstate-promconfig-'));
    try {
      writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
      const { stdout } = await run(promtool.path!, ['check', 'config', '--syntax-only', join(dir, 'prometheus.yml')]);
      expect(stdout).toContain('SUCCESS');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
