// The one retrieval engine: every approved chunk held in memory (its record, its int8 vector, its term sequence and
// postings) and ranked here, identically whichever backend keeps the rows. It is fed chunks as they are published and
// withdrawn (src/corpus/follower.ts replays the store's change log into it) and runs no SQL: a search touches only
// memory, so its cost is the ranking itself (BENCHMARKS.md, "Retrieval").
import { createChunkIds } from './chunk-ids.js';
import { fusedScore, hybridRankScore } from './fusion.js';
import { queryTerms } from './lexical.js';
import { createLexicalIndex } from './lexical-index.js';
import type { ApprovedChunk, RetrievedChunk, SearchRequest } from './types.js';
import { createVectorIndex, type VectorIndexOptions } from './vector-index.js';

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
  add(chunk: ApprovedChunk): void;
  /** Withdraws a chunk; an unknown rowid is ignored. */
  remove(rowid: number): void;
  readonly size: number;
  /**
   * The request's k best approved chunks of its collections only (LLM08-1: other collections are never scanned), at
   * or above its floor. `queryVector` is the embedding of `request.query`.
   */
  search(request: SearchRequest, queryVector: Float32Array, mode?: SearchMode): RetrievedChunk[];
}

/** What the chunks of one document version share, held once for all of them (RSS at 100k chunks). */
interface VersionRecord {
  readonly documentId: string;
  readonly version: number;
  readonly collection: string;
  readonly title: string;
  /** How many of its chunks the engine holds; the record goes with the last. */
  chunks: number;
}

const DEFAULT_DENSE_WEIGHT = 0.4;
// Measured at the k the tasks use (5): 20, 30 and 50 candidates per list give the same SQuAD R@1 / R@5
// (`K=5 CANDIDATES=… npm run eval:retrieval`, BENCHMARKS.md), and fewer candidates are less work for both lists.
const DEFAULT_CANDIDATES_PER_LIST = 20;

export function createRetrievalEngine(options: EngineOptions): RetrievalEngine {
  const denseWeight = options.denseWeight ?? DEFAULT_DENSE_WEIGHT;
  const candidatesPerList = options.candidatesPerList ?? DEFAULT_CANDIDATES_PER_LIST;
  const vectors = createVectorIndex(options.dimension, options.index);
  const lexical = createLexicalIndex();
  // Each indexed chunk's id, text and version record by rowid (ids compactly, chunk-ids.ts; texts and records in two
  // arrays): a Map of per-chunk record objects cost ~50 bytes a chunk more (~5 MB at 100k chunks, BENCHMARKS.md
  // "Lexical top-k and memory").
  const chunkIds = createChunkIds();
  const texts: (string | undefined)[] = [];
  const owners: (VersionRecord | undefined)[] = [];
  let size = 0;
  const versions = new Map<string, VersionRecord>();
  const versionKey = (documentId: string, version: number): string => `${version}:${documentId}`;

  return {
    add(chunk) {
      const { rowid } = chunk;
      if (owners[rowid] !== undefined) return;
      // The vector first: a wrong dimension throws before anything is indexed, so a failed add leaves no half chunk.
      vectors.add(rowid, chunk.collection, chunk.embedding);
      lexical.add(rowid, chunk.collection, chunk.text);
      const key = versionKey(chunk.documentId, chunk.version);
      let owner = versions.get(key);
      if (owner === undefined) {
        owner = { documentId: chunk.documentId, version: chunk.version, collection: chunk.collection, title: chunk.title, chunks: 0 };
        versions.set(key, owner);
      }
      owner.chunks += 1;
      chunkIds.set(rowid, chunk.documentId, chunk.chunkId);
      texts[rowid] = chunk.text;
      owners[rowid] = owner;
      size += 1;
    },
    remove(rowid) {
      const owner = owners[rowid];
      if (owner === undefined) return;
      // Emptied, not deleted: deleting elements can turn an array into a slow dictionary.
      chunkIds.delete(rowid);
      texts[rowid] = undefined;
      owners[rowid] = undefined;
      size -= 1;
      vectors.remove(rowid);
      lexical.remove(rowid);
      owner.chunks -= 1;
      if (owner.chunks === 0) versions.delete(versionKey(owner.documentId, owner.version));
    },
    get size() {
      return size;
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
        return { rowid, score, rank };
      });
      // Ties are broken by chunk id, which every backend derives alike, so all of them return the same order.
      const chunkIdOf = (rowid: number): string => chunkIds.get(rowid, (owners[rowid] as VersionRecord).documentId);
      scored.sort((a, b) => b.rank - a.rank || b.score - a.score || compareStrings(chunkIdOf(a.rowid), chunkIdOf(b.rowid)));
      const results: RetrievedChunk[] = [];
      for (const { rowid, score } of scored) {
        if (score < request.minScore) continue;
        const owner = owners[rowid] as VersionRecord;
        results.push({
          chunkId: chunkIds.get(rowid, owner.documentId),
          documentId: owner.documentId,
          documentVersion: owner.version,
          collection: owner.collection,
          title: owner.title,
          text: texts[rowid] as string,
          score,
        });
        if (results.length === request.k) break;
      }
      return results;
    },
  };
}

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
