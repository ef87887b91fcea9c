// The lexical side of the embedded store's hybrid search: BM25 postings of the approved chunks, held in memory beside
// the vector index and kept in step with it by the same publish, unpublish and reload paths. It replaced FTS5's
// `ORDER BY bm25()`, which scores every match in C through the auxiliary-function API (~1 µs per match, 39 % of a
// search at 10k chunks, and at 100k it had to be fed only the rarest terms to stay affordable); here every query term
// scores its postings from two typed arrays (BENCHMARKS.md, "Retrieval").
import { DEFAULT_BM25, indexTermsOf, smoothedIdf, type Bm25Parameters, type LexicalStats } from './lexical.js';
import { grownCapacity, widened } from './typed-arrays.js';

export interface LexicalCandidate {
  readonly rowid: number;
  /** BM25 of the chunk over the query terms (not yet divided by the ideal). */
  readonly bm25: number;
}

export interface LexicalIndex {
  /** Indexes an approved chunk of `collection`; a rowid that is already indexed is left as it is. */
  add(rowid: number, collection: string, text: string): void;
  /** Removes a chunk; `text` must be what it was added with (its terms say which postings to drop). */
  remove(rowid: number, text: string): void;
  clear(): void;
  /** Corpus statistics over exactly the indexed chunks, for BM25 and the absolute lexical score. */
  readonly stats: LexicalStats;
  /** The collection of an indexed chunk; undefined for any other rowid (not approved, or unknown). */
  collectionOf(rowid: number): string | undefined;
  /** The `depth` best chunks by BM25 over `terms` (index terms) in `collections`; ties by rowid. */
  top(terms: readonly string[], depth: number, collections: ReadonlySet<string>): LexicalCandidate[];
}

interface Postings {
  rowids: Int32Array;
  frequencies: Uint8Array;
  size: number;
}

const INITIAL_POSTINGS = 4;
// A term 255 times in one chunk is already deep in BM25's saturation (k1 = 1.2): capping costs nothing measurable
// and keeps a posting at five bytes.
const MAX_FREQUENCY = 0xff;

export function createLexicalIndex(params: Bm25Parameters = DEFAULT_BM25): LexicalIndex {
  const postings = new Map<string, Postings>();
  /** Chunk length in characters by rowid; 0 means not indexed. Lengths feed BM25's length normalisation. */
  let lengths = new Uint32Array(1024);
  // The collection of each indexed rowid as a small number: two bytes a chunk where a Map held ~50 (RSS at 100k).
  let collectionIds = new Uint16Array(1024);
  const collectionNames: string[] = [];
  const collectionNumbers = new Map<string, number>();
  let rows = 0;
  let totalChars = 0;
  // Scratch reused by every query: an accumulator slot per rowid, reset after use through the list of touched rowids.
  let scores = new Float64Array(1024);
  let touched = new Int32Array(0);

  function countTerms(text: string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const term of indexTermsOf(text)) counts.set(term, (counts.get(term) ?? 0) + 1);
    return counts;
  }

  function grow(rowid: number): void {
    if (rowid < lengths.length) return;
    let size = lengths.length;
    while (size <= rowid) size *= 2;
    lengths = widened(lengths, size);
    collectionIds = widened(collectionIds, size);
    scores = new Float64Array(size);
  }

  function append(term: string, rowid: number, frequency: number): void {
    let list = postings.get(term);
    if (list === undefined) {
      list = { rowids: new Int32Array(INITIAL_POSTINGS), frequencies: new Uint8Array(INITIAL_POSTINGS), size: 0 };
      postings.set(term, list);
    } else if (list.size === list.rowids.length) {
      const capacity = grownCapacity(list.size);
      list.rowids = widened(list.rowids, capacity);
      list.frequencies = widened(list.frequencies, capacity);
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
    collectionIds[rowid] = 0;
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
    add(rowid, collection, text) {
      grow(rowid);
      if (lengths[rowid] !== 0) return;
      let number = collectionNumbers.get(collection);
      if (number === undefined) {
        collectionNames.push(collection);
        number = collectionNames.length;
        collectionNumbers.set(collection, number);
      }
      collectionIds[rowid] = number;
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
      collectionIds = new Uint16Array(1024);
      scores = new Float64Array(1024);
      touched = new Int32Array(0);
      rows = 0;
      totalChars = 0;
    },
    collectionOf(rowid) {
      const number = rowid >= 0 && rowid < collectionIds.length ? (collectionIds[rowid] as number) : 0;
      return number === 0 ? undefined : collectionNames[number - 1];
    },
    top(terms, depth, collections) {
      if (depth <= 0 || rows === 0) return [];
      const wanted = new Uint8Array(collectionNames.length + 1);
      for (const collection of collections) {
        const number = collectionNumbers.get(collection);
        if (number !== undefined) wanted[number] = 1;
      }
      if (touched.length < scores.length) touched = new Int32Array(scores.length);
      let touchedCount = 0;
      const { k1, b } = params;
      // BM25's length normalisation, k1 · (1 − b + b · length / average), as base + slope · length.
      const base = k1 * (1 - b);
      const slope = (k1 * b) / stats.averageChars;
      for (const term of new Set(terms)) {
        const list = postings.get(term);
        if (list === undefined) continue;
        const weight = smoothedIdf(rows, list.size) * (k1 + 1);
        const { rowids, frequencies, size } = list;
        for (let i = 0; i < size; i += 1) {
          const rowid = rowids[i] as number;
          const frequency = frequencies[i] as number;
          const sum = scores[rowid] as number;
          if (sum === 0) touched[touchedCount++] = rowid;
          scores[rowid] = sum + (weight * frequency) / (frequency + base + slope * (lengths[rowid] as number));
        }
      }
      // A bounded min-heap keeps the best `depth` in O(touched · log depth) instead of sorting every match; a chunk
      // that cannot enter it is rejected before its collection is looked at or anything is allocated.
      const heap: LexicalCandidate[] = [];
      for (let i = 0; i < touchedCount; i += 1) {
        const rowid = touched[i] as number;
        const bm25 = scores[rowid] as number;
        scores[rowid] = 0;
        if (heap.length === depth) {
          const weakest = heap[0] as LexicalCandidate;
          if (bm25 < weakest.bm25 || (bm25 === weakest.bm25 && rowid > weakest.rowid)) continue;
        }
        if (wanted[collectionIds[rowid] as number] !== 1) continue;
        if (heap.length < depth) {
          heap.push({ rowid, bm25 });
          siftUp(heap, heap.length - 1);
        } else {
          heap[0] = { rowid, bm25 };
          siftDown(heap, 0);
        }
      }
      return heap.sort((x, y) => y.bm25 - x.bm25 || x.rowid - y.rowid);
    },
  };
}

/** Heap order: the weakest candidate (lowest BM25, then highest rowid) at the root. */
const weaker = (x: LexicalCandidate, y: LexicalCandidate): boolean => x.bm25 < y.bm25 || (x.bm25 === y.bm25 && x.rowid > y.rowid);

function siftUp(heap: LexicalCandidate[], at: number): void {
  for (let i = at; i > 0; ) {
    const parent = (i - 1) >> 1;
    if (!weaker(heap[i] as LexicalCandidate, heap[parent] as LexicalCandidate)) return;
    [heap[i], heap[parent]] = [heap[parent] as LexicalCandidate, heap[i] as LexicalCandidate];
    i = parent;
  }
}

function siftDown(heap: LexicalCandidate[], at: number): void {
  for (let i = at; ; ) {
    const left = 2 * i + 1;
    const right = left + 1;
    let weakest = i;
    if (left < heap.length && weaker(heap[left] as LexicalCandidate, heap[weakest] as LexicalCandidate)) weakest = left;
    if (right < heap.length && weaker(heap[right] as LexicalCandidate, heap[weakest] as LexicalCandidate)) weakest = right;
    if (weakest === i) return;
    [heap[i], heap[weakest]] = [heap[weakest] as LexicalCandidate, heap[i] as LexicalCandidate];
    i = weakest;
  }
}
