// Wire shapes of the governed corpus: front matter of bundled files, the admin ingest body, and the views the store returns.
import { z } from 'zod';

export const CollectionName = z.string().regex(/^[a-z][a-z0-9_-]*$/).max(64).describe('Access partition of the corpus');
export type CollectionName = z.infer<typeof CollectionName>;

export const DocumentId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]*$/)
  .max(128)
  .describe('Stable document id chosen by the author or generated at ingest');
export type DocumentId = z.infer<typeof DocumentId>;

export const ContentType = z.enum(['markdown', 'text', 'html']);
export type ContentType = z.infer<typeof ContentType>;

export const VersionState = z.enum(['draft', 'approved', 'quarantined', 'retired']);
export type VersionState = z.infer<typeof VersionState>;

/** The header of a bundled corpus file; `source` falls back to the file path. */
export const FrontMatter = z.strictObject({
  id: DocumentId,
  title: z.string().min(1).max(300),
  collection: CollectionName,
  owner: z.string().min(1).max(200),
  source: z.string().min(1).max(2000).optional(),
});
export type FrontMatter = z.infer<typeof FrontMatter>;

/** Body of an admin ingest request; `actor` comes from the authenticated key, never from the body. */
export const IngestDocumentRequest = z.strictObject({
  id: DocumentId.optional(),
  collection: CollectionName,
  source: z.string().min(1).max(2000),
  owner: z.string().min(1).max(200),
  title: z.string().min(1).max(300),
  content: z.string(),
  content_type: ContentType,
  approve: z.boolean().default(false),
});
export type IngestDocumentRequest = z.infer<typeof IngestDocumentRequest>;

export const ChunkingSettingsView = z.strictObject({
  maxChars: z.int().min(100),
  overlapSentences: z.int().min(0),
});

export const EmbedderSettingsView = z.strictObject({ name: z.string(), dimension: z.int() });

export const ScanFindingView = z.strictObject({
  ordinal: z.int().describe('Chunk ordinal; -1 for the whole document (found during extraction)'),
  reasons: z.array(z.string()),
});

export const CorpusDocument = z.strictObject({
  id: DocumentId,
  collection: CollectionName,
  source: z.string(),
  owner: z.string(),
  title: z.string(),
  createdAt: z.string(),
  latestVersion: z.int(),
  /** The state of the newest version, so a list can show it without one request per document. */
  latestState: VersionState.nullable(),
  approvedVersion: z.int().nullable(),
});
export type CorpusDocument = z.infer<typeof CorpusDocument>;

export const CorpusVersion = z.strictObject({
  documentId: DocumentId,
  version: z.int().min(1),
  state: VersionState,
  contentSha256: z.string().regex(/^[0-9a-f]{64}$/),
  contentType: ContentType,
  bytes: z.int(),
  ingestedBy: z.string(),
  ingestedAt: z.string(),
  approvedBy: z.string().nullable(),
  approvedAt: z.string().nullable(),
  retiredBy: z.string().nullable(),
  retiredAt: z.string().nullable(),
  chunking: ChunkingSettingsView,
  embedder: EmbedderSettingsView,
  findings: z.array(ScanFindingView),
  chunkCount: z.int(),
});
export type CorpusVersion = z.infer<typeof CorpusVersion>;

export const CorpusChunk = z.strictObject({
  chunkId: z.string(),
  documentId: DocumentId,
  version: z.int(),
  ordinal: z.int(),
  text: z.string(),
});
export type CorpusChunk = z.infer<typeof CorpusChunk>;
