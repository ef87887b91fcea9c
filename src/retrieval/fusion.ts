// Rank fusion of the dense and lexical candidate lists into one ordering.

export interface RankedList {
  /** Candidate rowids, best first. */
  readonly rowids: readonly number[];
  readonly weight: number;
}

/** Reciprocal rank fusion (Cormack et al. 2009): robust to the two lists' incomparable score scales. */
export function reciprocalRankFusion(lists: readonly RankedList[], k = 60): Map<number, number> {
  const fused = new Map<number, number>();
  for (const list of lists) {
    list.rowids.forEach((rowid, rank) => {
      fused.set(rowid, (fused.get(rowid) ?? 0) + list.weight / (k + rank + 1));
    });
  }
  return fused;
}
