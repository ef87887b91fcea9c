// Fusion of the dense and lexical signals into one ranking and one score in [0, 1] that a policy's min_score can use.

export interface LexicalHit {
  readonly rowid: number;
  /** BM25 as a positive number, larger is better. */
  readonly bm25: number;
}

export interface DenseCandidate {
  readonly rowid: number;
  readonly cosine: number;
}

export interface FusedHit {
  readonly rowid: number;
  readonly score: number;
}

/**
 * Convex combination of cosine and BM25 divided by the query's best BM25. BM25 has no fixed scale, so it is made
 * relative; cosine stays absolute, so a query whose best lexical match is poor still scores low on the dense side.
 * Measured against reciprocal rank fusion on SQuAD (scripts/eval-retrieval.ts): RRF fell below BM25 alone, this did not.
 */
export function fuseScores(candidates: readonly DenseCandidate[], lexical: readonly LexicalHit[], denseWeight: number): FusedHit[] {
  const best = lexical.reduce((max, hit) => Math.max(max, hit.bm25), 0);
  const relative = new Map(lexical.map((hit) => [hit.rowid, best > 0 ? hit.bm25 / best : 0]));
  return candidates
    .map(({ rowid, cosine }) => ({
      rowid,
      score: clamp(denseWeight * Math.max(0, cosine) + (1 - denseWeight) * (relative.get(rowid) ?? 0)),
    }))
    .sort((a, b) => b.score - a.score || a.rowid - b.rowid);
}

const clamp = (value: number): number => Math.min(1, Math.max(0, value));
