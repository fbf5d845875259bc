/**
 * Rendering the kustomizations with the real `kubectl kustomize`, and validating what comes out
 * against the Kubernetes API's own schema: kubernetes-models' validators are generated from the
 * Kubernetes OpenAPI spec, @kubernetes-models/prometheus-operator's from the Operator's CRD
 * schemas (ServiceMonitor, PrometheusRule).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../helpers/netns.js';
import { run } from './helpers.js';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** `kubectl kustomize <dir>`, parsed. */
export async function render(kubectl: string, dir: string): Promise<K8sObject[]> {
  const { stdout } = await run(kubectl, ['kustomize', dir], { maxBuffer: 16 << 20 });
  return parseAllDocuments(stdout).map((document) => {
    if (document.errors.length > 0) throw new Error(`${dir}: ${document.errors[0]!.message}`);
    return document.toJS() as K8sObject;
  });
}

/** Renders a throw-away kustomization: `resources` plus `components`, paths from the repo root. */
export async function renderComposition(kubectl: string, resources: readonly string[], components: readonly string[]): Promise<K8sObject[]> {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstate-kustomize-'));
  try {
    // kustomize takes only relative paths.
    const list = (paths: readonly string[]): string => paths.map((path) => `  - ${relative(dir, join(repoRoot, path))}\n`).join('');
    writeFileSync(join(dir, 'kustomization.yaml'), `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n${list(resources)}components:\n${list(components)}`);
    return await render(kubectl, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

/** The kubernetes-models module of an apiVersion/kind. */
function modelModule(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === 'monitoring.coreos.com') return `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`;
  return group === '' ? `kubernetes-models/${version}/${kind}` : `kubernetes-models/${group}/${version}/${kind}`;
}

/** Validates one object against its API schema; the schema's complaint, or undefined when valid. */
export async function schemaErrors(object: K8sObject): Promise<string | undefined> {
  const module = modelModule(object.apiVersion, object.kind);
  let Class: ModelClass;
  try {
    Class = ((await import(module)) as Record<string, ModelClass>)[object.kind]!;
  } catch {
    return `no schema for ${object.apiVersion} ${object.kind} (${module})`;
  }
  try {
    new Class(object).validate();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export function find(objects: readonly K8sObject[], kind: string, name = 'tcpstate-exporter'): K8sObject | undefined {
  return objects.find((object) => object.kind === kind && object.metadata.name === name);
}

export interface Container {
  name: string;
  image?: string;
  args?: string[];
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    privileged?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
    appArmorProfile?: { type: string };
  };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; mountPropagation?: string }[];
}
export interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  automountServiceAccountToken?: boolean;
  serviceAccountName?: string;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; runAsGroup?: number; seccompProfile?: { type: string } };
  containers: Container[];
  volumes?: { name: string; hostPath?: { path: string; type?: string } }[];
}

export function podSpec(objects: readonly K8sObject[]): PodSpec {
  const daemonset = find(objects, 'DaemonSet') as unknown as { spec: { template: { spec: PodSpec } } } | undefined;
  if (!daemonset) throw new Error('no DaemonSet tcpstate-exporter');
  return daemonset.spec.template.spec;
}
