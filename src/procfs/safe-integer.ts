import { ProcParseError } from '../errors.js';

/**
 * A decimal integer from /proc as a number, refusing what a double cannot hold exactly: a 64-bit
 * counter past 2^53 would silently round (or become Infinity with enough digits).
 */
export function safeInteger(file: string, line: number, field: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new ProcParseError(file, line, field, `${text} is beyond 2^53 and cannot be represented exactly`);
  return value;
}
