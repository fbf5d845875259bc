import { ProcParseError } from '../errors.js';
import type { ProcRoot } from '../procfs/proc-root.js';

/** One line of /proc/<pid>/mountinfo (proc_pid_mountinfo(5)), with the kernel's octal escapes undone. */
export interface MountEntry {
  readonly mountId: number;
  readonly parentId: number;
  /** st_dev of files on this filesystem, as "major:minor". */
  readonly device: string;
  /** The directory of the filesystem that is mounted here ("/" unless a bind mount or a cgroup namespace). */
  readonly root: string;
  readonly mountPoint: string;
  readonly options: string;
  /** Propagation tags such as "shared:12" or "master:1"; often empty. */
  readonly optionalFields: readonly string[];
  readonly fsType: string;
  readonly source: string;
  readonly superOptions: string;
}

/** Where the unified (v2) cgroup hierarchy is mounted, and which of its directories is visible there. */
export interface Cgroup2Mount {
  readonly mountPoint: string;
  /** "/" on a host; a sub-path (or "/../..") when read from inside a cgroup namespace. */
  readonly root: string;
}

const OCTAL_ESCAPE = /\\([0-7]{3})/g;

/**
 * The kernel writes space, tab, newline and backslash in paths as \040, \011, \012 and \134
 * (seq_escape in fs/proc_namespace.c), so a path with a space never splits a line's fields.
 */
export function unescapeMountField(field: string): string {
  if (!field.includes('\\')) return field;
  return field.replace(OCTAL_ESCAPE, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

function parseId(file: string, lineNo: number, field: string, text: string | undefined): number {
  if (text === undefined || !/^\d+$/.test(text)) {
    throw new ProcParseError(file, lineNo, field, `expected a non-negative integer, got ${JSON.stringify(text ?? '')}`);
  }
  return Number(text);
}

function parseLine(file: string, lineNo: number, line: string): MountEntry {
  const fields = line.split(' ');
  const separator = fields.indexOf('-', 6);
  if (fields.length < 10) {
    throw new ProcParseError(file, lineNo, 'line', `expected at least 10 space-separated fields, got ${fields.length}`);
  }
  if (separator < 0) throw new ProcParseError(file, lineNo, 'separator', 'no " - " between the optional fields and the filesystem type');
  if (fields.length < separator + 4) {
    throw new ProcParseError(file, lineNo, 'super options', `expected filesystem type, source and super options after " - ", got ${fields.length - separator - 1} fields`);
  }
  const device = fields[2]!;
  if (!/^\d+:\d+$/.test(device)) throw new ProcParseError(file, lineNo, 'major:minor', `expected "major:minor", got ${JSON.stringify(device)}`);
  const fsType = fields[separator + 1]!;
  if (fsType === '') throw new ProcParseError(file, lineNo, 'filesystem type', 'empty');
  return {
    mountId: parseId(file, lineNo, 'mount ID', fields[0]),
    parentId: parseId(file, lineNo, 'parent ID', fields[1]),
    device,
    root: unescapeMountField(fields[3]!),
    mountPoint: unescapeMountField(fields[4]!),
    options: fields[5]!,
    optionalFields: fields.slice(6, separator),
    fsType: unescapeMountField(fsType),
    source: unescapeMountField(fields[separator + 2]!),
    superOptions: fields.slice(separator + 3).join(' '),
  };
}

/** Parses the whole file; a malformed line throws a ProcParseError naming the file, line and field. */
export function parseMountinfo(text: string, file = '/proc/self/mountinfo'): MountEntry[] {
  const entries: MountEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    entries.push(parseLine(file, i + 1, line));
  }
  return entries;
}

/**
 * Every cgroup2 mount, in file order. A mount point that a later mount hides (the same path
 * mounted over) is left out: only the top-most mount at a path is reachable.
 */
export function cgroup2Mounts(entries: readonly MountEntry[]): Cgroup2Mount[] {
  const topAt = new Map<string, MountEntry>();
  for (const entry of entries) topAt.set(entry.mountPoint, entry);
  return entries
    .filter((entry) => entry.fsType === 'cgroup2' && topAt.get(entry.mountPoint) === entry)
    .map((entry) => ({ mountPoint: entry.mountPoint, root: entry.root }));
}

/** How many directories above the reader's cgroup namespace a mount root reaches ("/../.." -> 2). */
function levelsAboveNamespace(root: string): number {
  let levels = 0;
  for (const segment of root.split('/')) {
    if (segment === '..') levels++;
    else if (segment !== '') break;
  }
  return levels;
}

/**
 * The mount to walk: the one that shows the most of the hierarchy. On a host that is the mount
 * whose root is "/". Inside a private cgroup namespace the container's own /sys/fs/cgroup shows
 * only its subtree ("/"), while a hostPath mount of the host's hierarchy shows "/../..": the
 * most ".." wins, then the first. Undefined on a cgroup v1-only host.
 */
export function chooseCgroup2Mount(mounts: readonly Cgroup2Mount[]): Cgroup2Mount | undefined {
  let best: Cgroup2Mount | undefined;
  for (const mount of mounts) {
    if (best === undefined || levelsAboveNamespace(mount.root) > levelsAboveNamespace(best.root)) best = mount;
  }
  return best;
}

/** Reads <procfs>/self/mountinfo and returns the cgroup2 mount to walk, or undefined when there is none. */
export async function readCgroup2Mount(proc: ProcRoot): Promise<Cgroup2Mount | undefined> {
  const text = await proc.readText('self', 'mountinfo');
  return chooseCgroup2Mount(cgroup2Mounts(parseMountinfo(text, proc.path('self', 'mountinfo'))));
}
