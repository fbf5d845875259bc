import { ProcParseError } from '../errors.js';
import { safeInteger } from './safe-integer.js';
import { bytesEqual, lineEnd, shortCountAt } from './bytes.js';

const SPACE = 0x20;

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
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ProcParseError(file, index + 1, 'protocol', 'expected "<PROTOCOL>: key value ..."');
    const protocol = line.slice(0, colon);
    result.set(protocol, parsePairs(file, index + 1, protocol, line.slice(colon + 1)));
  });
  return result;
}

/**
 * One protocol's line of a sockstat, e.g. "TCP" from /proc/<pid>/net/sockstat, parsed alone:
 * what a hundred namespaces a scrape need, without splitting the other five lines of each.
 * Undefined when the file has no such line.
 */
export function parseSockstatProtocol(file: string, text: string, protocol: string): Map<string, number> | undefined {
  const prefix = `${protocol}:`;
  const newlineBefore = text.startsWith(prefix) ? -1 : text.indexOf(`\n${prefix}`);
  if (newlineBefore < 0 && !text.startsWith(prefix)) return undefined;
  let start = newlineBefore + 1;
  let end = text.indexOf('\n', start);
  if (end < 0) end = text.length;
  const lineNumber = text.slice(0, start).split('\n').length;
  start += prefix.length;
  return parsePairs(file, lineNumber, protocol, text.slice(start, end));
}

/** " inuse 5 orphan 0 tw 2" -> inuse=5, orphan=0, tw=2; throws on an odd count or a value that is not a count. */
function parsePairs(file: string, lineNumber: number, protocol: string, rest: string): Map<string, number> {
  const tokens = rest.trim().split(/\s+/).filter((token) => token !== '');
  if (tokens.length % 2 !== 0) throw new ProcParseError(file, lineNumber, protocol, 'keys and values do not pair up');
  const pairs = new Map<string, number>();
  for (let i = 0; i < tokens.length; i += 2) {
    const key = tokens[i]!;
    const raw = tokens[i + 1]!;
    if (!/^\d+$/.test(raw)) throw new ProcParseError(file, lineNumber, `${protocol} ${key}`, `${/^-\d+$/.test(raw) ? 'negative count' : 'not a number'}: ${JSON.stringify(raw)}`);
    pairs.set(key, safeInteger(file, lineNumber, `${protocol} ${key}`, raw));
  }
  return pairs;
}

/**
 * parseSockstatProtocol straight from the bytes a read left in `bytes` (its first `length`),
 * without making a string, for the few keys a caller wants: out[slots[i]] is keys[i]'s value,
 * untouched where the line lacks it. False where the line is missing or anything but plain
 * "key count" pairs of short counts: then parseSockstatProtocol on the text gives the values or
 * the error, so both ways agree on every text.
 */
export function pickSockstatBytes(bytes: Buffer, length: number, protocol: SockstatLine, out: Float64Array, slots: readonly number[]): boolean {
  const { prefix } = protocol;
  let start: number;
  if (length >= prefix.length - 1 && bytesEqual(bytes, 0, prefix.length - 1, protocol.firstLine)) start = prefix.length - 1;
  else {
    const at = bytes.indexOf(prefix);
    if (at < 0 || at + prefix.length > length) return false;
    start = at + prefix.length;
  }
  const end = lineEnd(bytes, start, length);
  let pos = start;
  let key = -1;
  for (let pair = 0; ; pair++) {
    while (pos < end && bytes[pos] === SPACE) pos++;
    if (pos >= end) return pair % 2 === 0;
    let tokenEnd = pos;
    while (tokenEnd < end && bytes[tokenEnd] !== SPACE) {
      // Tabs, carriage returns and the like: whitespace to the text's way, so it decides.
      if (bytes[tokenEnd]! <= SPACE || bytes[tokenEnd]! >= 0x7f) return false;
      tokenEnd++;
    }
    if (pair % 2 === 0) key = protocol.keys.findIndex((name) => bytesEqual(bytes, pos, tokenEnd, name));
    else {
      const value = shortCountAt(bytes, pos, tokenEnd);
      if (Number.isNaN(value)) return false;
      if (key >= 0) out[slots[key]!] = value;
    }
    pos = tokenEnd;
  }
}

/** A protocol's line ("TCP") and the keys wanted from it, as bytes, made once. */
export interface SockstatLine {
  /** "\nTCP:": the line anywhere but first. */
  readonly prefix: Buffer;
  /** "TCP:": the line first in the file. */
  readonly firstLine: Buffer;
  readonly keys: readonly Buffer[];
}

export function sockstatLine(protocol: string, keys: readonly string[]): SockstatLine {
  return { prefix: Buffer.from(`\n${protocol}:`, 'latin1'), firstLine: Buffer.from(`${protocol}:`, 'latin1'), keys: keys.map((key) => Buffer.from(key, 'latin1')) };
}
