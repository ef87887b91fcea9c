// The lexical side of retrieval: query and chunk terms (Porter-stemmed, diacritics folded: the terms SQLite FTS5's
// `porter unicode61 remove_diacritics` tokenizer makes, checked by a test) and BM25's parameters. The postings, the
// per-chunk term sequences and the scoring (BM25 made absolute by dividing by the score an ideal chunk would get for the
// same query, LLM09-2, plus term proximity) live in lexical-index.ts.
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
    // Read-only use of the indexing cache: a word the corpus holds was stemmed when it was indexed (the stemmer was most
    // of a query's term preparation), and queries never fill the cache, so they cannot grow or flush it.
    const term = stems.get(token) ?? porterStem(token);
    if (!seen.has(term)) seen.set(term, { term });
    if (seen.size === MAX_QUERY_TERMS) break;
  }
  return [...seen.values()];
}

/**
 * The index term at every token position of a chunk, or null where the token carries no evidence (a stopword, a
 * single letter): positions count every token, so term proximity is measured in the text's own words.
 */
export function indexTokens(text: string): (string | null)[] {
  return tokenize(foldDiacritics(text)).map((token) => (carriesEvidence(token) ? indexTerm(token) : null));
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
