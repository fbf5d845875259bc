import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeState, type RuntimeStateRoots } from '../../src/owners/runtime-state.js';
import { toolOrSkip } from '../helpers/require-tool.js';

const run = promisify(execFile);

// Runtime state written the way each runtime lays it out, in a temp dir: containerd's shim task
// bundles (<root>/<namespace>/<id>/config.json), CRI-O's userdata bundles, Docker's config.v2.json.
// The config.json bodies are trimmed OCI specs with the annotation keys those runtimes set.
const SANDBOX = 'aa'.repeat(32);
const APP = 'bb'.repeat(32);
const SIDECAR = 'cc'.repeat(32);
const CRIO_APP = 'dd'.repeat(32);
const CRIO_INFRA = 'ee'.repeat(32);
const DOCKER = 'ff'.repeat(32);
const CTR = '12'.repeat(32);
const POD_UID = '6f1c2b8e-0d3a-4c5b-9e7f-a1b2c3d4e5f6';

function ociSpec(annotations: Record<string, string>): string {
  return JSON.stringify({
    ociVersion: '1.1.0',
    process: { user: { uid: 65535, gid: 65535 }, args: ['/pause'], env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], cwd: '/' },
    root: { path: 'rootfs', readonly: true },
    hostname: 'web-7d4b9c6f5-x2x9q',
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    annotations,
    linux: { cgroupsPath: 'kubepods-besteffort-pod6f1c2b8e_0d3a_4c5b_9e7f_a1b2c3d4e5f6.slice:cri-containerd:x', namespaces: [{ type: 'network' }] },
  }, null, '\t');
}

function write(file: string, body: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, body);
}

describe('RuntimeState on runtime state directories laid out as the runtimes write them', () => {
  let root: string;
  let roots: RuntimeStateRoots;
  const problems: string[] = [];

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'owners-runtime-'));
    roots = {
      containerdTasks: [join(root, 'run/containerd/io.containerd.runtime.v2.task')],
      crioContainers: [join(root, 'run/containers/storage/overlay-containers')],
      dockerContainers: [join(root, 'var/lib/docker/containers')],
    };
    const tasks = roots.containerdTasks[0]!;
    const k8s = { 'io.kubernetes.cri.sandbox-name': 'web-7d4b9c6f5-x2x9q', 'io.kubernetes.cri.sandbox-namespace': 'shop', 'io.kubernetes.cri.sandbox-uid': POD_UID, 'io.kubernetes.cri.sandbox-id': SANDBOX };
    write(join(tasks, 'k8s.io', SANDBOX, 'config.json'), ociSpec({ ...k8s, 'io.kubernetes.cri.container-type': 'sandbox', 'io.kubernetes.cri.sandbox-log-directory': `/var/log/pods/shop_web_${POD_UID}` }));
    write(join(tasks, 'k8s.io', APP, 'config.json'), ociSpec({ ...k8s, 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.container-name': 'app', 'io.kubernetes.cri.image-name': 'registry.example/shop/web:1.4' }));
    // Older containerd (before sandbox-uid): no uid annotation.
    write(join(tasks, 'k8s.io', SIDECAR, 'config.json'), ociSpec({ 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.container-name': 'envoy', 'io.kubernetes.cri.sandbox-name': 'web-7d4b9c6f5-x2x9q', 'io.kubernetes.cri.sandbox-namespace': 'shop' }));
    write(join(tasks, 'default', CTR, 'config.json'), ociSpec({}));
    const crio = roots.crioContainers[0]!;
    const crioPod = { 'io.kubernetes.pod.name': 'api-0', 'io.kubernetes.pod.namespace': 'billing', 'io.kubernetes.pod.uid': POD_UID, 'io.kubernetes.cri-o.SandboxID': CRIO_INFRA };
    write(join(crio, CRIO_APP, 'userdata', 'config.json'), ociSpec({ ...crioPod, 'io.kubernetes.container.name': 'api', 'io.kubernetes.cri-o.ContainerType': 'container' }));
    write(join(crio, CRIO_INFRA, 'userdata', 'config.json'), ociSpec({ ...crioPod, 'io.kubernetes.container.name': 'POD', 'io.kubernetes.cri-o.ContainerType': 'sandbox' }));
    write(join(roots.dockerContainers[0]!, DOCKER, 'config.v2.json'), JSON.stringify({ ID: DOCKER, Name: '/redis-cache', Config: { Hostname: 'ffffffffffff', Image: 'redis:7', Labels: {} }, State: { Running: true, Pid: 4242 } }));
    write(join(tasks, 'moby', DOCKER, 'config.json'), ociSpec({}));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const state = (): RuntimeState => new RuntimeState({ roots, onProblem: (m) => problems.push(m) });

  it('names a containerd pod sandbox and its containers from the CRI annotations', async () => {
    const s = state();
    expect(await s.lookup(SANDBOX, 'containerd')).toEqual({ containerId: SANDBOX, runtime: 'containerd', containerType: 'sandbox', podName: 'web-7d4b9c6f5-x2x9q', podNamespace: 'shop', podUid: POD_UID });
    expect(await s.lookup(APP, 'containerd')).toEqual({ containerId: APP, runtime: 'containerd', containerType: 'container', containerName: 'app', podName: 'web-7d4b9c6f5-x2x9q', podNamespace: 'shop', podUid: POD_UID });
    expect(await s.lookup(SIDECAR)).toEqual({ containerId: SIDECAR, runtime: 'containerd', containerType: 'container', containerName: 'envoy', podName: 'web-7d4b9c6f5-x2x9q', podNamespace: 'shop' });
  });

  it('names CRI-O containers, leaving the infra container unnamed', async () => {
    const s = state();
    expect(await s.lookup(CRIO_APP, 'crio')).toEqual({ containerId: CRIO_APP, runtime: 'crio', containerType: 'container', containerName: 'api', podName: 'api-0', podNamespace: 'billing', podUid: POD_UID });
    expect(await s.lookup(CRIO_INFRA, 'crio')).toEqual({ containerId: CRIO_INFRA, runtime: 'crio', containerType: 'sandbox', podName: 'api-0', podNamespace: 'billing', podUid: POD_UID });
  });

  it('names a Docker container from config.v2.json, even with the moby bundle present', async () => {
    expect(await state().lookup(DOCKER, 'docker')).toEqual({ containerId: DOCKER, runtime: 'docker', containerName: 'redis-cache' });
    expect(await state().lookup(DOCKER)).toEqual({ containerId: DOCKER, runtime: 'docker', containerName: 'redis-cache' });
  });

  it('finds a plain containerd container with no names, and nothing for an unknown id', async () => {
    expect(await state().lookup(CTR)).toEqual({ containerId: CTR, runtime: 'containerd' });
    expect(await state().lookup('99'.repeat(32))).toBeUndefined();
    expect(await state().lookup('../../etc')).toBeUndefined(); // never a path
  });

  it('caches, bounded, with least recently used evicted first; a miss is retried after its TTL', async () => {
    let t = 0;
    const s = new RuntimeState({ roots, maxEntries: 2, missTtlMs: 1000, now: () => t });
    await s.lookup(APP);
    await s.lookup(SANDBOX);
    await s.lookup(APP);
    await s.lookup(SIDECAR);
    expect(s.size).toBe(2);
    const late = 'ab'.repeat(32);
    expect(await s.lookup(late)).toBeUndefined();
    write(join(roots.containerdTasks[0]!, 'k8s.io', late, 'config.json'), ociSpec({ 'io.kubernetes.cri.container-name': 'late', 'io.kubernetes.cri.container-type': 'container' }));
    expect(await s.lookup(late)).toBeUndefined(); // remembered miss
    t += 1000;
    expect((await s.lookup(late))?.containerName).toBe('late');
  });

  describe('hostile state files', () => {
    const mkfifo = toolOrSkip('mkfifo', 'coreutils');
    const cases: Array<[string, () => Promise<void> | void, RegExp]> = [
      ['a file over the size cap', () => write(join(roots.crioContainers[0]!, '01'.repeat(32), 'userdata', 'config.json'), `{"annotations":{"x":"${'y'.repeat(5000)}"}}`), /: \d+ bytes, more than the 4096 allowed$/],
      ['not JSON', () => write(join(roots.crioContainers[0]!, '02'.repeat(32), 'userdata', 'config.json'), 'ociVersion: 1.1.0\n'), /: not a container state file: /],
      ['JSON of the wrong shape', () => write(join(roots.crioContainers[0]!, '03'.repeat(32), 'userdata', 'config.json'), '{"annotations":"nope"}'), /: not a container state file: /],
      ['a directory', () => mkdirSync(join(roots.crioContainers[0]!, '04'.repeat(32), 'userdata', 'config.json'), { recursive: true }), /: not a regular file, refused$/],
      ['a symlink to /dev/zero', () => {
        mkdirSync(join(roots.crioContainers[0]!, '05'.repeat(32), 'userdata'), { recursive: true });
        symlinkSync('/dev/zero', join(roots.crioContainers[0]!, '05'.repeat(32), 'userdata', 'config.json'));
      }, /: a symbolic link, refused$/],
      ['a FIFO nobody writes', async () => {
        mkdirSync(join(roots.crioContainers[0]!, '06'.repeat(32), 'userdata'), { recursive: true });
        await run(mkfifo.path ?? 'mkfifo', [join(roots.crioContainers[0]!, '06'.repeat(32), 'userdata', 'config.json')]);
      }, /: not a regular file, refused$/],
    ];
    it.each(cases.map((c, i) => [c[0], i] as const))('%s: skipped with one line, never hangs', async (_name, i) => {
      const [, make, message] = cases[i]!;
      await make();
      const seen: string[] = [];
      const s = new RuntimeState({ roots, maxFileBytes: 4096, onProblem: (m) => seen.push(m) });
      const id = `0${i + 1}`.repeat(32);
      const started = performance.now();
      expect(await s.lookup(id, 'crio')).toBeUndefined();
      expect(performance.now() - started).toBeLessThan(1000);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatch(message);
      expect(seen[0]).toContain(id);
      expect(seen[0]).not.toContain('\n');
    });
  });

  it('reports nothing at all on a host with no runtime state', async () => {
    const seen: string[] = [];
    const s = new RuntimeState({ roots: { containerdTasks: ['/nonexistent/a'], crioContainers: ['/nonexistent/b'], dockerContainers: ['/nonexistent/c'] }, onProblem: (m) => seen.push(m) });
    expect(await s.lookup(APP)).toBeUndefined();
    expect(seen).toEqual([]);
    expect(problems).toEqual([]);
  });
});
