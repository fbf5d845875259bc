import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePageSize, parsePortRange, parseSysctl } from '../../src/procfs/sysctl.js';
import { beyondSafe, onlyProcParseErrors, parseErrorOf, RUNS } from './property-helpers.js';

const separator = fc.constantFrom(' ', '\t', '  ', ' \t');
const safeInt = fc.oneof(fc.integer(), fc.maxSafeInteger());

describe('sysctl parser properties', () => {
  it('reads back one or more integers however they are separated', () => {
    fc.assert(
      fc.property(fc.array(safeInt, { minLength: 1, maxLength: 6 }), separator, (values, sep) => {
        expect(parseSysctl('f', 'net.x', `${values.join(sep)}\n`)).toEqual(values);
      }),
      RUNS,
    );
  });

  it('throws only ProcParseError, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        onlyProcParseErrors(() => parseSysctl('f', 'net.x', text));
        onlyProcParseErrors(() => parsePortRange('f', text));
        onlyProcParseErrors(() => parsePageSize('f', text));
      }),
      RUNS,
    );
  });

  it('a value beyond 2^53 is an error, not a rounded number', () => {
    fc.assert(fc.property(beyondSafe(), fc.boolean(), (raw, negative) => {
        expect(parseErrorOf(() => parseSysctl('f', 'net.x', `${negative ? '-' : ''}${raw}\n`)).message).toMatch(/beyond 2\^53/);
      }),
      RUNS,
    );
  });

  it('ip_local_port_range accepts exactly the ranges within 0-65535', () => {
    fc.assert(
      fc.property(fc.integer({ min: -10, max: 70_000 }), fc.integer({ min: -10, max: 70_000 }), (first, last) => {
        const valid = first >= 0 && last <= 65535 && first <= last;
        if (valid) expect(parsePortRange('f', `${first}\t${last}\n`)).toEqual([first, last]);
        else parseErrorOf(() => parsePortRange('f', `${first}\t${last}\n`));
      }),
      RUNS,
    );
  });
});
