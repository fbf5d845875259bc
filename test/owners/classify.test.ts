import { describe, expect, it } from 'vitest';
import { classifyCgroupPath, trimCgroupPath, type CgroupOwner } from '../../src/owners/classify.js';

// Path shapes as systemd, kubelet (both cgroup drivers), containerd, CRI-O, Docker and podman
// write them on cgroup v2 hosts; ids and uids are made up but have the real lengths.
const ID = '3f4b1c0e9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b';
const ID2 = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const UID = '6f1c2b8e-0d3a-4c5b-9e7f-a1b2c3d4e5f6';
const UID_ = UID.replaceAll('-', '_');
const STATIC_UID = 'd41f6d3d9e5f7b0c3f9d3a6e8f61d9a2'; // static pods: a config hash, no dashes

const table: ReadonlyArray<[string, string, Omit<CgroupOwner, 'path'> & { path?: string }]> = [
  // systemd units
  ['a service', '/system.slice/nginx.service', { kind: 'unit', unit: 'nginx.service' }],
  ['a service with a delegated subtree', '/system.slice/nginx.service/worker', { kind: 'unit', unit: 'nginx.service' }],
  ['a templated, escaped unit', '/system.slice/system-getty.slice/getty@tty1.service', { kind: 'unit', unit: 'getty@tty1.service' }],
  ['an escaped instance name', '/system.slice/systemd-fsck@dev-disk-by\\x2duuid-1234.service', { kind: 'unit', unit: 'systemd-fsck@dev-disk-by\\x2duuid-1234.service' }],
  ['a login session', '/user.slice/user-1000.slice/session-3.scope', { kind: 'unit', unit: 'session-3.scope' }],
  ['a user service', '/user.slice/user-1000.slice/user@1000.service/app.slice/pipewire.service', { kind: 'unit', unit: 'pipewire.service' }],
  ['a user manager itself', '/user.slice/user-1000.slice/user@1000.service/init.scope', { kind: 'unit', unit: 'user@1000.service' }],
  ['PID 1', '/init.scope', { kind: 'unit', unit: 'init.scope' }],
  ['a slice', '/system.slice', { kind: 'unit', unit: 'system.slice' }],
  ['a scope made by systemd-run', '/system.slice/run-r4f1e2d.scope', { kind: 'unit', unit: 'run-r4f1e2d.scope' }],
  // Docker
  ['docker, systemd driver', `/system.slice/docker-${ID}.scope`, { kind: 'container', containerId: ID, runtime: 'docker' }],
  ['docker, cgroupfs driver', `/docker/${ID}`, { kind: 'container', containerId: ID, runtime: 'docker' }],
  ['docker in docker: the inner one', `/docker/${ID}/docker/${ID2}`, { kind: 'container', containerId: ID2, runtime: 'docker' }],
  ['systemd inside a docker container', `/system.slice/docker-${ID}.scope/system.slice/nginx.service`, { kind: 'container', containerId: ID, runtime: 'docker' }],
  // containerd without Kubernetes
  ['ctr, cgroupfs (namespace "default")', `/default/${ID}`, { kind: 'container', containerId: ID }],
  ['nerdctl, systemd driver', `/system.slice/nerdctl-${ID}.scope`, { kind: 'container', containerId: ID, runtime: 'containerd' }],
  ['a ctr container with a non-hex name stays a path', '/default/redis-test', { kind: 'other' }],
  // podman
  ['podman, rootful', `/machine.slice/libpod-${ID}.scope`, { kind: 'container', containerId: ID, runtime: 'podman' }],
  ['podman, rootful with its init sub-cgroup', `/machine.slice/libpod-${ID}.scope/container`, { kind: 'container', containerId: ID, runtime: 'podman' }],
  ['podman, rootless', `/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope`, { kind: 'container', containerId: ID, runtime: 'podman' }],
  ['podman, cgroupfs', `/libpod_parent/libpod-${ID}`, { kind: 'container', containerId: ID, runtime: 'podman' }],
  ['podman conmon is a unit, not the container', `/machine.slice/libpod-conmon-${ID}.scope`, { kind: 'unit', unit: `libpod-conmon-${ID}.scope` }],
  // Kubernetes, systemd driver
  ['burstable, containerd', `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`, { kind: 'container', containerId: ID, runtime: 'containerd', podUid: UID, qosClass: 'burstable' }],
  ['besteffort, containerd', `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope`, { kind: 'container', containerId: ID, runtime: 'containerd', podUid: UID, qosClass: 'besteffort' }],
  ['guaranteed, containerd', `/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope`, { kind: 'container', containerId: ID, runtime: 'containerd', podUid: UID, qosClass: 'guaranteed' }],
  ['burstable, CRI-O', `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-${ID}.scope`, { kind: 'container', containerId: ID, runtime: 'crio', podUid: UID, qosClass: 'burstable' }],
  ['CRI-O with its "container" leaf', `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-${ID}.scope/container`, { kind: 'container', containerId: ID, runtime: 'crio', podUid: UID, qosClass: 'besteffort' }],
  ['CRI-O conmon belongs to the pod', `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-conmon-${ID}.scope`, { kind: 'pod', podUid: UID, qosClass: 'burstable' }],
  ['cri-dockerd', `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/docker-${ID}.scope`, { kind: 'container', containerId: ID, runtime: 'docker', podUid: UID, qosClass: 'burstable' }],
  ['kind node (--cgroup-root=/kubelet)', `/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope`, { kind: 'container', containerId: ID, runtime: 'containerd', podUid: UID, qosClass: 'besteffort' }],
  ['containerd SystemdCgroup=false colon form', `/kubepods-burstable-pod${UID_}.slice:cri-containerd:${ID}`, { kind: 'container', containerId: ID, runtime: 'containerd', podUid: UID, qosClass: 'burstable' }],
  ['a static pod (hash uid)', `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${STATIC_UID}.slice/cri-containerd-${ID}.scope`, { kind: 'container', containerId: ID, runtime: 'containerd', podUid: STATIC_UID, qosClass: 'burstable' }],
  ['the pod cgroup itself', `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice`, { kind: 'pod', podUid: UID, qosClass: 'burstable' }],
  ['a QoS slice is just a slice', '/kubepods.slice/kubepods-burstable.slice', { kind: 'unit', unit: 'kubepods-burstable.slice' }],
  // Kubernetes, cgroupfs driver
  ['cgroupfs burstable', `/kubepods/burstable/pod${UID}/${ID}`, { kind: 'container', containerId: ID, podUid: UID, qosClass: 'burstable' }],
  ['cgroupfs besteffort', `/kubepods/besteffort/pod${UID}/${ID}`, { kind: 'container', containerId: ID, podUid: UID, qosClass: 'besteffort' }],
  ['cgroupfs guaranteed', `/kubepods/pod${UID}/${ID}`, { kind: 'container', containerId: ID, podUid: UID, qosClass: 'guaranteed' }],
  ['cgroupfs CRI-O', `/kubepods/burstable/pod${UID}/crio-${ID}`, { kind: 'container', containerId: ID, runtime: 'crio', podUid: UID, qosClass: 'burstable' }],
  ['cgroupfs pod cgroup', `/kubepods/burstable/pod${UID}`, { kind: 'pod', podUid: UID, qosClass: 'burstable' }],
  ['a "pod" directory outside kubepods is not a pod', `/somewhere/pod${UID}`, { kind: 'other' }],
  ['a malformed uid is not a pod', '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podnothex.slice', { kind: 'unit', unit: 'kubepods-burstable-podnothex.slice' }],
  // seen from inside a cgroup namespace: /proc/<pid>/cgroup prefixes ".."
  ['a path from outside the reader\'s cgroup namespace', `/../../kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope`, { kind: 'container', containerId: ID, runtime: 'containerd', podUid: UID, qosClass: 'guaranteed', path: `/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope` }],
  // anything else
  ['the root', '/', { kind: 'other', path: '/' }],
  ['an empty path', '', { kind: 'other', path: '/' }],
  ['a hand-made group', '/node_exporter/test-42/', { kind: 'other', path: '/node_exporter/test-42' }],
];

describe('classifyCgroupPath', () => {
  it.each(table)('%s', (_name, path, expected) => {
    const owner = classifyCgroupPath(path);
    const { path: expectedPath, ...fields } = expected;
    const { path: gotPath, ...gotFields } = owner;
    expect(gotFields).toEqual(fields);
    expect(gotPath).toBe(expectedPath ?? path);
  });
});

describe('trimCgroupPath', () => {
  it('keeps short paths and normalises slashes', () => {
    expect(trimCgroupPath('//a//b/')).toBe('/a/b');
  });

  it('keeps the tail of a long path behind ".../", cut at a segment boundary', () => {
    const long = `/${Array.from({ length: 30 }, (_, i) => `level-${i}`).join('/')}`;
    const trimmed = trimCgroupPath(long, 64);
    expect(trimmed.length).toBeLessThanOrEqual(64);
    expect(trimmed.startsWith('.../level-')).toBe(true);
    expect(trimmed.endsWith('/level-29')).toBe(true);
  });
});
