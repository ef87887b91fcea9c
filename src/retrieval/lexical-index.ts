// The lexical side of the embedded store's hybrid search: BM25 postings of the approved chunks, held in memory beside
// the vector index and kept in step with it by the same publish, unpublish and reload paths. It replaced FTS5's
// `ORDER BY bm25()`, which scores every match in C through the auxiliary-function API (~1 µs per match, 39 % of a
// search at 10k chunks, and at 100k it had to be fed only the rarest terms to stay affordable); here every query term
// scores its postings from two typed arrays (BENCHMARKS.md, "Retrieval").
import { DEFAULT_BM25, indexTermsOf, smoothedIdf, type Bm25Parameters, type LexicalStats } from './lexical.js';

export interface LexicalCandidate {
  readonly rowid: number;
  /** BM25 of the chunk over the query terms (not yet divided by the ideal). */
  readonly bm25: number;
}

export interface LexicalIndex {
  /** Indexes an approved chunk; adding a rowid that is already indexed replaces it. */
  add(rowid: number, text: string): void;
  /** Removes a chunk; `text` must be what it was added with (its terms say which postings to drop). */
  remove(rowid: number, text: string): void;
  clear(): void;
  /** Corpus statistics over exactly the indexed chunks, for BM25 and the absolute lexical score. */
  readonly stats: LexicalStats;
  /** The `depth` best chunks by BM25 over `terms` (index terms) among those `accept` allows; ties by rowid. */
  top(terms: readonly string[], depth: number, accept: (rowid: number) => boolean): LexicalCandidate[];
}

interface Postings {
  rowids: Int32Array;
  frequencies: Uint16Array;
  size: number;
}

const INITIAL_POSTINGS = 4;
const MAX_FREQUENCY = 0xffff;

export function createLexicalIndex(params: Bm25Parameters = DEFAULT_BM25): LexicalIndex {
  const postings = new Map<string, Postings>();
  /** Chunk length in characters by rowid; 0 means not indexed. Lengths feed BM25's length normalisation. */
  let lengths = new Uint32Array(1024);
  let rows = 0;
  let totalChars = 0;
  // Scratch accumulator reused by every query: one slot per rowid, reset after use through the list of touched ones.
  let scores = new Float64Array(1024);

  function countTerms(text: string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const term of indexTermsOf(text)) counts.set(term, (counts.get(term) ?? 0) + 1);
    return counts;
  }

  function grow(rowid: number): void {
    if (rowid < lengths.length) return;
    let size = lengths.length;
    while (size <= rowid) size *= 2;
    const wider = new Uint32Array(size);
    wider.set(lengths);
    lengths = wider;
    scores = new Float64Array(size);
  }

  function append(term: string, rowid: number, frequency: number): void {
    let list = postings.get(term);
    if (list === undefined) {
      list = { rowids: new Int32Array(INITIAL_POSTINGS), frequencies: new Uint16Array(INITIAL_POSTINGS), size: 0 };
      postings.set(term, list);
    } else if (list.size === list.rowids.length) {
      const rowids = new Int32Array(list.size * 2);
      rowids.set(list.rowids);
      const frequencies = new Uint16Array(list.size * 2);
      frequencies.set(list.frequencies);
      list.rowids = rowids;
      list.frequencies = frequencies;
    }
    list.rowids[list.size] = rowid;
    list.frequencies[list.size] = Math.min(frequency, MAX_FREQUENCY);
    list.size += 1;
  }

  /** Drops `rowid` from a term's postings by moving the last entry into its place (order carries no meaning). */
  function drop(term: string, rowid: number): void {
    const list = postings.get(term);
    if (list === undefined) return;
    for (let i = 0; i < list.size; i += 1) {
      if (list.rowids[i] !== rowid) continue;
      const last = list.size - 1;
      list.rowids[i] = list.rowids[last] as number;
      list.frequencies[i] = list.frequencies[last] as number;
      list.size = last;
      break;
    }
    if (list.size === 0) postings.delete(term);
  }

  function remove(rowid: number, text: string): void {
    if (rowid >= lengths.length || lengths[rowid] === 0) return;
    for (const term of countTerms(text).keys()) drop(term, rowid);
    totalChars -= lengths[rowid] as number;
    lengths[rowid] = 0;
    rows -= 1;
  }

  const stats: LexicalStats = {
    get rows() {
      return rows;
    },
    get averageChars() {
      return rows === 0 ? 1 : totalChars / rows;
    },
    documentFrequency: (term) => postings.get(term)?.size ?? 0,
  };

  return {
    stats,
    add(rowid, text) {
      grow(rowid);
      if (lengths[rowid] !== 0) return;
      // An empty chunk still counts as a row; a length of 0 would read as "not indexed", so it is stored as 1.
      lengths[rowid] = Math.max(1, text.length);
      totalChars += lengths[rowid] as number;
      rows += 1;
      for (const [term, frequency] of countTerms(text)) append(term, rowid, frequency);
    },
    remove,
    clear() {
      postings.clear();
      lengths = new Uint32Array(1024);
      scores = new Float64Array(1024);
      rows = 0;
      totalChars = 0;
    },
    top(terms, depth, accept) {
      if (depth <= 0 || rows === 0) return [];
      const touched: number[] = [];
      const averageChars = stats.averageChars;
      const { k1, b } = params;
      for (const term of new Set(terms)) {
        const list = postings.get(term);
        if (list === undefined) continue;
        const idf = smoothedIdf(rows, list.size);
        const { rowids, frequencies, size } = list;
        for (let i = 0; i < size; i += 1) {
          const rowid = rowids[i] as number;
          const frequency = frequencies[i] as number;
          const norm = k1 * (1 - b + (b * (lengths[rowid] as number)) / averageChars);
          const sum = scores[rowid] as number;
          if (sum === 0) touched.push(rowid);
          scores[rowid] = sum + (idf * frequency * (k1 + 1)) / (frequency + norm);
        }
      }
      // A bounded min-heap keeps the best `depth` in O(touched · log depth) instead of sorting every match.
      const heap: LexicalCandidate[] = [];
      const worse = (x: LexicalCandidate, y: LexicalCandidate): boolean => x.bm25 < y.bm25 || (x.bm25 === y.bm25 && x.rowid > y.rowid);
      for (const rowid of touched) {
        const candidate = { rowid, bm25: scores[rowid] as number };
        scores[rowid] = 0;
        if (heap.length === depth && !worse(heap[0] as LexicalCandidate, candidate)) continue;
        if (!accept(rowid)) continue;
        if (heap.length < depth) {
          heap.push(candidate);
          siftUp(heap, heap.length - 1, worse);
        } else {
          heap[0] = candidate;
          siftDown(heap, 0, worse);
        }
      }
      return heap.sort((x, y) => (worse(x, y) ? 1 : worse(y, x) ? -1 : 0));
    },
  };
}

function siftUp<T>(heap: T[], at: number, worse: (x: T, y: T) => boolean): void {
  for (let i = at; i > 0; ) {
    const parent = (i - 1) >> 1;
    if (!worse(heap[i] as T, heap[parent] as T)) return;
    [heap[i], heap[parent]] = [heap[parent] as T, heap[i] as T];
    i = parent;
  }
}

function siftDown<T>(heap: T[], at: number, worse: (x: T, y: T) => boolean): void {
  for (let i = at; ; ) {
    const left = 2 * i + 1;
    const right = left + 1;
    let worst = i;
    if (left < heap.length && worse(heap[left] as T, heap[worst] as T)) worst = left;
    if (right < heap.length && worse(heap[right] as T, heap[worst] as T)) worst = right;
    if (worst === i) return;
    [heap[i], heap[worst]] = [heap[worst] as T, heap[i] as T];
    i = worst;
  }
}
