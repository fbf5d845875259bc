/**
 * Pod-like network namespaces for end-to-end tests, made the way a Kubernetes node has them: each
 * pod is an `ip netns` namespace holding a socket farm, whose processes sit in a cgroup v2
 * directory named as kubelet (systemd cgroup driver) and containerd name theirs
 * (`kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope`),
 * and a containerd task bundle (`<state>/k8s.io/<id>/config.json` with the CRI annotations) in a
 * temporary state directory. With exporterFlags() the netns collector labels each namespace with
 * the pod's `namespace`, `pod` and `uid`, as on a node.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestCgroups, writeProcs } from '../owners/cgroup-fixture.js';
import { TestNamespace, type RunningFarm } from './netns.js';

export interface PodSpec {
  /** The Kubernetes namespace and pod name the CRI annotations give it. */
  readonly namespace: string;
  readonly pod: string;
  /** The name of its (one) container. */
  readonly container: string;
  /** A socket_farm.py spec: the sockets the pod holds. */
  readonly farm: unknown;
}

export interface Pod {
  readonly spec: PodSpec;
  readonly uid: string;
  readonly ns: TestNamespace;
  readonly farm: RunningFarm;
  /** The owner labels the netns collector must give the pod's series ("" where none). */
  readonly labels: Readonly<Record<'netns' | 'namespace' | 'pod' | 'uid' | 'container', string>>;
}

export class PodFixture {
  private constructor(
    readonly pods: readonly Pod[],
    private readonly cgroups: TestCgroups,
    private readonly state: string,
  ) {}

  /** Makes every pod; on failure, removes what it made before rethrowing. */
  static async create(specs: readonly PodSpec[]): Promise<PodFixture> {
    const cgroups = await TestCgroups.create();
    const state = mkdtempSync(join(tmpdir(), 'tcpstate-pods-state-'));
    const pods: Pod[] = [];
    const fixture = new PodFixture(pods, cgroups, state);
    try {
      for (const spec of specs) pods.push(await fixture.makePod(spec));
    } catch (error) {
      await fixture.destroy();
      throw error;
    }
    return fixture;
  }

  /** Points the netns collector at this fixture's runtime state (and only at it). */
  exporterFlags(): string[] {
    return [
      `--path.containerd.tasks=${join(this.state, 'tasks')}`,
      `--path.docker.containers=${join(this.state, 'docker')}`,
      `--path.crio.containers=${join(this.state, 'crio')}`,
    ];
  }

  /** The pod with this name. */
  pod(name: string): Pod {
    const found = this.pods.find((pod) => pod.spec.pod === name);
    if (found === undefined) throw new Error(`no pod ${name} in the fixture`);
    return found;
  }

  async destroy(): Promise<void> {
    for (const pod of this.pods) await pod.farm.stop().catch(() => undefined);
    for (const pod of this.pods) await pod.ns.destroy();
    await this.cgroups.destroy();
    rmSync(this.state, { recursive: true, force: true });
  }

  private async makePod(spec: PodSpec): Promise<Pod> {
    const uid = randomUUID();
    const id = randomBytes(32).toString('hex');
    const bundle = join(this.state, 'tasks', 'k8s.io', id);
    mkdirSync(bundle, { recursive: true });
    writeFileSync(
      join(bundle, 'config.json'),
      JSON.stringify({
        ociVersion: '1.1.0',
        annotations: {
          'io.kubernetes.cri.sandbox-name': spec.pod,
          'io.kubernetes.cri.sandbox-namespace': spec.namespace,
          'io.kubernetes.cri.sandbox-uid': uid,
          'io.kubernetes.cri.container-type': 'container',
          'io.kubernetes.cri.container-name': spec.container,
        },
      }),
    );
    const ns = await TestNamespace.create();
    let farm: RunningFarm;
    try {
      farm = await ns.startFarm(spec.farm);
    } catch (error) {
      await ns.destroy();
      throw error;
    }
    const slice = `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid.replaceAll('-', '_')}.slice/cri-containerd-${id}.scope`;
    const dir = this.cgroups.mkdir(slice);
    for (const pid of [farm.pid, ...farm.children]) writeProcs(dir, pid);
    return { spec, uid, ns, farm, labels: { netns: ns.name, namespace: spec.namespace, pod: spec.pod, uid, container: '' } };
  }
}
