// The lexical side of retrieval: query and chunk terms (Porter-stemmed, diacritics folded: the terms SQLite FTS5's
// `porter unicode61 remove_diacritics` tokenizer makes, checked by a test), and BM25 made absolute by dividing by the score an ideal
// chunk would get for the same query (LLM09-2). The postings live in lexical-index.ts.
import { STOPWORDS, tokenize } from './embedders/hashing.js';
import { porterStem } from './porter.js';

export const MAX_QUERY_TERMS = 32;

export interface QueryTerm {
  /** The index term (diacritics folded, Porter-stemmed): the key of the postings. */
  readonly term: string;
}

const foldDiacritics = (text: string): string => (/[^\u0000-\u007f]/.test(text) ? text.normalize('NFKD').replace(/\p{M}/gu, '') : text);

/** Stopwords and single letters carry no evidence: never query terms, so never indexed either. */
const carriesEvidence = (token: string): boolean => !STOPWORDS.has(token) && (token.length >= 2 || /\d/.test(token));

/** Distinct content terms of a query, in query order. */
export function queryTerms(query: string): QueryTerm[] {
  const seen = new Map<string, QueryTerm>();
  for (const token of tokenize(foldDiacritics(query))) {
    if (!carriesEvidence(token)) continue;
    const term = porterStem(token);
    if (!seen.has(term)) seen.set(term, { term });
    if (seen.size === MAX_QUERY_TERMS) break;
  }
  return [...seen.values()];
}

/** Every index term of a chunk, repeats included (term frequency), in text order. */
export function indexTermsOf(text: string): string[] {
  const terms: string[] = [];
  for (const token of tokenize(foldDiacritics(text))) if (carriesEvidence(token)) terms.push(indexTerm(token));
  return terms;
}

/** Corpus statistics of the approved chunks that BM25 needs (lexical-index.ts keeps them with the postings). */
export interface LexicalStats {
  readonly rows: number;
  /** Mean chunk length in characters: BM25's length normalisation counts characters, not tokens, on both sides. */
  readonly averageChars: number;
  documentFrequency(term: string): number;
}

export interface Bm25Parameters {
  readonly k1: number;
  readonly b: number;
}

export const DEFAULT_BM25: Bm25Parameters = { k1: 1.2, b: 0.75 };

/**
 * Smoothed idf (Lucene's): never zero or negative, unlike FTS5's, so in a small help centre a term most chunks share
 * still counts, and a term no approved chunk holds gets the largest weight log(2N + 2).
 */
export const smoothedIdf = (rows: number, rowsWithTerm: number): number => Math.log(1 + (rows - rowsWithTerm + 0.5) / (rowsWithTerm + 0.5));

const STEM_CACHE_LIMIT = 200_000;
const stems = new Map<string, string>();

function indexTerm(token: string): string {
  let term = stems.get(token);
  if (term === undefined) {
    if (stems.size >= STEM_CACHE_LIMIT) stems.clear();
    term = porterStem(token);
    stems.set(token, term);
  }
  return term;
}

/** Proximity window in tokens: two query terms this close count as the query's phrase (measured, scripts/eval-retrieval.ts). */
export const PROXIMITY_WINDOW = 3;

export interface LexicalEvidence {
  /** Absolute lexical relevance in [0, 1]: BM25 over the ideal, capped at 1 (what the score floor sees). */
  readonly score: number;
  /** BM25 over the ideal, uncapped: ranks, so chunks above the ideal do not tie. */
  readonly bm25: number;
  /**
   * Term proximity over the ideal: for each pair of consecutive query terms found within PROXIMITY_WINDOW tokens of
   * each other, the smaller idf of the two. Ranks only.
   */
  readonly proximity: number;
}

export interface LexicalScorer {
  /** BM25 of an ideal chunk: every query term once, average length. */
  readonly ideal: number;
  /** Absolute lexical relevance in [0, 1]: the chunk's BM25 over the ideal, capped at 1. */
  score(text: string): number;
  /** The absolute score and the ranking evidence from one pass over the chunk. */
  evidence(text: string): LexicalEvidence;
}

/**
 * BM25 of one candidate chunk from its text, with the term proximity that only positions give: the ranking pass over
 * the candidates (dense ones included) that the postings proposed. Smoothed idf, unlike FTS5's bm25(), whose idf
 * collapses to zero for terms in half the chunks; over the ideal, the score is comparable across queries.
 */
export function createLexicalScorer(terms: readonly QueryTerm[], stats: LexicalStats, params: Bm25Parameters = DEFAULT_BM25): LexicalScorer {
  const weights = new Map(terms.map(({ term }) => [term, smoothedIdf(stats.rows, stats.documentFrequency(term))]));
  const ideal = [...weights.values()].reduce((sum, idf) => sum + idf, 0);
  const averageChars = Math.max(1, stats.averageChars);
  // Consecutive query terms (distinct, in query order) and the weight their co-occurrence earns.
  const pairs = terms.slice(1).map(({ term }, i) => {
    const first = terms[i]?.term ?? '';
    return { first, second: term, weight: Math.min(weights.get(first) ?? 0, weights.get(term) ?? 0) };
  });
  const none: LexicalEvidence = { score: 0, bm25: 0, proximity: 0 };
  function evidence(text: string): LexicalEvidence {
    if (ideal === 0) return none;
    const folded = foldDiacritics(text);
    const positions = new Map<string, number[]>();
    let position = 0;
    for (const token of tokenize(folded)) {
      const term = indexTerm(token);
      if (weights.has(term)) {
        const list = positions.get(term);
        if (list === undefined) positions.set(term, [position]);
        else list.push(position);
      }
      position += 1;
    }
    const norm = params.k1 * (1 - params.b + (params.b * text.length) / averageChars);
    let sum = 0;
    for (const [term, list] of positions) {
      const tf = list.length;
      sum += ((weights.get(term) ?? 0) * tf * (params.k1 + 1)) / (tf + norm);
    }
    let proximity = 0;
    for (const { first, second, weight } of pairs) {
      const a = positions.get(first);
      const b = positions.get(second);
      if (a === undefined || b === undefined) continue;
      if (a.some((x) => b.some((y) => Math.abs(y - x) <= PROXIMITY_WINDOW))) proximity += weight;
    }
    const bm25 = sum / ideal;
    return { score: Math.min(1, bm25), bm25, proximity: proximity / ideal };
  }
  return { ideal, evidence, score: (text) => evidence(text).score };
}
