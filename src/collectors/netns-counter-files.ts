import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { COUNTER_SLOTS, parseCounterFile } from './netns-counters.js';

/** The files a namespace's counters come from, in /proc/<pid>/net/; sockstat6 may be missing (no IPv6). */
export const COUNTER_FILES = ['sockstat', 'snmp', 'netstat', 'sockstat6'] as const;
export type CounterFile = (typeof COUNTER_FILES)[number];

// libuv adds O_CLOEXEC itself.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;
/** A netstat is ~4 KiB; anything near this is not a counters file. */
const MAX_BYTES = 1024 * 1024;

export interface Kept {
  /** Descriptors in COUNTER_FILES order; undefined where the file does not exist. */
  readonly fds: ReadonlyArray<number | undefined>;
  /** The paths they were opened at, for error messages. */
  readonly paths: readonly string[];
}

function openIfPresent(path: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch {
    return undefined;
  }
  // Regular files only: a planted FIFO must not block the event loop.
  try {
    if (fstatSync(fd).isFile()) return fd;
  } catch {
    // fall through
  }
  closeSync(fd);
  return undefined;
}

/**
 * Each namespace's four counter files, opened once and kept open while the namespace lives, read
 * with one pread at offset 0 into one reused buffer. Why: at a hundred namespaces the opens (a
 * path walk through /proc/<pid>/net for each of four files) cost as much as the kernel's
 * formatting of the text, and a procfs seq_file regenerates its text on every read from offset 0,
 * so a kept descriptor gives fresh values. Read synchronously: a threadpool round trip costs more
 * than the read (measured; see docs/configuration.md). An open file keeps its namespace alive,
 * as a kept sock_diag socket does, so retain() must be called with the namespaces still found.
 */
export class NamespaceCounterFiles {
  private readonly kept = new Map<number, Kept>();
  private readonly reader = new WholeFileReader();
  private changes = 0;

  /**
   * Reads and parses the counters of the namespace `inode` into slots[base, base + COUNTER_SLOTS),
   * through `netDir` (/proc/<pid>/net) the first time; `stillThere` is asked right after a first
   * open (the pid may have left the namespace, and be reused elsewhere, meanwhile). False when
   * the files cannot be opened or read; throws when one does not parse.
   */
  read(inode: number, netDir: string, stillThere: () => boolean, slots: Float64Array, base: number): boolean {
    const kept = this.open(inode, netDir, stillThere);
    if (kept === undefined) return false;
    if (readNamespaceCounters(kept, this.reader, slots, base)) return true;
    // Unreadable now (the namespace is being torn down): opened afresh next time.
    this.forget(inode);
    return false;
  }

  /**
   * The namespace's kept descriptors (COUNTER_FILES order), opened through `netDir` the first
   * time; undefined when they cannot be. For reading on another thread (netns-counter-thread.ts):
   * descriptors are the process's, and they stay open until retain() or forget().
   */
  open(inode: number, netDir: string, stillThere: () => boolean): Kept | undefined {
    let kept = this.kept.get(inode);
    if (kept === undefined) {
      const paths = COUNTER_FILES.map((file) => join(netDir, file));
      const fds = paths.map(openIfPresent);
      kept = { fds, paths };
      // Every file but sockstat6 is required.
      if (fds.slice(0, 3).some((fd) => fd === undefined) || !stillThere()) {
        this.closeAll(kept);
        return undefined;
      }
      this.kept.set(inode, kept);
      this.changes++;
    }
    return kept;
  }

  /** The namespaces whose files are open, with their descriptors: what a round reads before the discovery. */
  openEntries(): Array<readonly [number, Kept]> {
    return [...this.kept];
  }

  /** Reads the counters behind a namespace's open files into slots; false when it has none open or one fails to read (the caller forgets it, once no thread reads it). */
  readOpen(inode: number, slots: Float64Array, base: number): boolean {
    const kept = this.kept.get(inode);
    return kept !== undefined && readNamespaceCounters(kept, this.reader, slots, base);
  }

  /** Closes the files of namespaces not in `alive`. */
  retain(alive: ReadonlySet<number>): void {
    for (const inode of this.kept.keys()) if (!alive.has(inode)) this.forget(inode);
  }

  /** Closes everything (tests, shutdown). */
  closeAll(kept?: Kept): void {
    if (kept !== undefined) {
      for (const fd of kept.fds) if (fd !== undefined) closeSync(fd);
      return;
    }
    for (const inode of [...this.kept.keys()]) this.forget(inode);
  }

  /** Changes with every namespace opened or forgotten: openEntries() is the same list, in the same order, while it stays. */
  get generation(): number {
    return this.changes;
  }

  get openNamespaces(): number {
    return this.kept.size;
  }

  forget(inode: number): void {
    const kept = this.kept.get(inode);
    if (kept === undefined) return;
    this.kept.delete(inode);
    this.changes++;
    this.closeAll(kept);
  }
}

/** Reads a kept procfs file whole, from offset 0, into one reused buffer (one per thread). */
export class WholeFileReader {
  private buffer = Buffer.allocUnsafe(16 * 1024);

  /** What the last read left, in its first readWhole() bytes. */
  get bytes(): Buffer {
    return this.buffer;
  }

  /** From offset 0 to the end, into `bytes`: its length, or undefined when it cannot be read. Normally one pread, more only if the text outgrows the buffer. */
  readWhole(fd: number): number | undefined {
    let total = 0;
    try {
      for (;;) {
        if (total === this.buffer.length) {
          if (total >= MAX_BYTES) return undefined;
          const bigger = Buffer.allocUnsafe(this.buffer.length * 2);
          this.buffer.copy(bigger, 0, 0, total);
          this.buffer = bigger;
        }
        const space = this.buffer.length - total;
        const n = readSync(fd, this.buffer, total, space, total);
        total += n;
        // These files are single-record seq_files: the kernel formats the whole text in one go
        // and a read short of the space asked for is the end, so no second pread to see 0.
        if (n < space) break;
      }
    } catch {
      return undefined;
    }
    return total;
  }
}

/**
 * Reads a namespace's kept files (COUNTER_FILES order) and parses each as it is read, from the
 * reader's buffer, into slots[base, base + COUNTER_SLOTS): no string and no object per
 * namespace, so a scrape over a hundred namespaces leaves next to no garbage on either thread.
 * False if one fails to read; throws if one does not parse.
 */
export function readNamespaceCounters(kept: Kept, reader: WholeFileReader, slots: Float64Array, base: number): boolean {
  slots.fill(NaN, base, base + COUNTER_SLOTS);
  for (let i = 0; i < COUNTER_FILES.length; i++) {
    const fd = kept.fds[i];
    if (fd === undefined) continue;
    const length = reader.readWhole(fd);
    if (length === undefined) return false;
    parseCounterFile(COUNTER_FILES[i]!, kept.paths[i]!, reader.bytes, length, slots, base);
  }
  return true;
}
