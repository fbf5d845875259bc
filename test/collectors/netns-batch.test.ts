import { describe, expect, it } from 'vitest';
import { DumpPace } from '../../src/collectors/netns-batch.js';

describe('DumpPace', () => {
  it('sends one dump until one has been timed, then as many as the rest of the budget holds, at most 128', () => {
    const pace = new DumpPace();
    expect(pace.chunkSize(500)).toBe(1);
    pace.record(1, 20); // 20 ms a dump: a shared hash beside many host sockets
    expect(pace.chunkSize(500)).toBe(25);
    expect(pace.chunkSize(10)).toBe(1); // never less than one: the first dump always runs
    pace.record(10, 0.5); // own hashes: 0.05 ms a dump, averaged with the earlier pace
    expect(pace.chunkSize(500)).toBeGreaterThan(25);
    for (let i = 0; i < 20; i++) pace.record(10, 0.5);
    expect(pace.chunkSize(500)).toBe(128);
  });
});

describe('DumpPace on more than one dump thread', () => {
  it('shares a chunk among the threads only when it is expected to take 10 ms or more, and sizes it for all of them', () => {
    const pace = new DumpPace();
    expect(pace.threadsFor(110, 2)).toBe(1); // not timed yet
    pace.record(1, 20); // a shared hash beside many host sockets
    expect(pace.threadsFor(110, 2)).toBe(2);
    expect(pace.threadsFor(1, 2)).toBe(1); // one dump cannot be shared
    expect(pace.chunkSize(500, 2)).toBe(50); // 25 a thread
    expect(pace.chunkSize(500, 1)).toBe(25);
    const own = new DumpPace();
    own.record(110, 5); // hashes of their own: 110 dumps in 5 ms
    expect(own.threadsFor(110, 2)).toBe(1);
    expect(own.chunkSize(500, 2)).toBe(128); // one thread's chunk, not doubled
  });
});
