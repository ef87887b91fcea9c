// Fusion of the dense and lexical signals into one score in [0, 1] that ranks and that a policy's min_score can use.

export interface LexicalHit {
  readonly rowid: number;
}

/**
 * Convex combination of cosine and absolute BM25 (lexical.ts). Both parts are absolute: neither is scaled by the best
 * hit of the query, so a query nothing approved answers scores low on both sides and a policy's floor drops it
 * (LLM09-2). The weight is measured by scripts/eval-retrieval.ts.
 */
export const fusedScore = (cosine: number, lexical: number, denseWeight: number): number =>
  Math.min(1, Math.max(0, denseWeight * Math.max(0, cosine) + (1 - denseWeight) * lexical));

/** Weights of the ranking score (hybridRankScore); tuned on SQuAD article half A, checked on half B. */
export const RANK_DENSE_WEIGHT = 0.3;
export const RANK_PROXIMITY_WEIGHT = 0.7;

/**
 * The order of hybrid hits, not their score: BM25 over the ideal uncapped (so chunks past the ideal do not tie), plus
 * cosine and a term-proximity bonus as re-rankers. Only the candidates are ranked, so the cost is bounded; the score a
 * hit reports and a policy's floor compares stays fusedScore(), absolute (LLM09-2).
 */
export const hybridRankScore = (cosine: number, bm25OverIdeal: number, proximityOverIdeal: number): number =>
  bm25OverIdeal + RANK_DENSE_WEIGHT * Math.max(0, cosine) + RANK_PROXIMITY_WEIGHT * proximityOverIdeal;
