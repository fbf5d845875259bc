import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';

/** The files a namespace's counters come from, in /proc/<pid>/net/; sockstat6 may be missing (no IPv6). */
export const COUNTER_FILES = ['sockstat', 'snmp', 'netstat', 'sockstat6'] as const;
export type CounterFile = (typeof COUNTER_FILES)[number];
export type CounterTexts = Record<Exclude<CounterFile, 'sockstat6'>, string> & { sockstat6: string | undefined };

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

/** The path a file was opened at, from a namespace's paths in COUNTER_FILES order (for a parse error's message). */
export function pathIn(paths: readonly string[], file: CounterFile): string {
  return paths[COUNTER_FILES.indexOf(file)] ?? file;
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

  /**
   * The texts of the namespace `inode`, read through `netDir` (/proc/<pid>/net) the first time;
   * `stillThere` is asked right after a first open (the pid may have left the namespace, and be
   * reused elsewhere, meanwhile). Undefined when the files cannot be opened or read.
   */
  read(inode: number, netDir: string, stillThere: () => boolean): CounterTexts | undefined {
    const kept = this.open(inode, netDir, stillThere);
    if (kept === undefined) return undefined;
    const texts = readCounterTexts(kept.fds, this.reader);
    // Unreadable now (the namespace is being torn down): opened afresh next time.
    if (texts === undefined) this.forget(inode);
    return texts;
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
    }
    return kept;
  }

  /** The namespaces whose files are open, with their descriptors: what a round reads before the discovery. */
  openEntries(): Array<readonly [number, Kept]> {
    return [...this.kept];
  }

  /** The texts behind a namespace's open files; undefined when it has none open or one fails to read (the caller forgets it, once no thread reads it). */
  readOpen(inode: number): CounterTexts | undefined {
    const kept = this.kept.get(inode);
    return kept === undefined ? undefined : readCounterTexts(kept.fds, this.reader);
  }

  /** The path a file of the namespace was opened at (for a parse error's message). */
  pathOf(inode: number, file: CounterFile): string {
    const kept = this.kept.get(inode);
    return kept === undefined ? file : pathIn(kept.paths, file);
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

  get openNamespaces(): number {
    return this.kept.size;
  }

  forget(inode: number): void {
    const kept = this.kept.get(inode);
    if (kept === undefined) return;
    this.kept.delete(inode);
    this.closeAll(kept);
  }
}

/** Reads a kept procfs file whole, from offset 0, into one reused buffer (one per thread). */
export class WholeFileReader {
  private buffer = Buffer.allocUnsafe(16 * 1024);

  /** From offset 0 to the end; normally one pread, more only if the text outgrows the buffer. */
  readWhole(fd: number): string | undefined {
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
    return this.buffer.toString('latin1', 0, total);
  }
}

/** The texts behind a namespace's descriptors (COUNTER_FILES order); undefined if one fails to read. */
export function readCounterTexts(fds: ReadonlyArray<number | undefined>, reader: WholeFileReader): CounterTexts | undefined {
  const texts: (string | undefined)[] = [];
  for (const fd of fds) {
    if (fd === undefined) {
      texts.push(undefined);
      continue;
    }
    const text = reader.readWhole(fd);
    if (text === undefined) return undefined;
    texts.push(text);
  }
  return { sockstat: texts[0]!, snmp: texts[1]!, netstat: texts[2]!, sockstat6: texts[3] };
}
