// Migrations of the governed corpus: documents, immutable versions, chunks, and the change log of what is retrievable.
import type { Migration } from './db.js';

export const CORPUS_MIGRATIONS: Migration[] = [
  {
    id: 'corpus-001-tables',
    sql: `
      CREATE TABLE corpus_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
      INSERT INTO corpus_meta (key, value) VALUES ('generation', '0');

      CREATE TABLE corpus_documents (
        id TEXT PRIMARY KEY,
        collection TEXT NOT NULL,
        source TEXT NOT NULL,
        owner TEXT NOT NULL,
        title TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        next_version INTEGER NOT NULL DEFAULT 1
      ) STRICT;
      CREATE INDEX corpus_documents_collection ON corpus_documents (collection);

      CREATE TABLE corpus_versions (
        document_id TEXT NOT NULL REFERENCES corpus_documents (id),
        version INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('draft', 'approved', 'quarantined', 'retired')),
        content_sha256 TEXT NOT NULL,
        content_type TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        text TEXT NOT NULL,
        ingested_by TEXT NOT NULL,
        ingested_at TEXT NOT NULL,
        approved_by TEXT,
        approved_at TEXT,
        retired_by TEXT,
        retired_at TEXT,
        chunking TEXT NOT NULL,
        embedder TEXT NOT NULL,
        findings TEXT NOT NULL,
        PRIMARY KEY (document_id, version)
      ) STRICT;
      -- LLM08-2: at most one retrievable version per document, enforced by the database itself.
      CREATE UNIQUE INDEX corpus_versions_one_approved ON corpus_versions (document_id) WHERE state = 'approved';

      CREATE TABLE corpus_chunks (
        rowid INTEGER PRIMARY KEY,
        document_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        ordinal INTEGER NOT NULL,
        chunk_id TEXT NOT NULL,
        text TEXT NOT NULL,
        embedding BLOB NOT NULL,
        FOREIGN KEY (document_id, version) REFERENCES corpus_versions (document_id, version) ON DELETE CASCADE,
        UNIQUE (document_id, version, ordinal)
      ) STRICT;
      CREATE INDEX corpus_chunks_chunk_id ON corpus_chunks (chunk_id);

      -- Holds approved chunks only (rowid = corpus_chunks.rowid); approve and retire move rows in and out.
      CREATE VIRTUAL TABLE corpus_fts USING fts5 (
        text,
        collection UNINDEXED,
        tokenize = 'porter unicode61 remove_diacritics 2'
      );
    `,
  },
  {
    // Document frequencies of the approved chunks' terms, read per query to make BM25 an absolute score (LLM09-2).
    id: 'corpus-002-fts-vocab',
    sql: `CREATE VIRTUAL TABLE corpus_fts_vocab USING fts5vocab (corpus_fts, 'row');`,
  },
  {
    // BM25 postings moved into memory beside the vector index (retrieval/lexical-index.ts): FTS5's bm25() ranking cost
    // ~1 µs per match and was the largest part of a search; the tables would only be kept in step for nothing.
    id: 'corpus-003-drop-fts',
    sql: `DROP TABLE corpus_fts_vocab; DROP TABLE corpus_fts;`,
  },
  {
    // The ordered log of what became retrievable or stopped being, one generation per transaction: every process's
    // retrieval engine replays it as deltas (issue 17), so a change the CLI makes on the file reaches a running server
    // without a full reload. Same shape as PostgreSQL's corpus_changes.
    id: 'corpus-004-changes',
    sql: `
      CREATE TABLE corpus_changes (
        seq INTEGER PRIMARY KEY,
        generation INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('publish', 'unpublish', 'reload')),
        document_id TEXT,
        version INTEGER
      ) STRICT;
      CREATE INDEX corpus_changes_generation ON corpus_changes (generation);
    `,
  },
];
