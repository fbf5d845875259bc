import { ProcParseError } from '../errors.js';

export interface WantedField {
  readonly group: string;
  readonly field: string;
}

/**
 * Picks a few fields out of /proc/net/snmp or /proc/net/netstat text, for reading them from a
 * hundred namespaces per scrape: the header line of a group is the same in every namespace of
 * one kernel, so where each wanted field sits is worked out once per distinct header, and each
 * namespace then costs one split of each wanted group's values line. parseSnmp (every field, into
 * maps) is the general form; this gives the same values for the fields asked.
 */
export class SnmpFieldPicker {
  private readonly groups: ReadonlySet<string>;
  /** header line -> [field name, index in the values line] for the wanted fields of that group. */
  private readonly layouts = new Map<string, Array<[string, number]>>();

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
      const tokens = values.slice(colon + 1).trim().split(/\s+/);
      for (const [field, index] of this.layout(group, headerLine)) {
        const raw = tokens[index];
        if (raw === undefined || !/^-?\d+$/.test(raw)) throw new ProcParseError(file, lineNumber, `${group} ${field}`, `not a number: ${JSON.stringify(raw)}`);
        into.set(`${group}_${field}`, Number(raw));
      }
    }
    return into;
  }

  private layout(group: string, headerLine: string): Array<[string, number]> {
    let layout = this.layouts.get(headerLine);
    if (layout === undefined) {
      const names = headerLine.slice(group.length + 1).trim().split(/\s+/);
      layout = [];
      for (const { group: wantedGroup, field } of this.wanted) {
        const index = names.indexOf(field);
        if (wantedGroup === group && index >= 0) layout.push([field, index]);
      }
      // A few kernels' worth of headers at most; bound it anyway against a hostile procfs.
      if (this.layouts.size > 64) this.layouts.clear();
      this.layouts.set(headerLine, layout);
    }
    return layout;
  }
}
