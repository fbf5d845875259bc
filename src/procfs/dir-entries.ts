/**
 * A directory's entries with their inode numbers, through getdents64(2): readdir's own syscall,
 * whose d_ino Node's fs API does not pass on. In /proc, the entry of a pid is one inode for the
 * life of that process (the kernel drops it when the process exits), and a new process that is
 * given the same pid gets a new one: so (pid, inode) names one process, where the pid alone may
 * name a later one. libc through koffi (kernel/libc.ts).
 */
import { closeSync, constants, openSync, statfsSync } from 'node:fs';
import { libcFunctions } from '../kernel/libc.js';

/** statfs f_type of procfs. */
const PROC_SUPER_MAGIC = 0x9fa0;
const BUFFER_BYTES = 64 * 1024;
/** struct linux_dirent64: u64 d_ino, s64 d_off, u16 d_reclen, u8 d_type, char d_name[]. */
const RECLEN_AT = 16;
const NAME_AT = 19;

export interface DirEntry {
  readonly name: string;
  readonly ino: number;
}

/** One buffer for every listing: they run on the event loop, one at a time. */
let buffer: Buffer | undefined;

let getdents64: ((fd: number, buffer: Uint8Array, length: number) => number | bigint) | null | undefined;

function load(): typeof getdents64 {
  if (getdents64 !== undefined) return getdents64;
  try {
    getdents64 = libcFunctions<{ getdents64: NonNullable<typeof getdents64> }>({ getdents64: 'long getdents64(int fd, void *buffer, size_t length)' }).getdents64;
  } catch {
    getdents64 = null; // glibc before 2.30, or no koffi build for this platform
  }
  return getdents64;
}

/** Whether `dir` is on procfs, where an entry's inode tells one process from a later one with its pid. */
export function isProcfs(dir: string): boolean {
  try {
    return statfsSync(dir).type === PROC_SUPER_MAGIC;
  } catch {
    return false;
  }
}

/**
 * Every entry of `dir` (with . and ..) and its inode number; undefined when the directory cannot
 * be read, or getdents64 cannot be called (the caller then lists it the usual way).
 */
export function readDirEntries(dir: string): DirEntry[] | undefined {
  const call = load();
  if (call === null || call === undefined) return undefined;
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch {
    return undefined;
  }
  const bytes = (buffer ??= Buffer.allocUnsafe(BUFFER_BYTES));
  const entries: DirEntry[] = [];
  try {
    for (;;) {
      const filled = Number(call(fd, bytes, bytes.length));
      if (filled < 0) return undefined;
      if (filled === 0) return entries;
      for (let at = 0; at < filled; ) {
        const length = bytes.readUInt16LE(at + RECLEN_AT);
        // A record the kernel would never write: stop rather than walk off the buffer.
        if (length === 0 || at + length > filled) return undefined;
        const end = bytes.indexOf(0, at + NAME_AT);
        entries.push({ name: bytes.toString('utf8', at + NAME_AT, end < 0 || end > at + length ? at + length : end), ino: Number(bytes.readBigUInt64LE(at)) });
        at += length;
      }
    }
  } finally {
    closeSync(fd);
  }
}
