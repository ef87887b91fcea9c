// The lexical side of retrieval: query terms as FTS5's porter tokenizer indexes them, an FTS5 expression no user text
// can steer, and BM25 made absolute by dividing by the score an ideal chunk would get for the same query (LLM09-2).
import { STOPWORDS, tokenize } from './embedders/hashing.js';
import { porterStem } from './porter.js';

export const MAX_QUERY_TERMS = 32;

export interface QueryTerm {
  /** The query token as typed (lower case); FTS5 stems it itself, and stemming twice is not idempotent. */
  readonly token: string;
  /** The index term (diacritics folded, Porter-stemmed): the key of fts5vocab. */
  readonly term: string;
}

/** Distinct content terms of a query, in query order; stopwords and single letters carry no evidence. */
export function queryTerms(query: string): QueryTerm[] {
  const folded = query.normalize('NFKD').replace(/\p{M}/gu, '');
  const seen = new Map<string, QueryTerm>();
  for (const token of tokenize(folded)) {
    if (STOPWORDS.has(token) || (token.length < 2 && !/\d/.test(token))) continue;
    const term = porterStem(token);
    if (!seen.has(term)) seen.set(term, { token, term });
    if (seen.size === MAX_QUERY_TERMS) break;
  }
  return [...seen.values()];
}

/** Postings FTS5 may rank per query: its bm25() costs ~1 µs per match, and an OR of common terms matches most chunks. */
export const MAX_CANDIDATE_POSTINGS = 4000;

/**
 * The query terms FTS5 searches to find lexical candidates: the rarest ones, while their document frequencies sum to
 * at most `budget` (the rarest always, the terms no approved chunk holds never: they cannot match). All query terms
 * still score the candidates (createLexicalScorer); rare terms carry most of BM25, so a chunk matching only common
 * ones rarely makes the top, and the dense list still proposes it. A small corpus keeps every term.
 */
export function candidateTerms(terms: readonly QueryTerm[], stats: LexicalStats, budget = MAX_CANDIDATE_POSTINGS): QueryTerm[] {
  const ranked = terms
    .map((term) => ({ term, df: stats.documentFrequency(term.term) }))
    .filter(({ df }) => df > 0)
    .sort((a, b) => a.df - b.df);
  const chosen: QueryTerm[] = [];
  let postings = 0;
  for (const { term, df } of ranked) {
    if (chosen.length > 0 && postings + df > budget) break;
    chosen.push(term);
    postings += df;
  }
  return chosen;
}

/** OR of quoted tokens: quoting keeps every user character out of FTS5 query syntax. */
export const ftsExpression = (terms: readonly QueryTerm[]): string | null =>
  terms.length === 0 ? null : terms.map((t) => `"${t.token}"`).join(' OR ');

/** Corpus statistics of the approved chunks that BM25 needs; the store caches them per generation. */
export interface LexicalStats {
  readonly rows: number;
  /** Mean chunk length in characters: chunk length is measured in characters, not tokens, to keep it a cheap SQL aggregate. */
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
 * BM25 recomputed in-process over the candidate chunks (FTS5 only finds them): FTS5's bm25() has fixed parameters and
 * an idf that collapses to zero for terms in half the chunks, and neither gives a score comparable across queries.
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
    const folded = /[^\u0000-\u007f]/.test(text) ? text.normalize('NFKD').replace(/\p{M}/gu, '') : text;
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
