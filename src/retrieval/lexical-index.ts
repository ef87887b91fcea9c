// The lexical side of the retrieval engine: BM25 postings of the approved chunks and each chunk's term sequence, held in
// memory beside the vector index. A chunk is tokenised once, when it is added; a query then scores the postings of its
// terms from typed arrays (candidates), and re-reads only the candidates' term sequences for the exact BM25 and term
// proximity that rank them (evidence). Nothing is re-tokenised at query time (BENCHMARKS.md, "Retrieval").
import { DEFAULT_BM25, PROXIMITY_WINDOW, indexTokens, smoothedIdf, type Bm25Parameters, type LexicalEvidence, type LexicalStats } from './lexical.js';
import { grownCapacity, widened } from './typed-arrays.js';

export interface LexicalCandidate {
  readonly rowid: number;
  /** BM25 of the chunk over the query terms (not yet divided by the ideal). */
  readonly bm25: number;
}

/** A query's terms resolved against the index once: ids, idf weights, the ideal chunk's BM25 and the pair weights. */
export interface LexicalQuery {
  /** Term id per query term (distinct, in query order); -1 for a term no indexed chunk holds. */
  readonly ids: Int32Array;
  readonly weights: Float64Array;
  /** BM25 of an ideal chunk: every query term once, average length. */
  readonly ideal: number;
  /** pairWeights[i]: what query terms i and i + 1 standing within PROXIMITY_WINDOW tokens earn (the smaller idf). */
  readonly pairWeights: Float64Array;
}

export interface LexicalIndex {
  /** Indexes an approved chunk of `collection`; a rowid that is already indexed is left as it is. */
  add(rowid: number, collection: string, text: string): void;
  remove(rowid: number): void;
  /** Corpus statistics over exactly the indexed chunks, for BM25 and the absolute lexical score. */
  readonly stats: LexicalStats;
  /** The collection of an indexed chunk; undefined for any other rowid (not approved, or unknown). */
  collectionOf(rowid: number): string | undefined;
  prepare(terms: readonly string[]): LexicalQuery;
  /** The `depth` best chunks by BM25 over the query in `collections`; ties by rowid. */
  top(query: LexicalQuery, depth: number, collections: ReadonlySet<string>): LexicalCandidate[];
  /** BM25 over the ideal (capped and not) and term proximity of each indexed rowid, from its stored term sequence. */
  evidence(query: LexicalQuery, rowids: readonly number[]): LexicalEvidence[];
}

interface Postings {
  rowids: Int32Array;
  frequencies: Uint8Array;
  size: number;
}

const INITIAL_POSTINGS = 4;
// Short lists double, longer ones grow by a quarter: with a list per term and collection, growing every short list by a
// quarter meant ~30 reallocations per list for the first thousands of postings (allocation was most of an add).
const DOUBLING_POSTINGS = 256;
// A term 255 times in one chunk is already deep in BM25's saturation (k1 = 1.2): capping costs nothing measurable
// and keeps a posting at five bytes.
const MAX_FREQUENCY = 0xff;
const NO_EVIDENCE: LexicalEvidence = { score: 0, bm25: 0, proximity: 0 };
/** Arena value of a token that carries no evidence (a stopword, a single letter); term ids start at 1. */
const NO_TERM = 0;
/** Term ids up to this fit the two-byte arena; the arena widens to four bytes once the vocabulary outgrows it. */
const MAX_SHORT_TERM = 0xffff;

/**
 * A bounded heap of (rowid, score) in typed arrays, the weakest (lowest score, then highest rowid) at the root: the
 * best `capacity` entries offered, with nothing allocated per entry.
 */
class Selection {
  rowids = new Int32Array(0);
  scores = new Float64Array(0);
  size = 0;
  capacity = 0;

  reset(capacity: number): void {
    if (this.rowids.length < capacity) {
      this.rowids = new Int32Array(capacity);
      this.scores = new Float64Array(capacity);
    }
    this.capacity = capacity;
    this.size = 0;
  }

  /** The weakest kept score; -Infinity until the heap is full, so every entry is taken until then. */
  get floor(): number {
    return this.size === this.capacity ? (this.scores[0] as number) : -Infinity;
  }

  /** Keeps (rowid, score) if it beats the weakest kept entry. */
  offer(rowid: number, score: number): void {
    if (this.size < this.capacity) {
      this.rowids[this.size] = rowid;
      this.scores[this.size] = score;
      this.size += 1;
      this.siftUp(this.size - 1);
    } else if (this.beats(score, rowid, 0)) {
      this.rowids[0] = rowid;
      this.scores[0] = score;
      this.siftDown(0);
    }
  }

  /** The kept entries, best first (highest score, then lowest rowid). */
  sorted(): LexicalCandidate[] {
    const entries: LexicalCandidate[] = [];
    for (let i = 0; i < this.size; i += 1) entries.push({ rowid: this.rowids[i] as number, bm25: this.scores[i] as number });
    return entries.sort((x, y) => y.bm25 - x.bm25 || x.rowid - y.rowid);
  }

  /** Is (score, rowid) stronger than the entry at `at`? */
  private beats(score: number, rowid: number, at: number): boolean {
    const other = this.scores[at] as number;
    return score > other || (score === other && rowid < (this.rowids[at] as number));
  }

  private swap(i: number, j: number): void {
    const rowid = this.rowids[i] as number;
    const score = this.scores[i] as number;
    this.rowids[i] = this.rowids[j] as number;
    this.scores[i] = this.scores[j] as number;
    this.rowids[j] = rowid;
    this.scores[j] = score;
  }

  private siftUp(at: number): void {
    for (let i = at; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.beats(this.scores[parent] as number, this.rowids[parent] as number, i)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(at: number): void {
    for (let i = at; ; ) {
      const left = 2 * i + 1;
      const right = left + 1;
      let weakest = i;
      if (left < this.size && this.beats(this.scores[weakest] as number, this.rowids[weakest] as number, left)) weakest = left;
      if (right < this.size && this.beats(this.scores[weakest] as number, this.rowids[weakest] as number, right)) weakest = right;
      if (weakest === i) return;
      this.swap(i, weakest);
      i = weakest;
    }
  }
}

export function createLexicalIndex(params: Bm25Parameters = DEFAULT_BM25): LexicalIndex {
  /** Term → id (from 1); ids index the per-term arrays. Terms are never forgotten: the vocabulary grows with the corpus. */
  const termIds = new Map<string, number>();
  /** Document frequency by term id, over all collections (BM25's statistics). */
  let documentFrequencies = new Uint32Array(1024);
  /** Query position + 1 by term id while a query reads term sequences, 0 otherwise (always 0 for NO_TERM). */
  let queryPosition = new Uint8Array(1024);
  // Postings by collection number, then term id: a query reads only the lists of the collections it may see (LLM08-1),
  // so a collection's size never costs the queries of another.
  const postings: (Postings | undefined)[][] = [[]];
  // Term id at every token position of each indexed chunk (NO_TERM: a token that carries no evidence), all chunks in one
  // arena: a chunk's sequence is arena[starts[rowid] .. starts[rowid] + counts[rowid]). Two bytes a token while the
  // vocabulary fits (half the arena's memory), four after. One typed array per chunk cost ~150 bytes of object overhead
  // each (RSS at 100k chunks). Removed chunks leave holes, compacted when they dominate.
  let arena: Uint16Array | Uint32Array = new Uint16Array(16_384);
  let arenaUsed = 0;
  let arenaLive = 0;
  let starts = new Uint32Array(1024);
  let counts = new Uint32Array(1024);
  /** Chunk length in characters by rowid; 0 means not indexed. Lengths feed BM25's length normalisation. */
  let lengths = new Uint32Array(1024);
  // The collection of each indexed rowid as a small number: two bytes a chunk where a Map held ~50 (RSS at 100k).
  let collectionIds = new Uint16Array(1024);
  const collectionNames: string[] = [];
  const collectionNumbers = new Map<string, number>();
  let rows = 0;
  let totalChars = 0;
  // Scratch reused by every query: an accumulator slot per rowid (0: untouched), reset after use through the list of
  // touched rowids, and the bounded heap that selects the best of them.
  let scores = new Float64Array(1024);
  let touched = new Int32Array(0);
  const best = new Selection();

  function grow(rowid: number): void {
    if (rowid < lengths.length) return;
    let size = lengths.length;
    while (size <= rowid) size *= 2;
    lengths = widened(lengths, size);
    collectionIds = widened(collectionIds, size);
    starts = widened(starts, size);
    counts = widened(counts, size);
    scores = new Float64Array(size);
  }

  function internTerm(term: string): number {
    let id = termIds.get(term);
    if (id === undefined) {
      id = termIds.size + 1;
      termIds.set(term, id);
      if (id >= queryPosition.length) {
        const size = queryPosition.length * 2;
        documentFrequencies = widened(documentFrequencies, size);
        queryPosition = widened(queryPosition, size);
      }
    }
    return id;
  }

  function append(collection: number, term: number, rowid: number, frequency: number): void {
    const lists = postings[collection] as (Postings | undefined)[];
    let list = lists[term];
    if (list === undefined) {
      list = { rowids: new Int32Array(INITIAL_POSTINGS), frequencies: new Uint8Array(INITIAL_POSTINGS), size: 0 };
      lists[term] = list;
    } else if (list.size === list.rowids.length) {
      const capacity = list.size < DOUBLING_POSTINGS ? list.size * 2 : grownCapacity(list.size);
      list.rowids = widened(list.rowids, capacity);
      list.frequencies = widened(list.frequencies, capacity);
    }
    list.rowids[list.size] = rowid;
    list.frequencies[list.size] = Math.min(frequency, MAX_FREQUENCY);
    list.size += 1;
    documentFrequencies[term] = (documentFrequencies[term] as number) + 1;
  }

  /** Drops `rowid` from a term's postings by moving the last entry into its place (order carries no meaning). */
  function drop(collection: number, term: number, rowid: number): void {
    const lists = postings[collection] as (Postings | undefined)[];
    const list = lists[term];
    if (list === undefined) return;
    for (let i = 0; i < list.size; i += 1) {
      if (list.rowids[i] !== rowid) continue;
      const last = list.size - 1;
      list.rowids[i] = list.rowids[last] as number;
      list.frequencies[i] = list.frequencies[last] as number;
      list.size = last;
      documentFrequencies[term] = (documentFrequencies[term] as number) - 1;
      break;
    }
    if (list.size === 0) lists[term] = undefined;
  }

  const sequenceOf = (rowid: number): Uint16Array | Uint32Array => arena.subarray(starts[rowid] as number, (starts[rowid] as number) + (counts[rowid] as number));

  /** Copies the live sequences to the front of an arena of `wide` ids or not (in rowid order), dropping removals' holes. */
  function compact(wide: boolean): void {
    const capacity = Math.max(16_384, grownCapacity(arenaLive));
    const fresh = wide ? new Uint32Array(capacity) : new Uint16Array(capacity);
    let used = 0;
    for (let rowid = 0; rowid < lengths.length; rowid += 1) {
      if (lengths[rowid] === 0) continue;
      fresh.set(sequenceOf(rowid), used);
      starts[rowid] = used;
      used += counts[rowid] as number;
    }
    arena = fresh;
    arenaUsed = used;
  }

  function store(rowid: number, sequence: Uint32Array): void {
    // A term id past the two-byte range: every sequence moves to a four-byte arena once, for good.
    if (arena instanceof Uint16Array && termIds.size > MAX_SHORT_TERM) compact(true);
    if (arenaUsed + sequence.length > arena.length) {
      if (arenaUsed - arenaLive > arenaLive) compact(arena instanceof Uint32Array);
      if (arenaUsed + sequence.length > arena.length) arena = widened(arena, grownCapacity(arenaUsed + sequence.length));
    }
    arena.set(sequence, arenaUsed);
    starts[rowid] = arenaUsed;
    counts[rowid] = sequence.length;
    arenaUsed += sequence.length;
    arenaLive += sequence.length;
  }

  /** Each distinct term of a sequence with its frequency. */
  function termCounts(sequence: Uint16Array | Uint32Array): Map<number, number> {
    const counts = new Map<number, number>();
    for (const term of sequence) if (term !== NO_TERM) counts.set(term, (counts.get(term) ?? 0) + 1);
    return counts;
  }

  const documentFrequency = (term: string): number => {
    const id = termIds.get(term);
    return id === undefined ? 0 : (documentFrequencies[id] as number);
  };

  const stats: LexicalStats = {
    get rows() {
      return rows;
    },
    get averageChars() {
      return rows === 0 ? 1 : totalChars / rows;
    },
    documentFrequency,
  };

  /** Length normalisation of BM25, k1 · (1 − b + b · length / average), as base + slope · length. */
  const normalisation = (): { base: number; slope: number } => ({
    base: params.k1 * (1 - params.b),
    slope: (params.k1 * params.b) / stats.averageChars,
  });

  /** Marks the query's terms in queryPosition for term-sequence reads; unmark() undoes it. */
  function mark(query: LexicalQuery): void {
    for (let q = 0; q < query.ids.length; q += 1) {
      const id = query.ids[q] as number;
      if (id >= 0) queryPosition[id] = q + 1;
    }
  }

  function unmark(query: LexicalQuery): void {
    for (let q = 0; q < query.ids.length; q += 1) {
      const id = query.ids[q] as number;
      if (id >= 0) queryPosition[id] = 0;
    }
  }

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
        postings.push([]);
      }
      collectionIds[rowid] = number;
      // An empty chunk still counts as a row; a length of 0 would read as "not indexed", so it is stored as 1.
      lengths[rowid] = Math.max(1, text.length);
      totalChars += lengths[rowid] as number;
      rows += 1;
      const sequence = Uint32Array.from(indexTokens(text), (term) => (term === null ? NO_TERM : internTerm(term)));
      store(rowid, sequence);
      for (const [term, frequency] of termCounts(sequence)) append(number, term, rowid, frequency);
    },
    remove(rowid) {
      if (rowid < 0 || rowid >= lengths.length || lengths[rowid] === 0) return;
      const collection = collectionIds[rowid] as number;
      for (const term of termCounts(sequenceOf(rowid)).keys()) drop(collection, term, rowid);
      arenaLive -= counts[rowid] as number;
      counts[rowid] = 0;
      totalChars -= lengths[rowid] as number;
      lengths[rowid] = 0;
      collectionIds[rowid] = 0;
      rows -= 1;
    },
    collectionOf(rowid) {
      const number = rowid >= 0 && rowid < collectionIds.length ? (collectionIds[rowid] as number) : 0;
      return number === 0 ? undefined : collectionNames[number - 1];
    },
    prepare(terms) {
      const distinct = [...new Set(terms)];
      const ids = Int32Array.from(distinct, (term) => termIds.get(term) ?? -1);
      // Smoothed idf: a query term no approved chunk holds keeps its full weight in the ideal (LLM09-2).
      const weights = Float64Array.from(distinct, (term) => smoothedIdf(rows, documentFrequency(term)));
      const pairWeights = new Float64Array(Math.max(0, distinct.length - 1));
      for (let i = 0; i < pairWeights.length; i += 1) pairWeights[i] = Math.min(weights[i] as number, weights[i + 1] as number);
      return { ids, weights, ideal: weights.reduce((sum, weight) => sum + weight, 0), pairWeights };
    },
    top(query, depth, collections) {
      if (depth <= 0 || rows === 0) return [];
      const lists: (Postings | undefined)[][] = [];
      for (const collection of collections) {
        const number = collectionNumbers.get(collection);
        if (number !== undefined) lists.push(postings[number] as (Postings | undefined)[]);
      }
      if (touched.length < scores.length) touched = new Int32Array(scores.length);
      const { base, slope } = normalisation();
      const factor = params.k1 + 1;

      let touchedCount = 0;
      for (let q = 0; q < query.ids.length; q += 1) {
        const id = query.ids[q] as number;
        if (id < 0) continue;
        const weight = (query.weights[q] as number) * factor;
        for (const byTerm of lists) {
          const list = byTerm[id];
          if (list === undefined) continue;
          const { rowids, frequencies, size } = list;
          for (let i = 0; i < size; i += 1) {
            const rowid = rowids[i] as number;
            const frequency = frequencies[i] as number;
            const sum = scores[rowid] as number;
            if (sum === 0) touched[touchedCount++] = rowid;
            scores[rowid] = sum + (weight * frequency) / (frequency + base + slope * (lengths[rowid] as number));
          }
        }
      }
      best.reset(depth);
      let floor = -Infinity;
      // A chunk that cannot enter the heap is rejected on one comparison, before anything else is read.
      for (let i = 0; i < touchedCount; i += 1) {
        const rowid = touched[i] as number;
        const sum = scores[rowid] as number;
        scores[rowid] = 0;
        if (sum < floor) continue;
        best.offer(rowid, sum);
        floor = best.floor;
      }
      return best.sorted();
    },
    evidence(query, candidates) {
      const n = query.ids.length;
      if (query.ideal === 0) return candidates.map(() => NO_EVIDENCE);
      mark(query);
      const frequency = new Float64Array(n);
      const lastSeen = new Float64Array(n);
      const pairSeen = new Uint8Array(n);
      const { base, slope } = normalisation();
      const factor = params.k1 + 1;
      const result = candidates.map((rowid) => {
        if (rowid < 0 || rowid >= lengths.length || lengths[rowid] === 0) return NO_EVIDENCE;
        const sequence = sequenceOf(rowid);
        frequency.fill(0);
        lastSeen.fill(-Infinity);
        pairSeen.fill(0);
        for (let position = 0; position < sequence.length; position += 1) {
          // NO_TERM and the terms outside the query are never marked.
          const q = (queryPosition[sequence[position] as number] as number) - 1;
          if (q < 0) continue;
          frequency[q] = (frequency[q] as number) + 1;
          // Scanning in text order, the latest earlier occurrence of a neighbouring query term is the closest one.
          if (q > 0 && position - (lastSeen[q - 1] as number) <= PROXIMITY_WINDOW) pairSeen[q - 1] = 1;
          if (q + 1 < n && position - (lastSeen[q + 1] as number) <= PROXIMITY_WINDOW) pairSeen[q] = 1;
          lastSeen[q] = position;
        }
        const norm = base + slope * (lengths[rowid] as number);
        let sum = 0;
        let proximity = 0;
        for (let q = 0; q < n; q += 1) {
          const tf = frequency[q] as number;
          if (tf > 0) sum += ((query.weights[q] as number) * tf * factor) / (tf + norm);
          if (pairSeen[q] === 1) proximity += query.pairWeights[q] as number;
        }
        const bm25 = sum / query.ideal;
        return { score: Math.min(1, bm25), bm25, proximity: proximity / query.ideal };
      });
      unmark(query);
      return result;
    },
  };
}
