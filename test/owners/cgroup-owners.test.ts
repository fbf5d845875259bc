import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CgroupOwners } from '../../src/owners/cgroup-owners.js';
import { CgroupTree } from '../../src/owners/cgroup-tree.js';
import { OwnerNamer } from '../../src/owners/owner-labels.js';
import { RuntimeState } from '../../src/owners/runtime-state.js';
import { describeWithCgroups, TestCgroups } from './cgroup-fixture.js';

const UID = '0c9d2a4e-7b1f-4e3a-8c5d-6e7f8a9b0c1d';
const APP = '1a'.repeat(32);
const SIDECAR = '2b'.repeat(32);
const POD = `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID.replaceAll('-', '_')}.slice`;

await describeWithCgroups('CgroupOwners: cgroup ids of real cgroup directories to owner labels', () => {
  let cgroups: TestCgroups;
  let state: string;
  let owners: CgroupOwners;

  beforeAll(async () => {
    cgroups = await TestCgroups.create();
    state = mkdtempSync(join(tmpdir(), 'owners-ids-'));
    const pod = { 'io.kubernetes.cri.sandbox-name': 'checkout-5f7d8', 'io.kubernetes.cri.sandbox-namespace': 'shop', 'io.kubernetes.cri.sandbox-uid': UID, 'io.kubernetes.cri.container-type': 'container' };
    for (const [id, name] of [[APP, 'app'], [SIDECAR, 'istio-proxy']] as const) {
      mkdirSync(join(state, 'k8s.io', id), { recursive: true });
      writeFileSync(join(state, 'k8s.io', id, 'config.json'), JSON.stringify({ ociVersion: '1.1.0', annotations: { ...pod, 'io.kubernetes.cri.container-name': name } }));
    }
    cgroups.mkdir(`${POD}/cri-containerd-${APP}.scope`);
    cgroups.mkdir(`${POD}/cri-containerd-${SIDECAR}.scope`);
    cgroups.mkdir('system.slice/nginx.service');
    const runtime = new RuntimeState({ roots: { containerdTasks: [state], crioContainers: [], dockerContainers: [] } });
    owners = new CgroupOwners(new CgroupTree({ mountPoint: cgroups.mountPoint }), new OwnerNamer(runtime));
  });
  afterAll(async () => {
    await cgroups?.destroy();
    if (state !== undefined) rmSync(state, { recursive: true, force: true });
  });

  it('tells the two containers of one pod apart, names the unit, and leaves an unknown id undefined', async () => {
    const app = cgroups.ino(`${POD}/cri-containerd-${APP}.scope`);
    const sidecar = cgroups.ino(`${POD}/cri-containerd-${SIDECAR}.scope`);
    const nginx = cgroups.ino('system.slice/nginx.service');
    const labels = await owners.labelsFor([app, sidecar, nginx, 987_654_321]);
    expect(labels.get(app)).toEqual({ namespace: 'shop', pod: 'checkout-5f7d8', uid: UID, container: 'app' });
    expect(labels.get(sidecar)).toEqual({ namespace: 'shop', pod: 'checkout-5f7d8', uid: UID, container: 'istio-proxy' });
    expect(labels.get(nginx)).toEqual({ unit: 'nginx.service' });
    expect(labels.has(987_654_321)).toBe(true);
    expect(labels.get(987_654_321)).toBeUndefined();
  });

  it('answers a steady-state batch of 1,000 ids in well under a millisecond', async () => {
    for (let i = 0; i < 1000; i++) cgroups.mkdir(`batch/s${i % 20}.slice/unit-${i}.service`);
    const ids = [...Array(1000).keys()].map((i) => cgroups.ino(`batch/s${i % 20}.slice/unit-${i}.service`));
    const tree = new CgroupTree({ mountPoint: cgroups.mountPoint });
    const batchOwners = new CgroupOwners(tree, new OwnerNamer(new RuntimeState({ roots: { containerdTasks: [], crioContainers: [], dockerContainers: [] } })));
    const first = await batchOwners.labelsFor(ids);
    expect(first.get(ids[999]!)).toEqual({ unit: 'unit-999.service' });
    // Warm up first: a scrape every 15 s runs this code warm after its first few scrapes.
    for (let i = 0; i < 30; i++) await batchOwners.labelsFor(ids);
    const times: number[] = [];
    for (let i = 0; i < 31; i++) {
      const started = performance.now();
      await batchOwners.labelsFor(ids);
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    console.log(`owner labels for 1,000 cgroup ids, steady state: median ${(times[15]! * 1000).toFixed(0)} µs, max ${(times[30]! * 1000).toFixed(0)} µs (the first batch walked ${tree.size} directories in ${tree.lastWalk!.durationMs.toFixed(1)} ms)`);
    expect(times[15]).toBeLessThan(1);
  });
});
