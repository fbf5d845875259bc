import { ProcParseError } from '../errors.js';
import { bytesEqual, indexNear, lineEnd, rangesEqual, shortIntegerAt } from './bytes.js';

export interface WantedField {
  readonly group: string;
  readonly field: string;
}

/** Space or tab: what separates the fields of a line (the kernel writes one space). */
const isBlank = (code: number): boolean => code === 32 || code === 9;

/** The key a picked field goes under: "Group_Field". */
export const fieldKey = (group: string, field: string): string => `${group}_${field}`;

/** A wanted field found in a header: its key, its index among the values, and its index in `wanted`. */
interface PickedField {
  readonly key: string;
  readonly token: number;
  readonly slot: number;
}

interface Layout {
  readonly header: string;
  /** The same header as bytes, for pickBytes. */
  readonly headerBytes: Buffer;
  readonly fields: PickedField[];
}

const COLON = 0x3a;

/** pickValues on bytes: false where a wanted token is missing or not a short integer. */
function pickValueBytes(bytes: Buffer, from: number, end: number, layout: ReadonlyArray<PickedField>, out: Float64Array, base: number): boolean {
  let pos = from;
  let tokenIndex = 0;
  let next = 0;
  while (next < layout.length) {
    while (pos < end && isBlank(bytes[pos]!)) pos++;
    if (pos >= end) return false;
    let tokenEnd = pos + 1;
    while (tokenEnd < end && !isBlank(bytes[tokenEnd]!)) tokenEnd++;
    while (next < layout.length && layout[next]!.token === tokenIndex) {
      const value = shortIntegerAt(bytes, pos, tokenEnd);
      if (Number.isNaN(value)) return false;
      out[base + layout[next]!.slot] = value;
      next++;
    }
    tokenIndex++;
    pos = tokenEnd;
  }
  return true;
}

/**
 * Picks a few fields out of /proc/net/snmp or /proc/net/netstat text, for reading them from a
 * hundred namespaces per scrape: the header line of a group is the same in every namespace of
 * one kernel, so where each wanted field sits is worked out once per distinct header, and each
 * namespace then costs one walk of each wanted group's values line. parseSnmp (every field, into
 * maps) is the general form; this gives the same values for the fields asked.
 */
export class SnmpFieldPicker {
  private readonly groups: ReadonlySet<string>;
  /**
   * Per group, the headers seen and where the wanted fields sit in the values line, by index. Compared by equality rather than kept in a Map by header: hashing a 2 KB header
   * each time costs more than comparing it with the one or two a kernel has.
   */
  private readonly layouts = new Map<string, Layout[]>();
  /** The wanted groups' names as bytes, for pickBytes. */
  private readonly groupBytes: ReadonlyArray<readonly [string, Buffer]>;

  constructor(private readonly wanted: readonly WantedField[]) {
    this.groups = new Set(wanted.map((w) => w.group));
    this.groupBytes = [...this.groups].map((group) => [group, Buffer.from(group, 'latin1')] as const);
  }

  /**
   * The same values as pick(), straight from the bytes a read left in `bytes` (its first
   * `length`), without making a string: out[base + i] is wanted[i]'s value, untouched where the
   * kernel lacks the field. False where the text is anything but the plain kernel format (a
   * value that is not a short integer, a line out of place): then pick() on the text gives the
   * values or the error, so both ways agree on every text.
   */
  pickBytes(bytes: Buffer, length: number, out: Float64Array, base: number): boolean {
    let pos = 0;
    while (pos < length) {
      const headerEnd = lineEnd(bytes, pos, length);
      const valuesStart = headerEnd + 1;
      if (valuesStart >= length) return false;
      const valuesEnd = lineEnd(bytes, valuesStart, length);
      const colon = indexNear(bytes, COLON, pos, headerEnd);
      if (colon <= pos) return false;
      // The values line starts with the header's "Group:".
      const prefix = colon + 1 - pos;
      if (valuesEnd - valuesStart < prefix || !rangesEqual(bytes, pos, valuesStart, prefix)) return false;
      const group = this.wantedGroupAt(bytes, pos, colon);
      if (group !== undefined && !pickValueBytes(bytes, valuesStart + prefix, valuesEnd, this.layoutOfBytes(group, bytes, pos, headerEnd), out, base)) return false;
      pos = valuesEnd + 1;
    }
    return true;
  }

  private wantedGroupAt(bytes: Buffer, start: number, end: number): string | undefined {
    for (const [group, name] of this.groupBytes) if (bytesEqual(bytes, start, end, name)) return group;
    return undefined;
  }

  private layoutOfBytes(group: string, bytes: Buffer, start: number, end: number): ReadonlyArray<PickedField> {
    for (const layout of this.layouts.get(group) ?? []) if (bytesEqual(bytes, start, end, layout.headerBytes)) return layout.fields;
    return this.layout(group, bytes.toString('latin1', start, end));
  }

  /** "Group_Field" -> value for the wanted fields present; a field the kernel lacks is left out. */
  pick(file: string, text: string, into: Map<string, number> = new Map()): Map<string, number> {
    let start = 0;
    let lineNumber = 0;
    let header: string | undefined;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      const line = text.slice(start, end);
      start = end + 1;
      lineNumber++;
      if (header === undefined) {
        header = line;
        continue;
      }
      const values = line;
      const headerLine = header;
      header = undefined;
      const colon = headerLine.indexOf(':');
      if (colon <= 0 || !values.startsWith(headerLine.slice(0, colon + 1))) throw new ProcParseError(file, lineNumber, 'group', 'expected a header line and a values line of the same group');
      const group = headerLine.slice(0, colon);
      if (!this.groups.has(group)) continue;
      this.pickValues(file, lineNumber, group, values, colon + 1, this.layout(group, headerLine), into);
    }
    return into;
  }

  /**
   * Walks the values line token by token up to the last wanted index, slicing only the wanted
   * tokens: a TcpExt line has over a hundred values and a namespace wants six of them.
   */
  private pickValues(file: string, lineNumber: number, group: string, values: string, from: number, layout: ReadonlyArray<PickedField>, into: Map<string, number>): void {
    let pos = from;
    let tokenIndex = 0;
    let next = 0;
    while (next < layout.length) {
      while (pos < values.length && isBlank(values.charCodeAt(pos))) pos++;
      if (pos >= values.length) break;
      let tokenEnd = pos + 1;
      while (tokenEnd < values.length && !isBlank(values.charCodeAt(tokenEnd))) tokenEnd++;
      while (next < layout.length && layout[next]!.token === tokenIndex) {
        const raw = values.slice(pos, tokenEnd);
        if (!/^-?\d+$/.test(raw)) throw new ProcParseError(file, lineNumber, `${group} ${fieldOf(group, layout[next]!.key)}`, `not a number: ${JSON.stringify(raw)}`);
        into.set(layout[next]!.key, Number(raw));
        next++;
      }
      tokenIndex++;
      pos = tokenEnd;
    }
    if (next < layout.length) throw new ProcParseError(file, lineNumber, `${group} ${fieldOf(group, layout[next]!.key)}`, 'not a number: undefined');
  }

  private layout(group: string, headerLine: string): PickedField[] {
    let seen = this.layouts.get(group);
    if (seen === undefined) this.layouts.set(group, (seen = []));
    for (const layout of seen) if (layout.header === headerLine) return layout.fields;
    const names = headerLine.slice(group.length + 1).trim().split(/\s+/);
    const fields: PickedField[] = [];
    this.wanted.forEach(({ group: wantedGroup, field }, slot) => {
      const token = names.indexOf(field);
      if (wantedGroup === group && token >= 0) fields.push({ key: fieldKey(group, field), token, slot });
    });
    fields.sort((a, b) => a.token - b.token);
    // A few kernels' worth of headers at most; bound it anyway against a hostile procfs.
    if (seen.length >= 8) seen.shift();
    seen.push({ header: headerLine, headerBytes: Buffer.from(headerLine, 'latin1'), fields });
    return fields;
  }
}

/** "Tcp_ActiveOpens" -> "ActiveOpens" (for an error's message). */
const fieldOf = (group: string, key: string): string => key.slice(group.length + 1);
