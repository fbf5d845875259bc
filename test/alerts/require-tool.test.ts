import { afterEach, describe, expect, it, vi } from 'vitest';
import { toolOrSkip } from '../helpers/require-tool.js';

describe('toolOrSkip', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('finds a tool on PATH and returns its path', () => {
    const sh = toolOrSkip('sh', 'dash', { PATH: '/nonexistent:/usr/bin:/bin' });
    expect(sh.available).toBe(true);
    expect(sh.path).toMatch(/\/sh$/);
    expect(sh.skipReason).toBeUndefined();
  });

  it('outside CI: a missing tool gives a skip reason with the apt-get command, and says it', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const missing = toolOrSkip('no-such-tool-4f1c', 'some-package', { PATH: '/usr/bin:/bin' });
    expect(missing.available).toBe(false);
    expect(missing.path).toBeUndefined();
    expect(missing.skipReason).toContain('apt-get install -y some-package');
    expect(warn).toHaveBeenCalledWith(missing.skipReason);
  });

  it('under CI=true: a missing tool throws, naming the Debian package', () => {
    expect(() => toolOrSkip('no-such-tool-4f1c', 'prometheus', { PATH: '/usr/bin:/bin', CI: 'true' })).toThrow(/Debian package "prometheus"/);
  });

  it('does not mistake a directory for an executable', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(toolOrSkip('bin', 'x', { PATH: '/usr:/' }).available).toBe(false);
  });
});
