import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ProcParseError } from '../../src/errors.js';
import { parseSnmp } from '../../src/procfs/snmp.js';
import { SnmpFieldPicker } from '../../src/procfs/snmp-fields.js';
import { fixtureProcfs } from '../helpers/exporter-process.js';
import { WANTED } from './property-helpers.js';


describe('SnmpFieldPicker', () => {
  for (const file of ['snmp', 'netstat']) {
    it(`picks the same values as parseSnmp from the real ${file}, twice (the cached layout)`, () => {
      const path = `${fixtureProcfs}/net/${file}`;
      const text = readFileSync(path, 'latin1');
      const all = parseSnmp(path, text);
      const expected = new Map<string, number>();
      for (const { group, field } of WANTED) {
        const value = all.get(group)?.get(field);
        if (value !== undefined) expected.set(`${group}_${field}`, value);
      }
      expect(expected.size).toBeGreaterThan(0);
      const picker = new SnmpFieldPicker(WANTED);
      expect(picker.pick(path, text)).toEqual(expected);
      expect(picker.pick(path, text)).toEqual(expected);
    });
  }

  it('leaves out a field the kernel lacks, and refuses a value that is not a number', () => {
    const picker = new SnmpFieldPicker(WANTED);
    expect(picker.pick('x', 'Tcp: ActiveOpens MaxConn\nTcp: 7 -1\n')).toEqual(new Map([['Tcp_ActiveOpens', 7], ['Tcp_MaxConn', -1]]));
    expect(() => picker.pick('x', 'Tcp: ActiveOpens\nTcp: seven\n')).toThrow(ProcParseError);
    expect(() => picker.pick('x', 'Tcp: ActiveOpens\nIp: 1\n')).toThrow(/same group/);
  });
});
