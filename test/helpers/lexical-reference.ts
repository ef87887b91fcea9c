// A straightforward reference for the engine's lexical scoring (src/retrieval/lexical-index.ts): BM25 over the ideal and
// term proximity computed from a chunk's text with maps and arrays, the way one would write it first. The index's
// typed-array postings and stored term sequences must agree with it.
import { DEFAULT_BM25, PROXIMITY_WINDOW, indexTokens, queryTerms, smoothedIdf, type LexicalEvidence, type LexicalStats } from '../../src/retrieval/lexical.js';

export interface ReferenceScorer {
  readonly ideal: number;
  evidence(text: string): LexicalEvidence;
}

export function referenceScorer(query: string, stats: LexicalStats): ReferenceScorer {
  const terms = queryTerms(query).map(({ term }) => term);
  const weights = new Map(terms.map((term) => [term, smoothedIdf(stats.rows, stats.documentFrequency(term))]));
  const ideal = [...weights.values()].reduce((sum, idf) => sum + idf, 0);
  const { k1, b } = DEFAULT_BM25;
  return {
    ideal,
    evidence(text) {
      if (ideal === 0) return { score: 0, bm25: 0, proximity: 0 };
      const positions = new Map<string, number[]>();
      indexTokens(text).forEach((term, position) => {
        if (term !== null && weights.has(term)) positions.set(term, [...(positions.get(term) ?? []), position]);
      });
      const norm = k1 * (1 - b + (b * Math.max(1, text.length)) / stats.averageChars);
      let sum = 0;
      for (const [term, list] of positions) sum += ((weights.get(term) ?? 0) * list.length * (k1 + 1)) / (list.length + norm);
      let proximity = 0;
      for (let i = 1; i < terms.length; i += 1) {
        const first = positions.get(terms[i - 1] as string) ?? [];
        const second = positions.get(terms[i] as string) ?? [];
        if (first.some((x) => second.some((y) => Math.abs(x - y) <= PROXIMITY_WINDOW))) {
          proximity += Math.min(weights.get(terms[i - 1] as string) ?? 0, weights.get(terms[i] as string) ?? 0);
        }
      }
      const bm25 = sum / ideal;
      return { score: Math.min(1, bm25), bm25, proximity: proximity / ideal };
    },
  };
}
