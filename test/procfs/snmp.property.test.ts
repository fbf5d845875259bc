import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSnmp } from '../../src/procfs/snmp.js';
import { beyondSafe, counter, name, onlyProcParseErrors, parseErrorOf, RUNS } from './property-helpers.js';

/** Groups of distinct field names with values, rendered as header and value lines. */
const groups = fc.uniqueArray(
  fc.record({ group: name(), fields: fc.uniqueArray(fc.tuple(name(), counter()), { minLength: 1, maxLength: 12, selector: ([field]) => field }) }),
  { minLength: 1, maxLength: 6, selector: (g) => g.group },
);

function render(input: { group: string; fields: [string, number][] }[]): string {
  return input.map(({ group, fields }) => `${group}: ${fields.map(([f]) => f).join(' ')}\n${group}: ${fields.map(([, v]) => v).join(' ')}\n`).join('');
}

describe('parseSnmp properties', () => {
  it('reads back every counter of what the kernel format can hold', () => {
    fc.assert(
      fc.property(groups, (input) => {
        const parsed = parseSnmp('snmp', render(input));
        for (const { group, fields } of input) for (const [field, value] of fields) expect(parsed.get(group)?.get(field)).toBe(value);
      }),
      RUNS,
    );
  });

  it('throws only ProcParseError, whatever the text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), (text) => onlyProcParseErrors(() => parseSnmp('snmp', text))), RUNS);
    fc.assert(
      fc.property(groups, fc.nat(), fc.string({ maxLength: 8 }), (input, at, junk) => {
        const text = render(input);
        const cut = at % (text.length + 1);
        onlyProcParseErrors(() => parseSnmp('snmp', text.slice(0, cut) + junk + text.slice(cut)));
      }),
      RUNS,
    );
  });

  it('a value beyond 2^53 or a negative count is an error naming line and field', () => {
    fc.assert(
      fc.property(name(), name(), fc.oneof(beyondSafe(), fc.integer({ min: -(2 ** 40), max: -1 }).map(String)), (group, field, raw) => {
        fc.pre(!(group === 'Tcp' && field === 'MaxConn'));
        const error = parseErrorOf(() => parseSnmp('/proc/net/snmp', `${group}: ${field}\n${group}: ${raw}\n`));
        expect(error.line).toBe(2);
        expect(error.field).toBe(`${group} ${field}`);
        expect(error.message).toMatch(/beyond 2\^53|negative count/);
      }),
      RUNS,
    );
  });

  it('Tcp MaxConn, which the kernel prints signed, may be negative', () => {
    fc.assert(fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 }), (value) => {
        expect(parseSnmp('snmp', `Tcp: MaxConn\nTcp: ${value}\n`).get('Tcp')?.get('MaxConn')).toBe(value);
      }),
      RUNS,
    );
  });
});
