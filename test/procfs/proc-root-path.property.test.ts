import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProcRoot } from '../../src/procfs/proc-root.js';
import { RUNS } from './property-helpers.js';

const segment = fc.oneof(fc.constantFrom('', '.', '..', 'ns', 'net', '1234', 'a/b', '/abs', 'x/', 'self'), fc.string({ maxLength: 6 }));
const root = fc.constantFrom('/proc', '/proc/', '/', 'proc', './x/../proc', '/host//proc', '');

describe('ProcRoot.path', () => {
  it('is path.join of the root and the segments, whatever they are (the plain-name shortcut included)', () => {
    fc.assert(
      fc.property(root, fc.array(segment, { maxLength: 4 }), (base, segments) => {
        expect(new ProcRoot(base).path(...segments)).toBe(join(base, ...segments));
      }),
      RUNS,
    );
  });
});
