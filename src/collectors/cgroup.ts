import type { Logger } from 'pino';
import { CgroupTally } from '../aggregate/cgroup-tally.js';
import { integerFlag } from '../config/flag.js';
import type { ScanResult } from '../kernel/socket-record.js';
import { CgroupOwners } from '../owners/cgroup-owners.js';
import { CgroupTree } from '../owners/cgroup-tree.js';
import { readCgroup2Mount } from '../owners/mountinfo.js';
import { OwnerNamer } from '../owners/owner-labels.js';
import { RuntimeState, type RuntimeStateRoots } from '../owners/runtime-state.js';
import type { ProcRoot } from '../procfs/proc-root.js';
import type { SocketTable, TableCollector } from './collector.js';
import { reportOwners } from './cgroup-report.js';

export const CGROUP_FLAGS = {
  top: integerFlag('collector.cgroup.top', { help: 'owners (units, containers, pods) given their own labels; the rest are summed into unit="other"', default: 64, min: 1, example: '10' }),
  maxPorts: integerFlag('collector.cgroup.max-ports', { help: '(owner, listening port) pairs given their own port label; the rest are summed into port="other"', default: 64, min: 1, example: '16' }),
  // Where the runtimes' state is read: --path.rootfs and --path.<runtime>.* (src/owners/flags.ts),
  // shared with the netns collector.
};

/**
 * What outlives a scrape: the cgroup tree's id -> path map and the names read from the runtimes'
 * state, so that a steady-state scrape costs a Map lookup per distinct cgroup id. One per
 * (procfs, runtime-state directories), made on first use; `owners` undefined on a host without cgroup v2.
 */
interface OwnerState {
  readonly owners: Promise<CgroupOwners | undefined>;
}

const states = new Map<string, OwnerState>();
/**
 * Degradations (procfs source, no cgroup v2, a kernel without ids) are told once per process, at
 * info: they are how the host is set up, not something failing, so no warning every start.
 */
const told = new Set<string>();

function tellOnce(logger: Logger, message: string): void {
  if (told.has(message)) return;
  told.add(message);
  logger.info({ collector: 'cgroup' }, message);
}

function ownerState(proc: ProcRoot, roots: RuntimeStateRoots, logger: Logger): OwnerState {
  const key = `${proc.root}\0${JSON.stringify(roots)}`;
  let state = states.get(key);
  if (state === undefined) {
    // A procfs without self/mountinfo (a fixture, a stripped bind mount) cannot say where cgroup v2
    // is mounted: the same as a host without it.
    const mountinfo = proc.readTextIfExists('self', 'mountinfo');
    const owners = mountinfo.then((text) => (text === undefined ? undefined : readCgroup2Mount(proc))).then((mount) => {
      if (mount === undefined) return undefined;
      const tree = new CgroupTree({ mountPoint: mount.mountPoint, pathPrefix: mount.root === '/' ? '' : mount.root });
      const runtime = new RuntimeState({ roots, onProblem: (message) => logger.warn({ collector: 'cgroup' }, message) });
      return new CgroupOwners(tree, new OwnerNamer(runtime));
    });
    // A failed read of mountinfo is retried by the next scrape rather than remembered.
    owners.catch(() => states.delete(key));
    state = { owners };
    states.set(key, state);
  }
  return state;
}

/**
 * Sockets per owning cgroup: which systemd unit, container or Kubernetes container holds them,
 * from the INET_DIAG_CGROUP_ID the kernel puts on every full socket of the dump the scrape makes
 * anyway. No /proc/<pid>/fd walk, no privilege beyond reading the cgroup tree.
 */
export const cgroupCollector: TableCollector<typeof CGROUP_FLAGS> = {
  name: 'cgroup',
  defaultEnabled: true,
  description: 'sockets per owning cgroup (systemd unit, container, pod), from the cgroup id of each socket in the netlink dump',
  flags: CGROUP_FLAGS,
  reads: 'socket-tables',
  async prepareTally({ proc, logger, ownerPaths }, options) {
    const state = ownerState(proc, ownerPaths.runtimeState, logger);
    const tally = new CgroupTally();
    const dumped: SocketTable[] = [];
    let procfsOnly = false;
    return {
      sinkFor(table) {
        // /proc/net/tcp has no cgroup column: every socket would be "unknown". Leave it out.
        if (table.source.name === 'procfs') {
          procfsOnly = true;
          return undefined;
        }
        dumped.push(table);
        return tally;
      },
      async report(registry, scans) {
        const results = dumped.map((table) => scans.get(table)).filter((scan): scan is ScanResult => scan !== undefined);
        if (results.length === 0) {
          if (procfsOnly) tellOnce(logger, 'the procfs socket source has no cgroup ids: tcpstate_owner_* series are left out (use the netlink source, or --collector.process)');
          return;
        }
        const owners = await state.owners;
        if (owners === undefined) {
          tellOnce(logger, 'no cgroup v2 mount in self/mountinfo (a cgroup v1-only host?): tcpstate_owner_* series are left out; --collector.process names sockets by process instead');
          return;
        }
        if (tally.fullSockets > 0 && tally.withId === 0) {
          tellOnce(logger, 'the kernel reports no INET_DIAG_CGROUP_ID on its sockets (built without CONFIG_SOCK_CGROUP_DATA?): tcpstate_owner_* series are left out');
          return;
        }
        const labels = await owners.labelsFor(tally.ids.slice(1));
        reportOwners(registry, tally, labels, options, results.every((scan) => scan.listenQueueLimitKnown));
      },
    };
  },
};
