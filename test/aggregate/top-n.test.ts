import { describe, expect, it } from 'vitest';
import { topN } from '../../src/aggregate/top-n.js';

const byNumber = (a: number, b: number): number => a - b;

describe('topN: the one cap-then-"other" fold', () => {
  it('keeps the heaviest, ties by the tie-break, and folds the rest', () => {
    const weights = new Map([[80, 5], [443, 9], [8080, 5], [22, 1], [9100, 0]]);
    const fold = topN(weights.keys(), (port) => weights.get(port)!, 3, byNumber);
    expect(fold.kept).toEqual([443, 80, 8080]);
    expect(fold.folded).toEqual([22, 9100]);
  });

  it('gives the same answer whatever order the candidates come in', () => {
    const weights: Record<string, number> = { nginx: 3, envoy: 3, java: 7, sshd: 1 };
    const names = Object.keys(weights);
    const tieBreak = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
    const first = topN(names, (name) => weights[name]!, 2, tieBreak);
    const reversed = topN([...names].reverse(), (name) => weights[name]!, 2, tieBreak);
    expect(first).toEqual(reversed);
    expect(first).toEqual({ kept: ['java', 'envoy'], folded: ['nginx', 'sshd'] });
  });

  it('counts a candidate given twice once', () => {
    expect(topN([8080, 8080, 80], () => 1, 5, byNumber)).toEqual({ kept: [80, 8080], folded: [] });
  });

  it('a limit of 0 folds everything; a limit above the count folds nothing', () => {
    expect(topN([1, 2], () => 1, 0, byNumber)).toEqual({ kept: [], folded: [1, 2] });
    expect(topN([1, 2], () => 1, 10, byNumber).folded).toEqual([]);
  });
});
