// Interfaces of the retrieval side: embedders, chunks and search hits.

/** Turns texts into unit-length vectors of a fixed dimension. The name and dimension are stored with every index. */
export interface Embedder {
  readonly name: string;
  readonly dimension: number;
  embed(texts: readonly string[]): Promise<Float32Array[]>;
}

export interface ChunkDraft {
  /** 0-based position in the document version. */
  readonly ordinal: number;
  readonly text: string;
}

export interface ChunkingSettings {
  readonly maxChars: number;
  readonly overlapSentences: number;
}

/** One approved chunk returned for a query. */
export interface RetrievedChunk {
  readonly chunkId: string;
  readonly documentId: string;
  readonly documentVersion: number;
  readonly collection: string;
  readonly title: string;
  readonly text: string;
  /** Relevance in [0, 1]; comparable to a policy's `min_score`. */
  readonly score: number;
}

export interface SearchRequest {
  readonly query: string;
  readonly collections: readonly string[];
  readonly k: number;
  readonly minScore: number;
}

export interface Retriever {
  search(request: SearchRequest): Promise<RetrievedChunk[]>;
}

/**
 * A chunk of an approved version: what the store's rows hand the retrieval engine (retrieval/engine.ts) to index, and
 * what a hit returns.
 */
export interface ApprovedChunk {
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

export interface ScanFinding {
  readonly ordinal: number;
  readonly reasons: readonly string[];
}
