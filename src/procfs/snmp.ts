import { ProcParseError } from '../errors.js';
import { safeInteger } from './safe-integer.js';

/** group -> field -> value, e.g. "TcpExt" -> "ListenOverflows" -> 12. */
export type SnmpCounters = Map<string, Map<string, number>>;

/**
 * Parses /proc/net/snmp or /proc/net/netstat: pairs of lines, a header naming the fields of a
 * group and a line of values for the same group, e.g.
 *   Tcp: RtoAlgorithm RtoMin ... ActiveOpens ...
 *   Tcp: 1 200 ... 1234 ...
 * Values are decimal. The kernel prints them unsigned except Tcp MaxConn (%ld, -1 for "no
 * limit"), so any other negative value, or one beyond 2^53 that a double cannot hold exactly,
 * is a parse error rather than a wrong number.
 */
export function parseSnmp(file: string, text: string): SnmpCounters {
  const groups: SnmpCounters = new Map();
  const lines = text.split('\n');
  let lineIndex = 0;
  while (lineIndex < lines.length) {
    const header = lines[lineIndex]!;
    if (header.trim() === '') {
      lineIndex++;
      continue;
    }
    const headerNumber = lineIndex + 1;
    const [group, names] = splitGroupLine(file, headerNumber, header);
    const valuesLine = lines[lineIndex + 1];
    if (valuesLine === undefined || valuesLine.trim() === '') {
      throw new ProcParseError(file, headerNumber + 1, group, 'header line has no line of values after it');
    }
    const [valueGroup, values] = splitGroupLine(file, headerNumber + 1, valuesLine);
    if (valueGroup !== group) {
      throw new ProcParseError(file, headerNumber + 1, valueGroup, `expected values for group ${group}`);
    }
    if (values.length !== names.length) {
      throw new ProcParseError(file, headerNumber + 1, group, `${names.length} field names but ${values.length} values`);
    }
    const fields = groups.get(group) ?? new Map<string, number>();
    names.forEach((name, i) => {
      const raw = values[i]!;
      const signed = group === 'Tcp' && name === 'MaxConn';
      if (!(signed ? /^-?\d+$/ : /^\d+$/).test(raw)) {
        throw new ProcParseError(file, headerNumber + 1, `${group} ${name}`, `${/^-\d+$/.test(raw) ? 'negative count' : 'not a number'}: ${JSON.stringify(raw)}`);
      }
      fields.set(name, safeInteger(file, headerNumber + 1, `${group} ${name}`, raw));
    });
    groups.set(group, fields);
    lineIndex += 2;
  }
  return groups;
}

function splitGroupLine(file: string, lineNumber: number, line: string): [string, string[]] {
  const colon = line.indexOf(':');
  if (colon <= 0) throw new ProcParseError(file, lineNumber, 'group', 'expected "<Group>: ..."');
  const group = line.slice(0, colon);
  const rest = line.slice(colon + 1).trim();
  return [group, rest === '' ? [] : rest.split(/\s+/)];
}
