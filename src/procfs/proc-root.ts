import { closeSync, constants, fstatSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import { open, readdir, readlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ProcReadError } from '../errors.js';
import { isProcfs, readDirEntries } from './dir-entries.js';

function describe(error: unknown): { code: string | undefined; detail: string } {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  // "ENOENT: no such file or directory, open '/proc/x'" -> "no such file or directory": the
  // caller already names the file.
  const detail = error instanceof Error ? error.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '[^']*'$/, '') : String(error);
  return { code, detail };
}

/**
 * O_NONBLOCK, so that a FIFO planted where a kernel file belongs cannot block open() (and with it a
 * thread of libuv's pool, for ever; process exit then hangs joining it). It changes nothing for
 * regular files, which every procfs file is.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/** The largest text file read whole: the biggest we read (netstat, smaps' head) are tens of KB. */
const MAX_TEXT_BYTES = 4 * 1024 * 1024;

class NotRegularFile extends Error {
  readonly code = 'ENOTREG';
  constructor() {
    super('not a regular file (a FIFO, device or directory where the kernel has a file)');
  }
}

class TooLarge extends Error {
  readonly code = 'EFBIG';
  constructor() {
    super(`larger than ${MAX_TEXT_BYTES} bytes, which no file we read should be`);
  }
}

/** A path segment that join() would leave as it is: not empty, not . or .., no slash. */
const isPlainName = (segment: string): boolean => segment !== '' && segment !== '.' && segment !== '..' && !segment.includes('/');

/**
 * The one place that knows where procfs is mounted (`--path.procfs`). Every read of a kernel
 * file goes through it, so pointing the exporter at a host's /proc from a container, or at a
 * test fixture, changes nothing else.
 */
export class ProcRoot {
  /** The normalised root with one trailing slash: what a plain name is appended to. */
  private readonly prefix: string;
  /** Whether the root is a procfs mount, asked once. */
  private onProcfs: boolean | undefined;

  constructor(readonly root: string) {
    const base = join(root, '.');
    // join('.', 'x') is 'x': a root that normalises to the current directory adds nothing.
    this.prefix = base === '.' ? '' : base.endsWith('/') ? base : `${base}/`;
  }

  /** Absolute path of a file below the root, e.g. path('net', 'tcp'). */
  path(...segments: string[]): string {
    // Plain names (a pid, "ns", "net") need none of join's normalising, and the netns discovery
    // builds hundreds of these a scrape: join cost a quarter of each readlink.
    if (segments.length > 0 && segments.every(isPlainName)) return this.prefix + segments.join('/');
    return join(this.root, ...segments);
  }

  /** The file for a dotted sysctl name: net.ipv4.tcp_syncookies -> <root>/sys/net/ipv4/tcp_syncookies. */
  sysctlPath(dottedName: string): string {
    return this.path('sys', ...dottedName.split('.'));
  }

  /** Opens a regular file without blocking; a FIFO, device or directory is refused. */
  private async openRegular(file: string): Promise<FileHandle> {
    const handle = await open(file, OPEN_FLAGS);
    try {
      if (!(await handle.stat()).isFile()) throw new NotRegularFile();
    } catch (error) {
      await handle.close();
      throw error;
    }
    return handle;
  }

  async readText(...segments: string[]): Promise<string> {
    const file = this.path(...segments);
    try {
      const handle = await this.openRegular(file);
      try {
        // procfs reports size 0, so read until EOF, bounded.
        const chunks: Buffer[] = [];
        let total = 0;
        for (;;) {
          const buffer = Buffer.allocUnsafe(64 * 1024);
          const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
          if (bytesRead === 0) break;
          total += bytesRead;
          if (total > MAX_TEXT_BYTES) throw new TooLarge();
          chunks.push(buffer.subarray(0, bytesRead));
        }
        return Buffer.concat(chunks, total).toString('latin1');
      } finally {
        await handle.close();
      }
    } catch (error) {
      const { code, detail } = describe(error);
      throw new ProcReadError(file, code, detail);
    }
  }

  /** Like readText, but resolves undefined when the file does not exist (a feature the kernel lacks). */
  async readTextIfExists(...segments: string[]): Promise<string | undefined> {
    try {
      return await this.readText(...segments);
    } catch (error) {
      if (error instanceof ProcReadError && error.code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /**
   * Streams a file in fixed-size chunks into `consume`, reusing one buffer, so a 90 MB
   * /proc/net/tcp never sits in memory whole. Resolves false when the file does not exist.
   * Between chunks it yields to the event loop so other requests are served during a long read.
   */
  async streamChunks(
    segments: readonly string[],
    consume: (chunk: Buffer, length: number) => void,
    chunkSize = 256 * 1024,
  ): Promise<boolean> {
    const file = this.path(...segments);
    let handle: FileHandle;
    try {
      handle = await this.openRegular(file);
    } catch (error) {
      const { code, detail } = describe(error);
      if (code === 'ENOENT') return false;
      throw new ProcReadError(file, code, detail);
    }
    const buffer = Buffer.allocUnsafe(chunkSize);
    try {
      for (;;) {
        let bytesRead: number;
        try {
          ({ bytesRead } = await handle.read(buffer, 0, chunkSize, null));
        } catch (error) {
          throw new ProcReadError(file, describe(error).code, describe(error).detail);
        }
        if (bytesRead === 0) return true;
        consume(buffer, bytesRead);
      }
    } finally {
      await handle.close();
    }
  }

  async listDir(...segments: string[]): Promise<string[]> {
    const dir = this.path(...segments);
    try {
      return await readdir(dir);
    } catch (error) {
      const { code, detail } = describe(error);
      throw new ProcReadError(dir, code, detail);
    }
  }

  /** readlink below the root; undefined when the link vanished or is not readable. */
  async readLinkIfPresent(...segments: string[]): Promise<string | undefined> {
    try {
      return await readlink(this.path(...segments));
    } catch {
      return undefined;
    }
  }

  /**
   * Synchronous forms for walking /proc/<pid>/fd, where one readlink per descriptor through
   * the thread pool would cost more than the syscall itself. The caller yields between batches.
   * They return undefined when the entry vanished (a process exited) or is not readable.
   */
  listDirSyncIfPresent(...segments: string[]): string[] | undefined {
    try {
      return readdirSync(this.path(...segments));
    } catch {
      return undefined;
    }
  }

  /**
   * The root's entries with, when the root is a procfs mount, each one's inode number (which tells
   * a process from a later one given the same pid; see dir-entries.ts); `ino` is undefined
   * elsewhere (a test fixture) or where getdents64 cannot be called. Undefined if unlistable.
   */
  listEntriesSyncIfPresent(): Array<{ name: string; ino: number | undefined }> | undefined {
    if ((this.onProcfs ??= isProcfs(this.root))) {
      const entries = readDirEntries(this.root);
      if (entries !== undefined) return entries;
    }
    return this.listDirSyncIfPresent()?.map((name) => ({ name, ino: undefined }));
  }

  /** readlink, or why not: 'gone' (the entry vanished) or 'refused' (no permission, or another error). */
  readLinkSyncOrWhy(...segments: string[]): string | { failed: 'gone' | 'refused' } {
    try {
      return readlinkSync(this.path(...segments));
    } catch (error) {
      return { failed: (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : 'refused' };
    }
  }

  readLinkSyncIfPresent(...segments: string[]): string | undefined {
    try {
      return readlinkSync(this.path(...segments));
    } catch {
      return undefined;
    }
  }

  /** A small file (a `comm`), refused unless regular, so a planted FIFO cannot block the event loop. */
  readTextSyncIfPresent(...segments: string[]): string | undefined {
    let fd: number;
    try {
      fd = openSync(this.path(...segments), OPEN_FLAGS);
    } catch {
      return undefined;
    }
    try {
      if (!fstatSync(fd).isFile()) return undefined;
      const buffer = Buffer.allocUnsafe(4096);
      const bytesRead = readSync(fd, buffer, 0, buffer.length, null);
      return buffer.toString('latin1', 0, bytesRead);
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
  }
}
