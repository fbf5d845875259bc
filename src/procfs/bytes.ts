/**
 * Reading /proc text straight from the bytes a read left in a reused buffer, without making a
 * string (snmp-fields.ts, sockstat.ts): only the buffer's first `length` bytes are the text,
 * what lies past them is stale.
 */

const NEWLINE = 0x0a;
const MINUS = 0x2d;
/** Up to 15 digits a double holds exactly, however they are summed; longer goes the text's way. */
const MAX_FAST_DIGITS = 15;

/** Where the line from `start` ends: its newline, or `length`. */
export function lineEnd(bytes: Buffer, start: number, length: number): number {
  const end = bytes.indexOf(NEWLINE, start);
  return end < 0 || end > length ? length : end;
}

/**
 * Up to this many bytes, comparing in a loop here beats calling Buffer's compare or indexOf:
 * each call into the binding costs more than the loop over a group name or a line's prefix, and
 * a namespace's counter files ask dozens of those per read.
 */
const SHORT = 32;

/** Whether bytes[start, end) are exactly `expected`. */
export function bytesEqual(bytes: Buffer, start: number, end: number, expected: Buffer): boolean {
  const length = expected.length;
  if (length !== end - start) return false;
  if (length > SHORT) return bytes.compare(expected, 0, length, start, end) === 0;
  for (let i = 0; i < length; i++) if (bytes[start + i] !== expected[i]) return false;
  return true;
}

/** Whether bytes[a, a + length) and bytes[b, b + length) are the same (both within the text). */
export function rangesEqual(bytes: Buffer, a: number, b: number, length: number): boolean {
  if (length > SHORT) return bytes.compare(bytes, a, a + length, b, b + length) === 0;
  for (let i = 0; i < length; i++) if (bytes[a + i] !== bytes[b + i]) return false;
  return true;
}

/** The first `byte` in bytes[start, end), or -1; for a byte expected within a few of `start`. */
export function indexNear(bytes: Buffer, byte: number, start: number, end: number): number {
  const stop = Math.min(end, start + SHORT);
  for (let i = start; i < stop; i++) if (bytes[i] === byte) return i;
  if (stop === end) return -1;
  const found = bytes.indexOf(byte, stop);
  return found < 0 || found >= end ? -1 : found;
}

/**
 * An integer token of up to 15 digits, optionally negative, at bytes[start, end): NaN when it is
 * anything else (the text's way then decides).
 */
export function shortIntegerAt(bytes: Buffer, start: number, end: number): number {
  const negative = bytes[start] === MINUS;
  const from = negative ? start + 1 : start;
  if (from >= end || end - from > MAX_FAST_DIGITS) return NaN;
  let value = 0;
  for (let i = from; i < end; i++) {
    const digit = bytes[i]! - 0x30;
    if (digit < 0 || digit > 9) return NaN;
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}

/** A count: shortIntegerAt without the sign; NaN for a negative token (the text's way calls it an error). */
export function shortCountAt(bytes: Buffer, start: number, end: number): number {
  return bytes[start] === MINUS ? NaN : shortIntegerAt(bytes, start, end);
}
