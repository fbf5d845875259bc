import { readlinkSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { allowedCpus, currentCpu, forgetHelper, helperCell, registerHelper, steerHelper, WokenThread, type HelperCell } from '../../src/kernel/thread-placement.js';

// The test's own thread plays both sides: it is the helper whose CPUs are narrowed (through the
// real sched_setaffinity) and the waker that narrows them. Two CPUs at least: the machine this
// runs on has two, and with one there is nothing to steer to.
const cells: HelperCell[] = [];
const cellOf = (): HelperCell => {
  const cell = helperCell();
  cells.push(cell);
  registerHelper(cell);
  return cell;
};
const threadId = (): number => Number(readlinkSync('/proc/thread-self').split('/').pop());

describe('steering a woken helper thread', () => {
  const startCpus = allowedCpus();
  // Back to this thread's own CPUs after each case, also after one that failed half-way.
  const restore = WokenThread.here(helperCell());
  afterEach(() => {
    for (const cell of cells.splice(0)) forgetHelper(cell);
    restore?.woken();
  });

  it('has the CPUs and a second one to steer to', () => {
    expect(startCpus).toBeDefined();
    expect(availableParallelism()).toBeGreaterThanOrEqual(2);
    expect(startCpus!.length).toBeGreaterThanOrEqual(2);
  });

  it("narrows the helper to the CPUs other than the waker's, and the helper widens back once woken", () => {
    const cell = cellOf();
    const helper = WokenThread.here(cell)!;
    expect(cell[0]).toBe(threadId());
    const waker = currentCpu()!;
    expect(steerHelper(cell)).toBe(true);
    const narrowed = allowedCpus()!;
    expect(narrowed).not.toContain(waker);
    expect(narrowed).toEqual(startCpus!.filter((cpu) => cpu !== waker));
    helper.woken();
    expect(allowedCpus()).toEqual(startCpus);
    // Busy, on the CPU it woke on; then idle.
    expect(cell[1]).toBe(currentCpu());
    helper.idle();
    expect(cell[1]).toBe(-1);
  });

  it("keeps the helper off another helper's busy CPU, even when that leaves only the waker's", () => {
    const cell = cellOf();
    const helper = WokenThread.here(cell)!;
    const busyElsewhere = cellOf();
    const waker = currentCpu()!;
    const other = startCpus!.find((cpu) => cpu !== waker)!;
    busyElsewhere[1] = other;
    expect(steerHelper(cell)).toBe(true);
    const narrowed = allowedCpus()!;
    expect(narrowed).not.toContain(other);
    // With two CPUs, only the waker's is left; with more, neither of the two busy ones.
    expect(narrowed).toEqual(startCpus!.length === 2 ? [waker] : startCpus!.filter((cpu) => cpu !== waker && cpu !== other));
    helper.woken();
    expect(allowedCpus()).toEqual(startCpus);
  });

  it('leaves a helper alone once it is forgotten (its thread id may be reused) or before it has told its id', () => {
    const cell = cellOf();
    expect(steerHelper(cell)).toBe(false);
    WokenThread.here(cell);
    forgetHelper(cell);
    expect(cell[0]).toBe(0);
    expect(steerHelper(cell)).toBe(false);
    expect(allowedCpus()).toEqual(startCpus);
  });
});
