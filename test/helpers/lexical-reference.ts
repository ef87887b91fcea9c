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

export interface ReferenceChunk {
  readonly collection: string;
  readonly text: string;
}

/**
 * The `depth` best chunks of `collections` for `terms` by scoring every live chunk from its text, with statistics
 * counted here over all live chunks (every collection): BM25 added term by term in query order, each term's frequency
 * capped at 255 as the postings store it, ties by rowid. The arithmetic is the index's, so scores must be equal to the
 * last bit.
 */
export function exhaustiveTop(chunks: ReadonlyMap<number, ReferenceChunk>, terms: readonly string[], depth: number, collections: ReadonlySet<string>) {
  const { k1, b } = DEFAULT_BM25;
  const distinct = [...new Set(terms)];
  const termsOf = new Map([...chunks].map(([rowid, chunk]) => [rowid, indexTokens(chunk.text).filter((term): term is string => term !== null)]));
  const rows = chunks.size;
  const totalChars = [...chunks.values()].reduce((sum, chunk) => sum + Math.max(1, chunk.text.length), 0);
  const averageChars = rows === 0 ? 1 : totalChars / rows;
  const weights = distinct.map((term) => smoothedIdf(rows, [...termsOf.values()].filter((list) => list.includes(term)).length));
  const base = k1 * (1 - b);
  const slope = (k1 * b) / averageChars;
  const scored: { rowid: number; bm25: number }[] = [];
  for (const [rowid, chunk] of chunks) {
    if (!collections.has(chunk.collection)) continue;
    const list = termsOf.get(rowid) ?? [];
    let sum = 0;
    distinct.forEach((term, q) => {
      const frequency = Math.min(255, list.filter((t) => t === term).length);
      if (frequency > 0) sum += ((weights[q] as number) * (k1 + 1) * frequency) / (frequency + base + slope * Math.max(1, chunk.text.length));
    });
    if (sum > 0) scored.push({ rowid, bm25: sum });
  }
  return scored.sort((x, y) => y.bm25 - x.bm25 || x.rowid - y.rowid).slice(0, depth);
}
