// The governed corpus as the rest of the app sees it (admin routes, CLI, gateway pipeline, console, evals): ingestion
// orchestrated above the store (ingest.ts: check, extract, chunk, scan, embed), rows and state changes kept by the store
// (store/corpus.ts, SQLite or PostgreSQL), and search answered by this process's one retrieval engine
// (retrieval/engine.ts), kept in step with the store's change log (follower.ts). Every backend ranks alike.
import { AppError } from '../errors.js';
import type { CorpusChunk, CorpusDocument, CorpusVersion } from '../contracts/corpus.js';
import { createRetrievalEngine, type SearchMode } from '../retrieval/engine.js';
import { unifiedDiff } from '../retrieval/line-diff.js';
import type { ChunkingSettings, Embedder, Retriever, RetrievedChunk, SearchRequest } from '../retrieval/types.js';
import type { VectorIndexOptions } from '../retrieval/vector-index.js';
import type { TextScreen } from '../guard/model-screen.js';
import {
  REINDEX_COMMAND,
  type ApproveResult,
  type CorpusRows,
  type CorpusStats,
  type DocumentPage,
  type DocumentPageQuery,
  type IngestResult,
  type StateChange,
} from '../store/corpus.js';
import { followChanges, type IndexStatus } from './follower.js';
import { DEFAULT_MAX_DOCUMENT_BYTES, prepareVersion, type IngestInput } from './ingest.js';

export type { ApproveResult, CorpusStats, DocumentPage, DocumentPageQuery, IngestResult, StateChange } from '../store/corpus.js';
export type { SearchMode } from '../retrieval/engine.js';
export type { IndexStatus } from './follower.js';
export type { IngestInput } from './ingest.js';
export { REINDEX_COMMAND } from '../store/corpus.js';

export interface CorpusOptions {
  readonly embedder: Embedder;
  readonly newId: () => string;
  readonly chunking: ChunkingSettings;
  /** Largest accepted upload in bytes (UTF-8); bigger ones are refused with payload_too_large. */
  readonly maxDocumentBytes?: number;
  readonly index?: VectorIndexOptions;
  /** Share of the dense signal in the score a hit reports (0..1); measured by scripts/eval-retrieval.ts. */
  readonly denseWeight?: number;
  /** The model screen for every ingested chunk (AIRLOCK_SCREEN_INGEST); absent: the pattern scan alone. */
  readonly screen?: TextScreen;
  /** Candidates per list before ranking (retrieval/engine.ts); measured by scripts/eval-retrieval.ts. */
  readonly candidatesPerList?: number;
  /** Failures of background catch-ups (after a notification); searches report their own. */
  readonly onBackgroundError?: (error: unknown) => void;
}

export interface VersionDiff {
  readonly documentId: string;
  readonly from: number;
  readonly to: number;
  readonly diff: string;
}

export interface Corpus {
  ingestDocument(input: IngestInput): Promise<IngestResult>;
  listDocuments(filter?: { readonly collection?: string }): Promise<CorpusDocument[]>;
  pageDocuments(query: DocumentPageQuery): Promise<DocumentPage>;
  getDocument(documentId: string): Promise<CorpusDocument>;
  listVersions(documentId: string): Promise<CorpusVersion[]>;
  getChunks(documentId: string, version: number): Promise<CorpusChunk[]>;
  diffVersions(documentId: string, from: number, to: number): Promise<VersionDiff>;
  /** Approves `version` (default: the latest); retires the previously approved version in the same transaction. */
  approve(documentId: string, version: number | undefined, actor: string): Promise<ApproveResult>;
  retire(documentId: string, actor: string): Promise<StateChange>;
  /** Deletes a version that was never approved (draft or quarantined). */
  deleteDraft(documentId: string, version: number, actor: string): Promise<StateChange>;
  stats(): Promise<CorpusStats>;
  /** Re-embeds every stored chunk with the current embedder and records it; the only way out of an embedder mismatch. */
  reindex(actor: string): Promise<{ readonly chunks: number; readonly embedder: string; readonly dimension: number; readonly actor: string }>;
  /** Hybrid retrieval (dense + lexical, fused) over approved chunks only; the one the gateway uses. */
  readonly retriever: Retriever;
  /** Single-signal retrievers, for evaluation and diagnosis. */
  retrieverFor(mode: SearchMode): Retriever;
  /** For readiness, metrics and diagnosis: is the engine behind the last generation this process heard of? */
  indexStatus(): IndexStatus;
  /**
   * Brings the engine up to the committed generation now (the first build at start, or a change another process
   * committed), so readiness never waits for a search that a load balancer would not send to an unready process.
   * Does nothing while the stored embeddings need a reindex: searches refuse with the reason instead.
   */
  catchUp(): Promise<void>;
  /** Releases connections and listeners the backend opened for itself. */
  close(): Promise<void>;
}

const REINDEX_BATCH = 256;

export function openCorpus(rows: CorpusRows, options: CorpusOptions): Corpus {
  const { embedder } = options;
  const maxBytes = options.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
  const follower = followChanges(
    rows,
    () =>
      createRetrievalEngine({
        dimension: embedder.dimension,
        ...(options.index === undefined ? {} : { index: options.index }),
        ...(options.denseWeight === undefined ? {} : { denseWeight: options.denseWeight }),
        ...(options.candidatesPerList === undefined ? {} : { candidatesPerList: options.candidatesPerList }),
      }),
    options.onBackgroundError ?? (() => undefined),
  );
  rows.onCommitted?.((generation) => follower.observe(generation));

  // The stored embedder only changes with a reindex or a publish, both of which bump the generation: one check each.
  let embedderCheckedAt = -1;
  async function requireEmbedder(generation?: number): Promise<void> {
    if (generation !== undefined && generation === embedderCheckedAt) return;
    const mismatch = await rows.embedderMismatch();
    if (mismatch !== null) throw new AppError('not_ready', { detail: mismatch, extensions: { reindex_command: REINDEX_COMMAND } });
    if (generation !== undefined) embedderCheckedAt = generation;
  }

  /**
   * After this process's own write, the engine shows it before the call returns (read your writes); an engine not
   * built yet (a CLI process that never searches) is left unbuilt.
   */
  async function written<T>(result: T): Promise<T> {
    if (follower.status().indexedGeneration >= 0) await follower.atLeast(await rows.latestGeneration());
    return result;
  }

  async function search(request: SearchRequest, mode: SearchMode = 'hybrid'): Promise<RetrievedChunk[]> {
    if (request.collections.length === 0 || request.k <= 0) return [];
    // The committed generation is read on every query: whatever approval or retirement committed before this search
    // began, on any process, is in the engine it searches.
    const [vectors, generation] = await Promise.all([embedder.embed([request.query]), rows.latestGeneration()]);
    const queryVector = vectors[0];
    if (!queryVector) return [];
    await requireEmbedder(generation);
    const engine = await follower.atLeast(generation);
    return engine.search(request, queryVector, mode);
  }

  return {
    async ingestDocument(input) {
      await requireEmbedder();
      const version = await prepareVersion(input, { embedder, chunking: options.chunking, maxBytes, newId: options.newId, screen: options.screen });
      return written(await rows.writeVersion(version));
    },
    listDocuments: (filter) => rows.listDocuments(filter),
    pageDocuments: (query) => rows.pageDocuments(query),
    getDocument: (documentId) => rows.getDocument(documentId),
    listVersions: (documentId) => rows.listVersions(documentId),
    getChunks: (documentId, version) => rows.getChunks(documentId, version),
    async diffVersions(documentId, from, to) {
      const [before, after] = await Promise.all([rows.versionText(documentId, from), rows.versionText(documentId, to)]);
      return { documentId, from, to, diff: unifiedDiff(before, after, { from: `${documentId}@${from}`, to: `${documentId}@${to}` }) };
    },
    approve: async (documentId, version, actor) => written(await rows.approve(documentId, version, actor)),
    retire: async (documentId, actor) => written(await rows.retire(documentId, actor)),
    deleteDraft: async (documentId, version, actor) => written(await rows.deleteDraft(documentId, version, actor)),
    stats: () => rows.stats(),
    async reindex(actor) {
      const stored = await rows.chunkTexts();
      const vectors: Float32Array[] = [];
      for (let i = 0; i < stored.length; i += REINDEX_BATCH) vectors.push(...(await embedder.embed(stored.slice(i, i + REINDEX_BATCH).map((row) => row.text))));
      await rows.replaceEmbeddings(
        stored.map((row) => row.rowid),
        vectors,
      );
      embedderCheckedAt = -1;
      return written({ chunks: stored.length, embedder: embedder.name, dimension: embedder.dimension, actor });
    },
    retriever: { search: (request) => search(request) },
    retrieverFor: (mode) => ({ search: (request) => search(request, mode) }),
    indexStatus: () => follower.status(),
    async catchUp() {
      if ((await rows.embedderMismatch()) === null) await follower.atLeast(await rows.latestGeneration());
    },
    async close() {
      await follower.close();
      await rows.close();
    },
  };
}
