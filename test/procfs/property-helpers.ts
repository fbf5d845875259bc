import fc from 'fast-check';
import { expect } from 'vitest';
import { ProcParseError } from '../../src/errors.js';

/**
 * Bounded runs: enough cases to find the edges, few enough that every property file finishes in
 * about a second on a busy two-core machine. A failure prints its seed and shrunk counterexample.
 */
export const RUNS = { numRuns: 300, interruptAfterTimeLimit: 3000 } as const;

/** Counters as the kernel writes them, from 0 to the largest a double holds exactly. */
export const counter = (): fc.Arbitrary<number> => fc.oneof(fc.nat(1000), fc.maxSafeNat());

/** Decimal integers past 2^53, up to 2^64 - 1 and beyond. */
export const beyondSafe = (): fc.Arbitrary<string> => fc.bigInt({ min: 2n ** 53n, max: 2n ** 70n }).map(String);

/** Identifier-ish names as /proc uses them. */
export const name = (): fc.Arbitrary<string> => fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,11}$/);

/** What the SnmpFieldPicker tests ask for: fields of both files, MaxConn (which may be -1), and one no kernel has. */
export const WANTED = [
  { group: 'Tcp', field: 'ActiveOpens' },
  { group: 'Tcp', field: 'MaxConn' },
  { group: 'Tcp', field: 'OutRsts' },
  { group: 'TcpExt', field: 'ListenOverflows' },
  { group: 'TcpExt', field: 'TCPTimeouts' },
  { group: 'TcpExt', field: 'NoSuchFieldInAnyKernel' },
] as const;

/** Runs `parse` and checks it either returns or throws the project's own parse error, with a one-line message. */
export function onlyProcParseErrors(parse: () => unknown): void {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(ProcParseError);
    expect((error as Error).message).not.toContain('\n');
  }
}

export function parseErrorOf(parse: () => unknown): ProcParseError {
  try {
    parse();
  } catch (error) {
    if (error instanceof ProcParseError) return error;
    throw error;
  }
  throw new Error('expected a ProcParseError');
}
