/** What a cardinality cap keeps and what it folds into one "other" series. */
export interface TopN<K> {
  /** Kept keys, heaviest first (ties by `tieBreak`). */
  kept: K[];
  /** The rest, to be summed into "other". */
  folded: K[];
}

/**
 * The one top-N-then-"other" fold behind every capped label (ports, processes): keeps the
 * `limit` heaviest keys, ties broken by `tieBreak`, so the same table always gives the same
 * labels and a flood of listeners or processes cannot explode the series count.
 */
export function topN<K>(candidates: Iterable<K>, weight: (key: K) => number, limit: number, tieBreak: (a: K, b: K) => number): TopN<K> {
  const ranked = [...new Set(candidates)].map((key) => ({ key, weight: weight(key) })).sort((a, b) => b.weight - a.weight || tieBreak(a.key, b.key));
  return {
    kept: ranked.slice(0, Math.max(0, limit)).map((entry) => entry.key),
    folded: ranked.slice(Math.max(0, limit)).map((entry) => entry.key),
  };
}
