// The corpus rows seam: what every corpus backend (embedded SQLite, PostgreSQL) keeps, as async calls over plain
// records: documents, immutable versions and their state machine, chunks with their embeddings, and the ordered change
// log of what became retrievable or stopped being. Stores never rank: the one retrieval engine (retrieval/engine.ts) is
// built from these rows and follows the log (corpus/follower.ts).
import type { ContentType, CorpusChunk, CorpusDocument, CorpusVersion, VersionState } from '../contracts/corpus.js';
import type { ApprovedChunk, ChunkingSettings, ScanFinding } from '../retrieval/types.js';

export type { ApprovedChunk } from '../retrieval/types.js';

export const REINDEX_COMMAND = 'airlock corpus reindex';

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
  /** Bumped by every change to what is retrievable; the engine of each process follows it. */
  readonly generation: number;
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

/** A checked, chunked, scanned and embedded upload (corpus/ingest.ts), written in one transaction. */
export interface NewVersion {
  readonly documentId: string;
  readonly collection: string;
  readonly source: string;
  readonly owner: string;
  readonly title: string;
  readonly actor: string;
  readonly contentType: ContentType;
  readonly sha256: string;
  readonly bytes: number;
  readonly text: string;
  readonly chunking: ChunkingSettings;
  readonly findings: readonly ScanFinding[];
  readonly chunks: readonly { readonly ordinal: number; readonly chunkId: string; readonly text: string; readonly embedding: Float32Array }[];
  /** Approve in the same transaction; a version with findings stays quarantined regardless. */
  readonly approve: boolean;
}

/** An approved chunk as both backends read it (PostgreSQL names its id column rowid in the select). */
export interface ApprovedChunkRow {
  rowid: number;
  chunk_id: string;
  document_id: string;
  version: number;
  collection: string;
  title: string;
  text: string;
  embedding: Buffer;
}

export const toApprovedChunk = (row: ApprovedChunkRow): ApprovedChunk => ({
  rowid: row.rowid,
  chunkId: row.chunk_id,
  documentId: row.document_id,
  version: row.version,
  collection: row.collection,
  title: row.title,
  text: row.text,
  embedding: bytesToVector(row.embedding),
});

/**
 * One entry of the change log, in commit order. Every generation holds at least one entry, and one transaction's
 * entries share its generation, so a follower that applies whole generations never shows half a change (an approval
 * that retires the previous version is one generation: never both versions, never neither).
 */
export type CorpusChange =
  | { readonly generation: number; readonly kind: 'publish'; readonly chunks: readonly ApprovedChunk[] }
  | { readonly generation: number; readonly kind: 'unpublish'; readonly rowids: readonly number[] }
  /** Every embedding changed (a reindex): followers rebuild. */
  | { readonly generation: number; readonly kind: 'reload' };

/** A LIKE pattern matching `text` literally anywhere (its % and _ escaped with \). */
export const containsPattern = (text: string): string => `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;

/** Little-endian float32 bytes, the on-disk form of an embedding in both backends. */
export const vectorToBytes = (vector: Float32Array): Buffer => Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);

// Copy out of the driver-owned buffer: it may be unaligned for a Float32Array view and may be reused.
export const bytesToVector = (bytes: Uint8Array): Float32Array => new Float32Array(Uint8Array.from(bytes).buffer);

/** How many entries of the change log are kept; a follower further behind than this rebuilds instead of replaying. */
export const CHANGE_RETENTION_GENERATIONS = 10_000;

export interface CorpusRows {
  /** Writes a new version (unless its content equals the latest version's) and its chunks; approves it when asked. */
  writeVersion(version: NewVersion): Promise<IngestResult>;
  listDocuments(filter?: { readonly collection?: string }): Promise<CorpusDocument[]>;
  pageDocuments(query: DocumentPageQuery): Promise<DocumentPage>;
  getDocument(documentId: string): Promise<CorpusDocument>;
  listVersions(documentId: string): Promise<CorpusVersion[]>;
  getChunks(documentId: string, version: number): Promise<CorpusChunk[]>;
  /** The extracted text of a version (not_found when it does not exist). */
  versionText(documentId: string, version: number): Promise<string>;
  /** Approves `version` (default: the latest); retires the previously approved version in the same transaction. */
  approve(documentId: string, version: number | undefined, actor: string): Promise<ApproveResult>;
  retire(documentId: string, actor: string): Promise<StateChange>;
  /** Deletes a version that was never approved (draft or quarantined). */
  deleteDraft(documentId: string, version: number, actor: string): Promise<StateChange>;
  stats(): Promise<CorpusStats>;
  /** Null when the stored embeddings were made by this store's embedder (or none are stored); otherwise why not. */
  embedderMismatch(): Promise<string | null>;
  /** Every stored chunk's text, approved or not, for a reindex. */
  chunkTexts(): Promise<{ readonly rowid: number; readonly text: string }[]>;
  /** Replaces every chunk's embedding (made by this store's embedder) in one transaction, logged as a reload. */
  replaceEmbeddings(rowids: readonly number[], vectors: readonly Float32Array[]): Promise<void>;
  /** Approved chunks with a rowid above `afterRowid`, in rowid order: the pages of a follower's initial build. */
  loadApproved(afterRowid: number, limit: number): Promise<ApprovedChunk[]>;
  /** The newest committed generation. */
  latestGeneration(): Promise<number>;
  /**
   * The log entries of generations after `generation`, up to `generation + generations`, in commit order. A follower
   * checks they are contiguous: entries older than CHANGE_RETENTION_GENERATIONS are trimmed.
   */
  changesSince(generation: number, generations: number): Promise<CorpusChange[]>;
  /**
   * Calls `listener` with each generation another process announces (PostgreSQL LISTEN/NOTIFY). The embedded store
   * has no such channel: its followers check latestGeneration(), which reads PRAGMA data_version first.
   */
  onCommitted?(listener: (generation: number) => void): void;
  /** Releases connections and listeners the backend opened for itself (the SQLite file belongs to the store). */
  close(): Promise<void>;
}

export interface CorpusRowsOptions {
  /** The embedder this process uses: stored with every version, and checked against the stored embeddings. */
  readonly embedder: { readonly name: string; readonly dimension: number };
  readonly clock: () => Date;
}

/** The identity of an embedder as stored with versions and in the corpus metadata. */
export const embedderIdentity = (embedder: CorpusRowsOptions['embedder']): string => JSON.stringify({ name: embedder.name, dimension: embedder.dimension });

/** Why stored embeddings cannot be searched with this process's embedder; null when they can. */
export function embedderMismatchReason(stored: string | null, current: string, storedChunks: number): string | null {
  if (stored === null || stored === current || storedChunks === 0) return null;
  return `corpus was embedded with ${stored} but the configured embedder is ${current}; run \`${REINDEX_COMMAND}\``;
}
