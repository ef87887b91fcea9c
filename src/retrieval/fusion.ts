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
