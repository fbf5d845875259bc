import { ProcParseError } from '../errors.js';
import { safeInteger } from './safe-integer.js';

/** protocol -> key -> value, e.g. "TCP" -> "inuse" -> 12. */
export type Sockstat = Map<string, Map<string, number>>;

/**
 * Parses /proc/net/sockstat or /proc/net/sockstat6: one line per protocol with key/value pairs,
 *   TCP: inuse 5 orphan 0 tw 2 alloc 7 mem 1
 */
export function parseSockstat(file: string, text: string): Sockstat {
  const result: Sockstat = new Map();
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    const lineNumber = index + 1;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ProcParseError(file, lineNumber, 'protocol', 'expected "<PROTOCOL>: key value ..."');
    const protocol = line.slice(0, colon);
    const tokens = line.slice(colon + 1).trim().split(/\s+/).filter((token) => token !== '');
    if (tokens.length % 2 !== 0) throw new ProcParseError(file, lineNumber, protocol, 'keys and values do not pair up');
    const pairs = new Map<string, number>();
    for (let i = 0; i < tokens.length; i += 2) {
      const key = tokens[i]!;
      const raw = tokens[i + 1]!;
      if (!/^\d+$/.test(raw)) throw new ProcParseError(file, lineNumber, `${protocol} ${key}`, `${/^-\d+$/.test(raw) ? 'negative count' : 'not a number'}: ${JSON.stringify(raw)}`);
      pairs.set(key, safeInteger(file, lineNumber, `${protocol} ${key}`, raw));
    }
    result.set(protocol, pairs);
  });
  return result;
}
