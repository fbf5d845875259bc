import { ProcParseError } from '../errors.js';

export interface WantedField {
  readonly group: string;
  readonly field: string;
}

/**
 * Picks a few fields out of /proc/net/snmp or /proc/net/netstat text, for reading them from a
 * hundred namespaces per scrape: the header line of a group is the same in every namespace of
 * one kernel, so where each wanted field sits is worked out once per distinct header, and each
 * namespace then costs one walk of each wanted group's values line. parseSnmp (every field, into
 * maps) is the general form; this gives the same values for the fields asked.
 */
/** Space or tab: what separates the fields of a line (the kernel writes one space). */
const isBlank = (code: number): boolean => code === 32 || code === 9;

/** The key a picked field goes under: "Group_Field". */
export const fieldKey = (group: string, field: string): string => `${group}_${field}`;

export class SnmpFieldPicker {
  private readonly groups: ReadonlySet<string>;
  /**
   * Per group, the headers seen and their [key, index in the values line] for the wanted fields,
   * by index. Compared by equality rather than kept in a Map by header: hashing a 2 KB header
   * each time costs more than comparing it with the one or two a kernel has.
   */
  private readonly layouts = new Map<string, Array<{ header: string; fields: Array<[string, number]> }>>();

  constructor(private readonly wanted: readonly WantedField[]) {
    this.groups = new Set(wanted.map((w) => w.group));
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
  private pickValues(file: string, lineNumber: number, group: string, values: string, from: number, layout: ReadonlyArray<[string, number]>, into: Map<string, number>): void {
    let pos = from;
    let tokenIndex = 0;
    let next = 0;
    while (next < layout.length) {
      while (pos < values.length && isBlank(values.charCodeAt(pos))) pos++;
      if (pos >= values.length) break;
      let tokenEnd = pos + 1;
      while (tokenEnd < values.length && !isBlank(values.charCodeAt(tokenEnd))) tokenEnd++;
      while (next < layout.length && layout[next]![1] === tokenIndex) {
        const raw = values.slice(pos, tokenEnd);
        if (!/^-?\d+$/.test(raw)) throw new ProcParseError(file, lineNumber, `${group} ${fieldOf(group, layout[next]![0])}`, `not a number: ${JSON.stringify(raw)}`);
        into.set(layout[next]![0], Number(raw));
        next++;
      }
      tokenIndex++;
      pos = tokenEnd;
    }
    if (next < layout.length) throw new ProcParseError(file, lineNumber, `${group} ${fieldOf(group, layout[next]![0])}`, 'not a number: undefined');
  }

  private layout(group: string, headerLine: string): Array<[string, number]> {
    let seen = this.layouts.get(group);
    if (seen === undefined) this.layouts.set(group, (seen = []));
    for (const layout of seen) if (layout.header === headerLine) return layout.fields;
    const names = headerLine.slice(group.length + 1).trim().split(/\s+/);
    const fields: Array<[string, number]> = [];
    for (const { group: wantedGroup, field } of this.wanted) {
      const index = names.indexOf(field);
      if (wantedGroup === group && index >= 0) fields.push([fieldKey(group, field), index]);
    }
    fields.sort((a, b) => a[1] - b[1]);
    // A few kernels' worth of headers at most; bound it anyway against a hostile procfs.
    if (seen.length >= 8) seen.shift();
    seen.push({ header: headerLine, fields });
    return fields;
  }
}

/** "Tcp_ActiveOpens" -> "ActiveOpens" (for an error's message). */
const fieldOf = (group: string, key: string): string => key.slice(group.length + 1);
