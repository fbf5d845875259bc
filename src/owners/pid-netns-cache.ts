/**
 * Which network namespace each process is in, remembered across scrapes so that the discovery
 * reads /proc/<pid>/ns/net only for the processes that are new since the last one. At 110 pods
 * a node runs one to three thousand processes, and every readlink is a path walk of several
 * microseconds (more beside the counter reads of the same scrape): reading all of them each
 * scrape cost the event loop more than any other part of the discovery.
 *
 * A process is known by its pid and the inode of its /proc/<pid> entry (dir-entries.ts): a pid
 * given to a new process comes with a new inode, so it is read afresh. What a remembered entry
 * can miss is a process that moves itself into another namespace (setns or unshare without a new
 * process; container runtimes start a container's processes inside it). So every entry is read
 * again once every RECHECK_EVERY discoveries, a share of them each time.
 */

/** Each remembered process is read again at least once in this many discoveries. */
export const RECHECK_EVERY = 8;

/** A process as listed in /proc: its pid and, where known, the inode of its entry there. */
export interface ListedProcess {
  readonly pid: number;
  readonly ino: number | undefined;
}

interface Remembered {
  readonly ino: number;
  /** The namespace's inode; undefined when the link could not be read (not ours to read). */
  readonly netns: number | undefined;
}

export class PidNamespaceCache {
  /** What the last discovery looked up: all that this one may reuse. */
  private remembered = new Map<number, Remembered>();
  private current = new Map<number, Remembered>();
  private rounds = 0;
  private round = 0;
  /** Links read since begin(). */
  linksRead = 0;

  /** Starts a discovery: what the one before looked up becomes what this one may reuse; a process it does not look up is forgotten. */
  begin(): void {
    this.remembered = this.current;
    this.current = new Map();
    this.round = this.rounds++;
    this.linksRead = 0;
  }

  /**
   * The namespace of a listed process (undefined: its link could not be read), calling `readLink`
   * only if the process is new, its entry's inode changed or is unknown, or it is its turn to be
   * checked again.
   */
  namespaceOf({ pid, ino }: ListedProcess, readLink: (pid: number) => number | undefined): number | undefined {
    const known = this.remembered.get(pid);
    const due = (pid + this.round) % RECHECK_EVERY === 0;
    if (known !== undefined && ino !== undefined && known.ino === ino && !due) {
      this.current.set(pid, known);
      return known.netns;
    }
    this.linksRead++;
    const netns = readLink(pid);
    if (ino !== undefined) this.current.set(pid, { ino, netns });
    return netns;
  }
}
