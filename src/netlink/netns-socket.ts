/**
 * A sock_diag socket inside another network namespace. A socket belongs to the namespace its
 * creator was in at socket() time, for its whole life, so the main thread steps into the
 * namespace (setns), opens the socket, and steps back, synchronously: no other JavaScript runs
 * meanwhile, and setns moves only the calling thread, so libuv's threads and the dump worker never
 * see another namespace. The socket is then kept while the namespace lives; holding it also keeps
 * the namespace alive, so the owner must close it once the namespace is no longer found.
 */
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { oneLine } from '../errors.js';
import { closeFd, enterNetworkNamespace, loadLibc, openDiagSocket } from './ffi.js';
import type { DiagSockets } from './source.js';

let homeNamespace: number | undefined;

/** This thread's own namespace, opened once: where every visit returns to. */
function home(): number {
  return (homeNamespace ??= openSync('/proc/thread-self/ns/net', 'r'));
}

/**
 * Runs `work` inside the network namespace at `nsPath` (a /proc/<pid>/ns/net link), which must be
 * the namespace with inode `inode` (a pid can be reused by a process elsewhere), and returns.
 * Failing to return would leave the event loop's thread in another namespace: the process aborts.
 */
export function insideNetworkNamespace<T>(nsPath: string, inode: number, work: () => T): T {
  const c = loadLibc();
  const back = home();
  const target = openSync(nsPath, 'r');
  try {
    if (fstatSync(target).ino !== inode) throw new Error(`${nsPath} is no longer the network namespace ${inode}`);
    enterNetworkNamespace(c, target, `netlink: cannot enter the network namespace ${inode}`);
    try {
      return work();
    } finally {
      try {
        enterNetworkNamespace(c, back, 'netlink: cannot return to the exporter\'s own network namespace');
      } catch (error) {
        process.stderr.write(`tcpstate-exporter: fatal: ${oneLine(error)}\n`);
        process.abort();
      }
    }
  } finally {
    closeSync(target);
  }
}

/**
 * net.ipv4.tcp_ehash_entries as read in the current namespace: negative when the namespace shares
 * the host's TCP hash table, positive when it has its own. /proc/sys resolves to the reading
 * thread's namespace, which is why this is read inside it.
 */
function readEhashEntries(): number | undefined {
  try {
    const value = Number(readFileSync('/proc/sys/net/ipv4/tcp_ehash_entries', 'latin1').trim());
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The kept socket of one namespace, for NetlinkSource's `sockets` option. */
export class NamespaceSocket implements DiagSockets {
  private fd: number | undefined;
  /** true: the namespace has its own TCP hash; false: it shares the host's; undefined: not known. */
  ownHash: boolean | undefined;
  /** Where to enter the namespace next time a socket is opened; the owner keeps it current. */
  nsPath: string;

  constructor(
    nsPath: string,
    readonly inode: number,
  ) {
    this.nsPath = nsPath;
  }

  acquire(receiveTimeoutMs: number): number {
    if (this.fd === undefined) {
      const { fd, ehash } = insideNetworkNamespace(this.nsPath, this.inode, () => ({ fd: openDiagSocket(loadLibc(), receiveTimeoutMs), ehash: readEhashEntries() }));
      this.fd = fd;
      this.ownHash = ehash === undefined ? undefined : ehash > 0;
    }
    return this.fd;
  }

  release(_fd: number, failed: boolean): void {
    if (failed) this.close();
  }

  close(): void {
    if (this.fd !== undefined) closeFd(loadLibc(), this.fd);
    this.fd = undefined;
  }
}
