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

/** Whether bytes[start, end) are exactly `expected`. */
export function bytesEqual(bytes: Buffer, start: number, end: number, expected: Buffer): boolean {
  return expected.length === end - start && bytes.compare(expected, 0, expected.length, start, end) === 0;
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
