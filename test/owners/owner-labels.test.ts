import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyCgroupPath } from '../../src/owners/classify.js';
import { completeOwnerLabels, OWNER_LABEL_NAMES, OwnerNamer, ownerLabels, ownerLabelValues } from '../../src/owners/owner-labels.js';
import { RuntimeState } from '../../src/owners/runtime-state.js';

const UID = '6f1c2b8e-0d3a-4c5b-9e7f-a1b2c3d4e5f6';
const UID_ = UID.replaceAll('-', '_');
const SANDBOX = 'aa'.repeat(32);
const APP = 'bb'.repeat(32);
const SIDECAR = 'cc'.repeat(32);
const DOCKER = 'ff'.repeat(32);
const podSlice = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice`;

describe('ownerLabels (pure)', () => {
  const names = { containerId: APP, runtime: 'containerd' as const, containerType: 'container' as const, containerName: 'app', podName: 'web-0', podNamespace: 'shop', podUid: UID };

  it('names a systemd unit', () => {
    expect(ownerLabels(classifyCgroupPath('/system.slice/nginx.service'), undefined, { scope: 'socket' })).toEqual({ unit: 'nginx.service' });
  });

  it('names a pod container fully when the runtime state is readable', () => {
    const owner = classifyCgroupPath(`${podSlice}/cri-containerd-${APP}.scope`);
    expect(ownerLabels(owner, names, { scope: 'socket' })).toEqual({ namespace: 'shop', pod: 'web-0', uid: UID, container: 'app' });
    expect(ownerLabels(owner, names, { scope: 'netns', netns: '4026532301' })).toEqual({ netns: '4026532301', namespace: 'shop', pod: 'web-0', uid: UID });
  });

  it('degrades to uid and the short id without runtime state, telling two containers apart', () => {
    const app = ownerLabels(classifyCgroupPath(`${podSlice}/cri-containerd-${APP}.scope`), undefined, { scope: 'socket' });
    const sidecar = ownerLabels(classifyCgroupPath(`${podSlice}/cri-containerd-${SIDECAR}.scope`), undefined, { scope: 'socket' });
    expect(app).toEqual({ uid: UID, container: APP.slice(0, 12) });
    expect(sidecar).toEqual({ uid: UID, container: SIDECAR.slice(0, 12) });
    expect(ownerLabels(classifyCgroupPath(`${podSlice}/cri-containerd-${APP}.scope`), undefined, { scope: 'netns', netns: '1' })).toEqual({ netns: '1', uid: UID });
  });

  it('labels the pause container POD for sockets', () => {
    const owner = classifyCgroupPath(`${podSlice}/cri-containerd-${SANDBOX}.scope`);
    expect(ownerLabels(owner, { ...names, containerId: SANDBOX, containerType: 'sandbox', containerName: undefined }, { scope: 'socket' }).container).toBe('POD');
  });

  it('names a container outside Kubernetes by name, else short id; its netns by the same', () => {
    const owner = classifyCgroupPath(`/system.slice/docker-${DOCKER}.scope`);
    expect(ownerLabels(owner, { containerId: DOCKER, runtime: 'docker', containerName: 'redis' }, { scope: 'netns', netns: '7' })).toEqual({ netns: '7', container: 'redis' });
    expect(ownerLabels(owner, undefined, { scope: 'socket' })).toEqual({ container: 'ffffffffffff' });
  });

  it('gives a pod cgroup its uid, and anything else its trimmed path in unit', () => {
    expect(ownerLabels(classifyCgroupPath(podSlice), undefined, { scope: 'socket' })).toEqual({ uid: UID });
    expect(ownerLabels(classifyCgroupPath('/'), undefined, { scope: 'socket' })).toEqual({ unit: '/' });
    expect(ownerLabels(classifyCgroupPath('/batch/job-17/'), undefined, { scope: 'socket' })).toEqual({ unit: '/batch/job-17' });
  });

  it('lists values in label order with "" for absent ones', () => {
    expect(OWNER_LABEL_NAMES).toEqual(['netns', 'namespace', 'pod', 'uid', 'container', 'unit']);
    expect(ownerLabelValues({ uid: UID, container: 'app' })).toEqual(['', '', '', UID, 'app', '']);
    expect(ownerLabelValues({ unit: 'x.service' }, ['unit'])).toEqual(['x.service']);
    expect(completeOwnerLabels({ unit: 'x.service' })).toEqual({ netns: '', namespace: '', pod: '', uid: '', container: '', unit: 'x.service' });
  });
});

describe('OwnerNamer over real runtime state files', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'owners-labels-'));
    const write = (id: string, annotations: Record<string, string>): void => {
      const dir = join(root, 'k8s.io', id);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ ociVersion: '1.1.0', annotations }));
    };
    const pod = { 'io.kubernetes.cri.sandbox-name': 'web-0', 'io.kubernetes.cri.sandbox-namespace': 'shop', 'io.kubernetes.cri.sandbox-uid': UID };
    write(SANDBOX, { ...pod, 'io.kubernetes.cri.container-type': 'sandbox' });
    write(APP, { ...pod, 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.container-name': 'app' });
    write(SIDECAR, { ...pod, 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.container-name': 'envoy' });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('labels two containers of one pod apart, and the pod namespace once', async () => {
    const namer = new OwnerNamer(new RuntimeState({ roots: { containerdTasks: [root], crioContainers: [], dockerContainers: [] } }));
    expect(await namer.labelsForCgroupPath(`${podSlice}/cri-containerd-${APP}.scope`, { scope: 'socket' })).toEqual({ namespace: 'shop', pod: 'web-0', uid: UID, container: 'app' });
    expect(await namer.labelsForCgroupPath(`${podSlice}/cri-containerd-${SIDECAR}.scope`, { scope: 'socket' })).toEqual({ namespace: 'shop', pod: 'web-0', uid: UID, container: 'envoy' });
    expect(await namer.labelsForCgroupPath(`${podSlice}/cri-containerd-${SANDBOX}.scope`, { scope: 'netns', netns: '9' })).toEqual({ netns: '9', namespace: 'shop', pod: 'web-0', uid: UID });
    expect(await namer.labelsForCgroupPath('/system.slice/sshd.service', { scope: 'socket' })).toEqual({ unit: 'sshd.service' });
  });
});
