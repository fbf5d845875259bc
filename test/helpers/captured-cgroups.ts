import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ScanResult, SocketRecord, SocketSink, SocketSource } from '../../src/kernel/socket-record.js';
import { newDumpProgress, parseDumpChunk } from '../../src/netlink/parse.js';
import { InetDiagRecord } from '../../src/netlink/record.js';
import { CAPTURED_SEQ, capturedFile, wordsOf } from './captured-netlink.js';

const dir = fileURLToPath(new URL('../fixtures/netlink/cgroup/', import.meta.url));

interface CapturedCgroups {
  owners: Array<{ path: string; id: number }>;
}

/**
 * The cgroup capture (fixtures/netlink/cgroup) made replayable anywhere: its cgroup directories
 * re-made under a temporary directory that a temporary procfs's self/mountinfo names as the
 * cgroup2 mount, with the runtimes' state for its two containers, and a source that replays the
 * real kernel bytes with each captured cgroup id turned into the inode of the re-made directory.
 * What the cgroup collector emits from it depends only on the capture: a golden scrape.
 */
export class ReplayedCgroups {
  readonly root = mkdtempSync(join(tmpdir(), 'tcpstate-cgroups-'));
  readonly procfs = join(this.root, 'proc');
  readonly runtimeRoot = join(this.root, 'runtime');
  private readonly idMap = new Map<number, number>();

  constructor() {
    const captured = JSON.parse(readFileSync(`${dir}cgroups.json`, 'utf8')) as CapturedCgroups;
    const mount = join(this.root, 'cgroup');
    for (const { path, id } of captured.owners) {
      mkdirSync(join(mount, path), { recursive: true });
      this.idMap.set(id, statSync(join(mount, path)).ino);
    }
    mkdirSync(join(this.procfs, 'self'), { recursive: true });
    writeFileSync(join(this.procfs, 'self', 'mountinfo'), `30 1 0:26 / ${mount} rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw\n`);
    for (const { path } of captured.owners) {
      const containerd = /cri-containerd-([0-9a-f]{64})\.scope$/.exec(path);
      if (containerd !== null) {
        const bundle = join(this.runtimeRoot, 'run/containerd/io.containerd.runtime.v2.task/k8s.io', containerd[1]!);
        mkdirSync(bundle, { recursive: true });
        const annotations = {
          'io.kubernetes.cri.container-type': 'container',
          'io.kubernetes.cri.container-name': 'api',
          'io.kubernetes.cri.sandbox-name': 'orders-5b7c9d-q8z2p',
          'io.kubernetes.cri.sandbox-namespace': 'shop',
          'io.kubernetes.cri.sandbox-uid': '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
        };
        writeFileSync(join(bundle, 'config.json'), JSON.stringify({ annotations }));
      }
      const docker = /docker-([0-9a-f]{64})\.scope$/.exec(path);
      if (docker !== null) {
        const config = join(this.runtimeRoot, 'var/lib/docker/containers', docker[1]!);
        mkdirSync(config, { recursive: true });
        writeFileSync(join(config, 'config.v2.json'), JSON.stringify({ Name: '/memcached', Config: { Labels: {} } }));
      }
    }
  }

  source(): SocketSource {
    const idMap = this.idMap;
    return {
      name: 'netlink',
      async scan(sink: SocketSink): Promise<ScanResult> {
        const renumber = {
          add(record: SocketRecord): void {
            record.cgroupId = idMap.get(record.cgroupId) ?? record.cgroupId;
            sink.add(record);
          },
        };
        const record = new InetDiagRecord();
        const progress = newDumpProgress();
        const files = readdirSync(dir).filter((f) => f.startsWith('all-') && f.endsWith('.bin')).sort();
        for (const file of files) {
          const chunk = capturedFile(`cgroup/${file}`);
          parseDumpChunk(chunk, wordsOf(chunk), 0, chunk.length, CAPTURED_SEQ, record, renumber, progress);
        }
        if (!progress.done) throw new Error('the captured cgroup dump has no NLMSG_DONE');
        return { families: [0, 1], listenQueueLimitKnown: true };
      },
    };
  }

  destroy(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
