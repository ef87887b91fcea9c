// The one retrieval engine: every approved chunk held in memory (its record, its int8 vector, its term sequence and
// postings) and ranked here, identically whichever backend keeps the rows. It is fed chunks as they are published and
// withdrawn (src/corpus/follower.ts replays the store's change log into it) and runs no SQL: a search touches only
// memory, so its cost is the ranking itself (BENCHMARKS.md, "Retrieval").
import { fusedScore, hybridRankScore } from './fusion.js';
import { queryTerms } from './lexical.js';
import { createLexicalIndex } from './lexical-index.js';
import type { RetrievedChunk, SearchRequest } from './types.js';
import { createVectorIndex, type VectorIndexOptions } from './vector-index.js';

/** An approved chunk as the engine receives it: the record a hit returns, plus its text and embedding to index. */
export interface EngineChunk {
  /** The backend's row id: unique per stored chunk, the key deltas name. */
  readonly rowid: number;
  readonly chunkId: string;
  readonly documentId: string;
  readonly version: number;
  readonly collection: string;
  readonly title: string;
  readonly text: string;
  readonly embedding: Float32Array;
}

export type SearchMode = 'hybrid' | 'dense' | 'lexical';

export interface EngineOptions {
  readonly dimension: number;
  readonly index?: VectorIndexOptions;
  /** Share of the dense signal in the score a hit reports (0..1); measured by scripts/eval-retrieval.ts. */
  readonly denseWeight?: number;
  /** Candidates taken from each of the dense and lexical lists before ranking; at least 4 × k. */
  readonly candidatesPerList?: number;
}

export interface RetrievalEngine {
  /** Indexes an approved chunk; a rowid already indexed is left as it is (replaying a delta twice is harmless). */
  add(chunk: EngineChunk): void;
  /** Withdraws a chunk; an unknown rowid is ignored. */
  remove(rowid: number): void;
  readonly size: number;
  /**
   * The request's k best approved chunks of its collections only (LLM08-1: other collections are never scanned), at
   * or above its floor. `queryVector` is the embedding of `request.query`.
   */
  search(request: SearchRequest, queryVector: Float32Array, mode?: SearchMode): RetrievedChunk[];
}

type ChunkRecord = Omit<EngineChunk, 'embedding' | 'rowid'>;

const DEFAULT_DENSE_WEIGHT = 0.4;
const DEFAULT_CANDIDATES_PER_LIST = 50;

export function createRetrievalEngine(options: EngineOptions): RetrievalEngine {
  const denseWeight = options.denseWeight ?? DEFAULT_DENSE_WEIGHT;
  const candidatesPerList = options.candidatesPerList ?? DEFAULT_CANDIDATES_PER_LIST;
  const vectors = createVectorIndex(options.dimension, options.index);
  const lexical = createLexicalIndex();
  const records = new Map<number, ChunkRecord>();

  return {
    add(chunk) {
      if (records.has(chunk.rowid)) return;
      const { rowid, embedding, ...record } = chunk;
      // The vector first: a wrong dimension throws before anything is indexed, so a failed add leaves no half chunk.
      vectors.add(rowid, chunk.collection, embedding);
      lexical.add(rowid, chunk.collection, chunk.text);
      records.set(rowid, record);
    },
    remove(rowid) {
      if (!records.delete(rowid)) return;
      vectors.remove(rowid);
      lexical.remove(rowid);
    },
    get size() {
      return records.size;
    },
    search(request, queryVector, mode = 'hybrid') {
      const collections = [...new Set(request.collections)];
      if (collections.length === 0 || request.k <= 0) return [];
      const allowed = new Set(collections);
      const depth = Math.max(request.k * 4, candidatesPerList);
      const dense = mode === 'lexical' ? [] : vectors.search(queryVector, collections, depth);
      const query = lexical.prepare(mode === 'dense' ? [] : queryTerms(request.query).map(({ term }) => term));
      const denseSimilarity = new Map(dense.map((hit) => [hit.rowid, hit.similarity]));
      const candidates: number[] = [];
      for (const rowid of new Set([...denseSimilarity.keys(), ...lexical.top(query, depth, allowed).map((hit) => hit.rowid)])) {
        // A rowid of unknown collection is never a candidate (fail closed).
        const collection = lexical.collectionOf(rowid);
        if (collection !== undefined && allowed.has(collection)) candidates.push(rowid);
      }
      const weight = mode === 'dense' ? 1 : mode === 'lexical' ? 0 : denseWeight;
      const evidence = weight < 1 ? lexical.evidence(query, candidates) : null;
      // Two numbers per candidate: the absolute score a hit reports and the floor compares (fusedScore), and the rank
      // (hybridRankScore: uncapped BM25 re-ranked by cosine and term proximity; pure BM25 or cosine in a single mode).
      // Cosine comes from the vectors the index holds: a lexical candidate the dense list missed is scored there too.
      const scored = candidates.map((rowid, i) => {
        const cosine = weight > 0 ? (denseSimilarity.get(rowid) ?? vectors.similarity(queryVector, rowid) ?? 0) : 0;
        const lexicalEvidence = evidence?.[i];
        const score = fusedScore(cosine, lexicalEvidence?.score ?? 0, weight);
        const rank =
          lexicalEvidence === undefined ? score : weight === 0 ? lexicalEvidence.bm25 : hybridRankScore(cosine, lexicalEvidence.bm25, lexicalEvidence.proximity);
        return { record: records.get(rowid) as ChunkRecord, score, rank };
      });
      // Ties are broken by chunk id, which every backend derives alike, so all of them return the same order.
      scored.sort((a, b) => b.rank - a.rank || b.score - a.score || (a.record.chunkId < b.record.chunkId ? -1 : a.record.chunkId > b.record.chunkId ? 1 : 0));
      const results: RetrievedChunk[] = [];
      for (const { record, score } of scored) {
        if (score < request.minScore) continue;
        results.push({
          chunkId: record.chunkId,
          documentId: record.documentId,
          documentVersion: record.version,
          collection: record.collection,
          title: record.title,
          text: record.text,
          score,
        });
        if (results.length === request.k) break;
      }
      return results;
    },
  };
}
