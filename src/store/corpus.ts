// The governed corpus seam: what every corpus backend (embedded SQLite, PostgreSQL) offers, as async calls over plain
// records, so the admin routes, the CLI and the gateway never know which database holds the documents.
import type { CorpusChunk, CorpusDocument, CorpusVersion, VersionState } from '../contracts/corpus.js';
import type { ChunkingSettings, Embedder, Retriever, ScanFinding } from '../retrieval/types.js';
import type { VectorIndexOptions } from '../retrieval/vector-index.js';
import type { TextScreen } from '../guard/model-screen.js';

export const REINDEX_COMMAND = 'airlock corpus reindex';

export interface CorpusOptions {
  readonly embedder: Embedder;
  readonly clock: () => Date;
  readonly newId: () => string;
  readonly chunking: ChunkingSettings;
  /** Largest accepted upload in bytes (UTF-8); bigger ones are refused with payload_too_large. */
  readonly maxDocumentBytes?: number;
  readonly index?: VectorIndexOptions;
  /** Share of the dense signal in hybrid ranking (0..1); measured by scripts/eval-retrieval.ts. */
  readonly denseWeight?: number;
  /** The model screen for every ingested chunk (AIRLOCK_SCREEN_INGEST); absent: the pattern scan alone. */
  readonly screen?: TextScreen;
}

export interface IngestInput {
  readonly id?: string;
  readonly collection: string;
  readonly source: string;
  readonly owner: string;
  readonly title: string;
  /** Raw upload; bytes are hashed as received (LLM04-1) and must be UTF-8 text. */
  readonly content: string | Uint8Array;
  readonly contentType: string;
  readonly actor: string;
  /** Approve at once when the scan is clean; a flagged version is quarantined regardless. */
  readonly approve?: boolean;
}

export interface IngestResult {
  /** False when the content equals the latest version's: nothing was written. */
  readonly created: boolean;
  readonly document: CorpusDocument;
  readonly version: CorpusVersion;
  /** Set when this ingest approved the version and an older one was retired by it. */
  readonly retiredVersion: number | null;
}

export interface ApproveResult {
  readonly documentId: string;
  readonly version: number;
  readonly previousState: VersionState;
  readonly retiredVersion: number | null;
  /** The scan reasons the admin overrode when approving a quarantined version. */
  readonly findings: readonly ScanFinding[];
  readonly actor: string;
}

export interface StateChange {
  readonly documentId: string;
  readonly version: number;
  readonly previousState: VersionState;
  readonly actor: string;
}

export interface CorpusStats {
  readonly documents: number;
  readonly chunks: number;
  readonly approvedChunks: number;
  readonly versionsByState: Readonly<Record<VersionState, number>>;
  /** Bumped by every change to what is retrievable; the index of each process follows it. */
  readonly generation: number;
}

export interface VersionDiff {
  readonly documentId: string;
  readonly from: number;
  readonly to: number;
  readonly diff: string;
}

export type SearchMode = 'hybrid' | 'dense' | 'lexical';

/** Where this process's vector index stands against the corpus generation (bumped by every approve and retire). */
export interface IndexStatus {
  /** The generation the in-process index reflects. */
  readonly indexedGeneration: number;
  /** The newest generation this process knows was committed (from a notification or its last check). */
  readonly knownGeneration: number;
}

/** One page of documents for the console and the admin API: filters, a title/id search and a keyset position. */
export interface DocumentPageQuery {
  readonly collection?: string;
  /** Documents with at least one version in this state. */
  readonly state?: VersionState;
  /** Case-insensitive substring of the id or the title. */
  readonly q?: string;
  readonly limit: number;
  /** The id of the last document of the previous page (documents are ordered by id). */
  readonly afterId?: string;
}

export interface DocumentPage {
  readonly documents: CorpusDocument[];
  /** Whether documents follow the last one of this page. */
  readonly more: boolean;
}

/** A LIKE pattern matching `text` literally anywhere (its % and _ escaped with \). */
export const containsPattern = (text: string): string => `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;

export interface CorpusStore {
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
  /** For readiness and metrics: is the local index behind the last generation this process heard of? */
  indexStatus(): IndexStatus;
  /**
   * Brings the local index up to the committed generation now (a full load at start, or a change another process
   * committed), so readiness never waits for a search that a load balancer would not send to an unready process.
   * Does nothing while the stored embeddings need a reindex: searches refuse with the reason instead.
   */
  catchUp(): Promise<void>;
  /** Releases connections and listeners the backend opened for itself (the SQLite file belongs to the store). */
  close(): Promise<void>;
}
