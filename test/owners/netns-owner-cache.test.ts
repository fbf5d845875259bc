import { describe, expect, it } from 'vitest';
import { NetnsOwnerCache } from '../../src/owners/netns-owner-cache.js';
import type { OwnerLabels } from '../../src/owners/owner-labels.js';

describe('NetnsOwnerCache', () => {
  let clock = 0;
  const cache = new NetnsOwnerCache(1000, () => clock);
  let calls = 0;
  const namer = (labels: OwnerLabels) => async (): Promise<OwnerLabels> => {
    calls++;
    return labels;
  };

  it('names a namespace once while its pid stays and the entry is young', async () => {
    expect(await cache.labels(4026532000, 10, namer({ netns: '4026532000', pod: 'web-0' }))).toEqual({ netns: '4026532000', pod: 'web-0' });
    clock = 999;
    expect(await cache.labels(4026532000, 10, namer({ netns: 'never asked' }))).toEqual({ netns: '4026532000', pod: 'web-0' });
    expect(calls).toBe(1);
  });

  it('names it again when the pid it is entered through changes, or the entry is old', async () => {
    expect(await cache.labels(4026532000, 11, namer({ netns: '4026532000', pod: 'web-1' }))).toEqual({ netns: '4026532000', pod: 'web-1' });
    clock = 2500;
    expect(await cache.labels(4026532000, 11, namer({ netns: '4026532000', pod: 'web-2' }))).toEqual({ netns: '4026532000', pod: 'web-2' });
    expect(calls).toBe(3);
  });

  it('forgets namespaces no longer found, so a reused inode number is named afresh', async () => {
    cache.retain(new Set());
    expect(cache.size).toBe(0);
    expect(await cache.labels(4026532000, 11, namer({ netns: '4026532000', container: 'other' }))).toEqual({ netns: '4026532000', container: 'other' });
    expect(calls).toBe(4);
  });
});
