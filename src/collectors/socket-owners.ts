import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { ProcRoot } from '../procfs/proc-root.js';

export interface SocketOwners {
  /** Socket inode -> index into `names`. */
  byInode: Map<number, number>;
  /** Distinct process names (comm). */
  names: string[];
  /** Processes whose descriptors could not be read (permission, or gone mid-walk). */
  unreadableProcesses: number;
}

const PID = /^\d+$/;
const SOCKET_LINK = /^socket:\[(\d+)\]$/;
/** Work between yields, so the event loop keeps serving /-/healthy during a long walk. */
const SLICE_MS = 10;

/**
 * Maps socket inodes to the name of the process holding them, through /proc/<pid>/fd, as
 * `ss -p` does, for the processes in the exporter's network namespace. Processes that exit
 * mid-walk or whose descriptors we may not read are skipped: their sockets end up with no owner,
 * which the collector reports as process="unknown".
 */
export async function findSocketOwners(proc: ProcRoot): Promise<SocketOwners> {
  const byInode = new Map<number, number>();
  const nameIndex = new Map<string, number>();
  const names: string[] = [];
  let unreadableProcesses = 0;
  let sliceStart = performance.now();
  // The socket table is the one of the namespace <procfs>/self/net shows; a process in another
  // network namespace cannot hold any of its sockets, so its descriptors are not worth a readlink
  // each (on a Kubernetes node most processes live in pod namespaces).
  const ownNamespace = proc.readLinkSyncIfPresent('self', 'ns', 'net');

  // Ascending pid order, so a socket inherited across fork goes to the parent, deterministically.
  const pids = (proc.listDirSyncIfPresent() ?? []).filter((entry) => PID.test(entry)).sort((a, b) => Number(a) - Number(b));
  for (const pid of pids) {
    if (ownNamespace !== undefined) {
      const namespace = proc.readLinkSyncIfPresent(pid, 'ns', 'net');
      if (namespace !== undefined && namespace !== ownNamespace) continue;
    }
    const fds = proc.listDirSyncIfPresent(pid, 'fd');
    const comm = proc.readTextSyncIfPresent(pid, 'comm');
    if (fds === undefined || comm === undefined) {
      unreadableProcesses++;
      continue;
    }
    const name = comm.trimEnd();
    let index = nameIndex.get(name);
    // Listing fd/ needs less than reading its links (ptrace access to the process): a process
    // whose every descriptor link is refused is as unreadable as one whose fd/ is.
    let refused = 0;
    for (const fd of fds) {
      const target = proc.readLinkSyncOrWhy(pid, 'fd', fd);
      if (typeof target !== 'string') {
        // A descriptor closed since the listing is no sign of missing permission.
        if (target.failed === 'refused') refused++;
        continue;
      }
      if (!target.startsWith('socket:[')) continue;
      const match = SOCKET_LINK.exec(target);
      if (match === null) continue;
      if (index === undefined) {
        index = names.push(name) - 1;
        nameIndex.set(name, index);
      }
      // A socket shared by several processes (inherited across fork) goes to the first seen.
      const inode = Number(match[1]);
      if (!byInode.has(inode)) byInode.set(inode, index);
    }
    if (fds.length > 0 && refused === fds.length) unreadableProcesses++;
    if (performance.now() - sliceStart > SLICE_MS) {
      await yieldToEventLoop();
      sliceStart = performance.now();
    }
  }
  return { byInode, names, unreadableProcesses };
}
