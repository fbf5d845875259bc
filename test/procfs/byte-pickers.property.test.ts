/**
 * The byte pickers (what the namespace counters use, on both threads) against the text parsers:
 * on any text, where a byte picker answers it gives exactly the text parser's values, and it
 * answers for the kernel's own files; where it declines, the text's way decides (value or error).
 * Bytes past the read's length are stale, as in the reused read buffer, and must not count.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SnmpFieldPicker } from '../../src/procfs/snmp-fields.js';
import { parseSockstatProtocol, pickSockstatBytes, sockstatLine } from '../../src/procfs/sockstat.js';
import { fixtureProcfs } from '../helpers/exporter-process.js';
import { counter, name, RUNS, WANTED } from './property-helpers.js';

const texts = ['snmp', 'netstat'].map((file) => readFileSync(`${fixtureProcfs}/net/${file}`, 'latin1'));

/** `text` in a bigger buffer whose bytes past it look like more lines of the same files. */
function inStaleBuffer(text: string, stale: string): Buffer {
  const bytes = Buffer.alloc(text.length + stale.length + 1);
  bytes.write(text, 0, 'latin1');
  bytes.write(stale, text.length, 'latin1');
  return bytes;
}

/** What a text parser gives: its value, or 'error'. */
function outcome<T>(parse: () => T): T | 'error' {
  try {
    return parse();
  } catch {
    return 'error';
  }
}

const oddToken = fc.constantFrom('-1', '-0', '007', '', ' ', '\t7', '7\t', 'x', '1.5', '99999999999999999999', '123456789012345', '1234567890123456', '\r', '\n', 'TCP:', 'Tcp:');

/** A text split at a random place with something odd put in (or a piece cut out). */
const mutated = (base: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.tuple(base, fc.nat(), fc.nat(40), oddToken, fc.boolean()).map(([text, at, cut, token, insert]) => {
    const pos = at % (text.length + 1);
    return insert ? text.slice(0, pos) + token + text.slice(pos) : text.slice(0, pos) + text.slice(pos + cut);
  });

describe('SnmpFieldPicker.pickBytes', () => {
  const picker = new SnmpFieldPicker(WANTED);
  const check = (text: string, stale: string): boolean => {
    const out = new Float64Array(WANTED.length).fill(NaN);
    const answered = picker.pickBytes(inStaleBuffer(text, stale), text.length, out, 0);
    if (answered) {
      const picked = outcome(() => picker.pick('x', text));
      expect(picked).not.toBe('error');
      WANTED.forEach(({ group, field }, i) => expect(out[i]).toBe((picked as Map<string, number>).get(`${group}_${field}`) ?? NaN));
    }
    return answered;
  };

  it("answers for the kernel's own snmp and netstat, whatever lies past them in the buffer", () => {
    for (const text of texts) {
      expect(check(text, '')).toBe(true);
      expect(check(text, text)).toBe(true);
      expect(check(text.trimEnd(), '\nTcp: 1 2 3\n')).toBe(true);
    }
  });

  it('gives the text way’s values wherever it answers, on texts with something odd put in or cut out', () => {
    fc.assert(fc.property(mutated(fc.constantFrom(...texts)), fc.constantFrom('', '\n', 'Tcp: 5 6 7\n', 'TcpExt: 1\n'), (text, stale) => void check(text, stale)), RUNS);
  });

  it('declines a wanted value it cannot read as a short integer', () => {
    expect(check('Tcp: ActiveOpens MaxConn\nTcp: 7 -1\n', '')).toBe(true);
    expect(check('Tcp: ActiveOpens\nTcp: seven\n', '')).toBe(false);
    expect(check('Tcp: ActiveOpens\nTcp: 99999999999999999999\n', '')).toBe(false);
    expect(check('Tcp: ActiveOpens\nIp: 1\n', '')).toBe(false);
  });
});

describe('pickSockstatBytes', () => {
  const line = sockstatLine('TCP', ['inuse', 'tw']);
  const check = (text: string, stale: string): boolean => {
    const out = new Float64Array(2).fill(NaN);
    const answered = pickSockstatBytes(inStaleBuffer(text, stale), text.length, line, out, [0, 1]);
    if (answered) {
      const parsed = outcome(() => parseSockstatProtocol('x', text, 'TCP'));
      expect(parsed).not.toBe('error');
      const pairs = parsed as Map<string, number> | undefined;
      expect(pairs).toBeDefined();
      expect([out[0], out[1]]).toEqual([pairs!.get('inuse') ?? NaN, pairs!.get('tw') ?? NaN]);
    }
    return answered;
  };
  const protocols = fc.array(fc.record({ protocol: fc.oneof(name(), fc.constantFrom('TCP', 'TCP6', 'UDP')), pairs: fc.array(fc.tuple(fc.oneof(name(), fc.constantFrom('inuse', 'tw')), counter()), { maxLength: 6 }) }), { minLength: 1, maxLength: 5 });
  const render = (input: { protocol: string; pairs: [string, number][] }[]): string => input.map(({ protocol, pairs }) => `${protocol}: ${pairs.map(([k, v]) => `${k} ${v}`).join(' ')}\n`).join('');

  it("answers for the kernel's own sockstat, whatever lies past it in the buffer", () => {
    const text = readFileSync(`${fixtureProcfs}/net/sockstat`, 'latin1');
    expect(check(text, '')).toBe(true);
    expect(check(text, '\nTCP: inuse 99\n')).toBe(true);
    expect(check('TCP: inuse 3', ' tw 4\n')).toBe(true);
  });

  it('gives the text way’s values wherever it answers, on rendered and on mutated texts', () => {
    fc.assert(fc.property(protocols.map(render), fc.constantFrom('', '\nTCP: inuse 1 tw 2\n'), (text, stale) => void check(text, stale)), RUNS);
    fc.assert(fc.property(mutated(protocols.map(render)), fc.constantFrom('', '\nTCP: inuse 1\n'), (text, stale) => void check(text, stale)), RUNS);
  });

  it('declines a line it cannot read plainly, and a missing line', () => {
    expect(check('sockets: used 1\nTCP: inuse 5 tw -2\n', '')).toBe(false);
    expect(check('TCP: inuse 5 tw\n', '')).toBe(false);
    expect(check('TCP: inuse\t5\n', '')).toBe(false);
    expect(check('UDP: inuse 5\n', 'TCP: inuse 1\n')).toBe(false);
  });
});
