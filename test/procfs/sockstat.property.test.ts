import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSockstat, parseSockstatProtocol } from '../../src/procfs/sockstat.js';
import { beyondSafe, counter, name, onlyProcParseErrors, parseErrorOf, RUNS } from './property-helpers.js';

const protocols = fc.uniqueArray(
  fc.record({ protocol: name(), pairs: fc.uniqueArray(fc.tuple(name(), counter()), { maxLength: 8, selector: ([key]) => key }) }),
  { minLength: 1, maxLength: 6, selector: (p) => p.protocol },
);

const render = (input: { protocol: string; pairs: [string, number][] }[]): string => input.map(({ protocol, pairs }) => `${protocol}: ${pairs.map(([k, v]) => `${k} ${v}`).join(' ')}\n`).join('');

describe('parseSockstat properties', () => {
  it('reads back every key and value', () => {
    fc.assert(
      fc.property(protocols, (input) => {
        const parsed = parseSockstat('sockstat', render(input));
        for (const { protocol, pairs } of input) for (const [key, value] of pairs) expect(parsed.get(protocol)?.get(key)).toBe(value);
      }),
      RUNS,
    );
  });

  it('one protocol parsed alone reads what the whole parse reads for it, and nothing for a protocol absent', () => {
    fc.assert(
      fc.property(protocols, fc.nat(), (input, pick) => {
        const text = render(input);
        const { protocol } = input[pick % input.length]!;
        expect(parseSockstatProtocol('sockstat', text, protocol)).toEqual(parseSockstat('sockstat', text).get(protocol));
        expect(parseSockstatProtocol('sockstat', text, `${protocol}X`)).toBe(input.some((p) => p.protocol === `${protocol}X`) ? parseSockstat('sockstat', text).get(`${protocol}X`) : undefined);
      }),
      RUNS,
    );
  });

  it('a bad value in the one protocol parsed alone is an error naming its line and field', () => {
    const error = parseErrorOf(() => parseSockstatProtocol('/proc/1/net/sockstat', 'sockets: used 1\nTCP: inuse 5 tw -2\nUDP: inuse 1\n', 'TCP'));
    expect(error.line).toBe(2);
    expect(error.field).toBe('TCP tw');
  });

  it('throws only ProcParseError, whatever the text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (text) => onlyProcParseErrors(() => parseSockstat('sockstat', text))), RUNS);
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (text) => onlyProcParseErrors(() => parseSockstatProtocol('sockstat', text, 'TCP'))), RUNS);
    fc.assert(fc.property(fc.array(fc.constantFrom('TCP:', 'inuse', '1', '-1', ' ', '\n', 'x', ':', '99999999999999999999'), { maxLength: 30 }), (tokens) => onlyProcParseErrors(() => parseSockstat('sockstat', tokens.join('')))), RUNS);
  });

  it('a value beyond 2^53 or a negative count is an error naming line and field', () => {
    fc.assert(
      fc.property(name(), name(), fc.oneof(beyondSafe(), fc.integer({ min: -(2 ** 40), max: -1 }).map(String)), (protocol, key, raw) => {
        const error = parseErrorOf(() => parseSockstat('/proc/net/sockstat', `sockets: used 1\n${protocol}: ${key} ${raw}\n`));
        expect(error.line).toBe(2);
        expect(error.field).toBe(`${protocol} ${key}`);
        expect(error.message).toMatch(/beyond 2\^53|negative count/);
      }),
      RUNS,
    );
  });
});
