// The governed corpus rows on SQLite: versioned documents, the draft/quarantine/approve/retire state machine (LLM04-1,
// LLM04-3, LLM08-2), chunks with their embeddings, and the change log the retrieval engine of every process follows.
// Nothing here ranks (retrieval/engine.ts does, from these rows).
import { AppError } from '../../errors.js';
import type { ContentType, CorpusDocument, CorpusVersion, VersionState } from '../../contracts/corpus.js';
import type { ScanFinding } from '../../retrieval/types.js';
import {
  CHANGE_RETENTION_GENERATIONS,
  REINDEX_COMMAND,
  containsPattern,
  embedderIdentity,
  embedderMismatchReason,
  toApprovedChunk,
  vectorToBytes,
  type ApproveResult,
  type ApprovedChunk,
  type ApprovedChunkRow,
  type CorpusChange,
  type CorpusRows,
  type CorpusRowsOptions,
  type IngestResult,
  type NewVersion,
} from '../corpus.js';
import type { SqliteDatabase } from './db.js';

export { CORPUS_MIGRATIONS } from './corpus-schema.js';

interface DocumentRow {
  id: string;
  collection: string;
  source: string;
  owner: string;
  title: string;
  created_at: string;
  latest_version: number | null;
  approved_version: number | null;
  latest_state: VersionState | null;
}

interface VersionRow {
  document_id: string;
  version: number;
  state: VersionState;
  content_sha256: string;
  content_type: ContentType;
  bytes: number;
  ingested_by: string;
  ingested_at: string;
  approved_by: string | null;
  approved_at: string | null;
  retired_by: string | null;
  retired_at: string | null;
  chunking: string;
  embedder: string;
  findings: string;
  chunk_count: number;
}

interface ChunkRow {
  rowid: number;
  chunk_id: string;
  document_id: string;
  version: number;
  ordinal: number;
  text: string;
}


type ChangeKind = CorpusChange['kind'];

interface ChangeRow {
  generation: number;
  kind: ChangeKind;
  document_id: string | null;
  version: number | null;
}

/** A change to what is retrievable, logged in the transaction that makes it. */
interface PendingChange {
  readonly kind: ChangeKind;
  readonly documentId?: string;
  readonly version?: number;
}


const toDocument = (row: DocumentRow): CorpusDocument => ({
  id: row.id,
  collection: row.collection,
  source: row.source,
  owner: row.owner,
  title: row.title,
  createdAt: row.created_at,
  latestVersion: row.latest_version ?? 0,
  approvedVersion: row.approved_version,
  latestState: row.latest_state,
});

const toVersion = (row: VersionRow): CorpusVersion => ({
  documentId: row.document_id,
  version: row.version,
  state: row.state,
  contentSha256: row.content_sha256,
  contentType: row.content_type,
  bytes: row.bytes,
  ingestedBy: row.ingested_by,
  ingestedAt: row.ingested_at,
  approvedBy: row.approved_by,
  approvedAt: row.approved_at,
  retiredBy: row.retired_by,
  retiredAt: row.retired_at,
  chunking: JSON.parse(row.chunking) as CorpusVersion['chunking'],
  embedder: JSON.parse(row.embedder) as CorpusVersion['embedder'],
  findings: JSON.parse(row.findings) as CorpusVersion['findings'],
  chunkCount: row.chunk_count,
});


const CHUNK_COLUMNS = 'c.rowid, c.chunk_id, c.document_id, c.version, d.collection, d.title, c.text, c.embedding';

export function createSqliteCorpusRows(db: SqliteDatabase, options: CorpusRowsOptions): CorpusRows {
  const { clock } = options;
  const embedderJson = embedderIdentity(options.embedder);

  const documentSelect = `
    SELECT d.*, (SELECT MAX(version) FROM corpus_versions v WHERE v.document_id = d.id) AS latest_version,
      (SELECT version FROM corpus_versions v WHERE v.document_id = d.id AND v.state = 'approved') AS approved_version,
      (SELECT state FROM corpus_versions v WHERE v.document_id = d.id ORDER BY version DESC LIMIT 1) AS latest_state
    FROM corpus_documents d`;
  const versionSelect = `
    SELECT v.*, (SELECT COUNT(*) FROM corpus_chunks c WHERE c.document_id = v.document_id AND c.version = v.version) AS chunk_count
    FROM corpus_versions v`;
  const sql = {
    meta: db.prepare<[string], string>('SELECT value FROM corpus_meta WHERE key = ?').pluck(),
    setMeta: db.prepare('INSERT INTO corpus_meta (key, value) VALUES (@key, @value) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    bumpGeneration: db.prepare<[], number>(
      "UPDATE corpus_meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation' RETURNING CAST(value AS INTEGER)",
    ).pluck(),
    dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
    logChange: db.prepare('INSERT INTO corpus_changes (generation, kind, document_id, version) VALUES (@generation, @kind, @documentId, @version)'),
    trimChanges: db.prepare('DELETE FROM corpus_changes WHERE generation <= ?'),
    changes: db.prepare<[number, number], ChangeRow>(
      'SELECT generation, kind, document_id, version FROM corpus_changes WHERE generation > ? AND generation <= ? ORDER BY seq',
    ),
    chunkCount: db.prepare<[], number>('SELECT COUNT(*) FROM corpus_chunks').pluck(),
    document: db.prepare<[string], DocumentRow>(`${documentSelect} WHERE d.id = ?`),
    documents: db.prepare<{ collection: string | null }, DocumentRow>(
      `${documentSelect} WHERE @collection IS NULL OR d.collection = @collection ORDER BY d.collection, d.id`,
    ),
    documentPage: db.prepare<{ collection: string | null; state: string | null; pattern: string | null; afterId: string | null; limit: number }, DocumentRow>(
      `${documentSelect}
       WHERE (@collection IS NULL OR d.collection = @collection)
         AND (@afterId IS NULL OR d.id > @afterId)
         AND (@state IS NULL OR EXISTS (SELECT 1 FROM corpus_versions s WHERE s.document_id = d.id AND s.state = @state))
         AND (@pattern IS NULL OR d.id LIKE @pattern ESCAPE '\\' OR d.title LIKE @pattern ESCAPE '\\')
       ORDER BY d.id LIMIT @limit`,
    ),
    insertDocument: db.prepare(
      `INSERT INTO corpus_documents (id, collection, source, owner, title, created_at, created_by)
       VALUES (@id, @collection, @source, @owner, @title, @at, @actor)`,
    ),
    updateDocument: db.prepare('UPDATE corpus_documents SET source = @source, owner = @owner, title = @title WHERE id = @id'),
    takeVersionNumber: db.prepare<[string], number>(
      'UPDATE corpus_documents SET next_version = next_version + 1 WHERE id = ? RETURNING next_version - 1',
    ).pluck(),
    deleteDocumentIfEmpty: db.prepare(
      'DELETE FROM corpus_documents WHERE id = ? AND NOT EXISTS (SELECT 1 FROM corpus_versions WHERE document_id = corpus_documents.id)',
    ),
    version: db.prepare<[string, number], VersionRow>(`${versionSelect} WHERE v.document_id = ? AND v.version = ?`),
    latestVersion: db.prepare<[string], VersionRow>(`${versionSelect} WHERE v.document_id = ? ORDER BY v.version DESC LIMIT 1`),
    approvedVersion: db.prepare<[string], VersionRow>(`${versionSelect} WHERE v.document_id = ? AND v.state = 'approved'`),
    versions: db.prepare<[string], VersionRow>(`${versionSelect} WHERE v.document_id = ? ORDER BY v.version`),
    versionText: db.prepare<[string, number], string>('SELECT text FROM corpus_versions WHERE document_id = ? AND version = ?').pluck(),
    insertVersion: db.prepare(
      `INSERT INTO corpus_versions (document_id, version, state, content_sha256, content_type, bytes, text, ingested_by, ingested_at,
         chunking, embedder, findings)
       VALUES (@documentId, @version, @state, @sha, @contentType, @bytes, @text, @actor, @at, @chunking, @embedder, @findings)`,
    ),
    setApproved: db.prepare(
      "UPDATE corpus_versions SET state = 'approved', approved_by = @actor, approved_at = @at, retired_by = NULL, retired_at = NULL WHERE document_id = @documentId AND version = @version",
    ),
    setRetired: db.prepare(
      "UPDATE corpus_versions SET state = 'retired', retired_by = @actor, retired_at = @at WHERE document_id = @documentId AND version = @version",
    ),
    deleteVersion: db.prepare('DELETE FROM corpus_versions WHERE document_id = ? AND version = ?'),
    versionCounts: db.prepare<[], { state: VersionState; n: number }>('SELECT state, COUNT(*) AS n FROM corpus_versions GROUP BY state'),
    documentCount: db.prepare<[], number>('SELECT COUNT(*) FROM corpus_documents').pluck(),
    insertChunk: db.prepare(
      `INSERT INTO corpus_chunks (document_id, version, ordinal, chunk_id, text, embedding)
       VALUES (@documentId, @version, @ordinal, @chunkId, @text, @embedding)`,
    ),
    chunks: db.prepare<[string, number], ChunkRow>(
      'SELECT rowid, chunk_id, document_id, version, ordinal, text FROM corpus_chunks WHERE document_id = ? AND version = ? ORDER BY ordinal',
    ),
    versionChunks: db.prepare<[string, number], ApprovedChunkRow>(
      `SELECT ${CHUNK_COLUMNS} FROM corpus_chunks c JOIN corpus_documents d ON d.id = c.document_id
       WHERE c.document_id = ? AND c.version = ? ORDER BY c.rowid`,
    ),
    versionRowids: db.prepare<[string, number], number>('SELECT rowid FROM corpus_chunks WHERE document_id = ? AND version = ? ORDER BY rowid').pluck(),
    approvedPage: db.prepare<[number, number], ApprovedChunkRow>(
      `SELECT ${CHUNK_COLUMNS} FROM corpus_chunks c
       JOIN corpus_versions v ON v.document_id = c.document_id AND v.version = c.version AND v.state = 'approved'
       JOIN corpus_documents d ON d.id = c.document_id
       WHERE c.rowid > ? ORDER BY c.rowid LIMIT ?`,
    ),
    allChunkTexts: db.prepare<[], { rowid: number; text: string }>('SELECT rowid, text FROM corpus_chunks ORDER BY rowid'),
    setEmbedding: db.prepare('UPDATE corpus_chunks SET embedding = @embedding WHERE rowid = @rowid'),
    setVersionsEmbedder: db.prepare('UPDATE corpus_versions SET embedder = ?'),
    approvedChunkCount: db.prepare<[], number>(
      `SELECT COUNT(*) FROM corpus_chunks c
       JOIN corpus_versions v ON v.document_id = c.document_id AND v.version = c.version AND v.state = 'approved'`,
    ).pluck(),
  };

  const generation = (): number => Number(sql.meta.get('generation') ?? 0);

  // The generation as last read, and the data_version it was read at: another connection's commit changes
  // data_version, so a follower's per-search check costs one pragma until something really changed.
  let knownGeneration = -1;
  let knownAtDataVersion = -1;

  function embedderMismatch(): string | null {
    return embedderMismatchReason(sql.meta.get('embedder') ?? null, embedderJson, sql.chunkCount.get() ?? 0);
  }

  function requireEmbedder(): void {
    const mismatch = embedderMismatch();
    if (mismatch !== null) throw new AppError('not_ready', { detail: mismatch, extensions: { reindex_command: REINDEX_COMMAND } });
  }

  /** Logs the changes under one new generation; called inside the transaction that made them. */
  function logChanges(changes: readonly PendingChange[]): void {
    if (changes.length === 0) return;
    const next = sql.bumpGeneration.get() ?? 0;
    for (const change of changes) {
      sql.logChange.run({ generation: next, kind: change.kind, documentId: change.documentId ?? null, version: change.version ?? null });
    }
    sql.trimChanges.run(next - CHANGE_RETENTION_GENERATIONS);
  }

  /** Runs a corpus write in one transaction; what it changed about retrievability is logged in that transaction. */
  function mutate<T>(body: (changes: PendingChange[]) => T): T {
    requireEmbedder();
    const result = db.transaction(() => {
      const changes: PendingChange[] = [];
      const value = body(changes);
      logChanges(changes);
      return value;
    })();
    knownGeneration = -1;
    return result;
  }

  function requireDocument(documentId: string): DocumentRow {
    const row = sql.document.get(documentId);
    if (!row) throw new AppError('not_found', { detail: `document ${documentId} not found` });
    return row;
  }

  function requireVersion(documentId: string, version: number): VersionRow {
    const row = sql.version.get(documentId, version);
    if (!row) throw new AppError('not_found', { detail: `document ${documentId} has no version ${version}` });
    return row;
  }

  function approveInTransaction(documentId: string, version: number, actor: string, changes: PendingChange[]): ApproveResult {
    requireDocument(documentId);
    const target = requireVersion(documentId, version);
    // retired → approved is the rollback path (LLM04-1); approved stays approved only once.
    if (target.state === 'approved') {
      throw new AppError('state_conflict', { detail: `version ${version} of ${documentId} is already approved` });
    }
    const at = clock().toISOString();
    const current = sql.approvedVersion.get(documentId);
    if (current) {
      sql.setRetired.run({ documentId, version: current.version, actor, at });
      changes.push({ kind: 'unpublish', documentId, version: current.version });
    }
    sql.setApproved.run({ documentId, version, actor, at });
    changes.push({ kind: 'publish', documentId, version });
    return {
      documentId,
      version,
      previousState: target.state,
      retiredVersion: current?.version ?? null,
      findings: JSON.parse(target.findings) as ScanFinding[],
      actor,
    };
  }

  function writeVersion(input: NewVersion): IngestResult {
    const { documentId } = input;
    return mutate((changes) => {
      const existing = sql.document.get(documentId);
      if (existing && existing.collection !== input.collection) {
        throw new AppError('state_conflict', {
          detail: `document ${documentId} belongs to collection ${existing.collection}; moving collections needs a new id`,
        });
      }
      const latest = existing ? sql.latestVersion.get(documentId) : undefined;
      if (existing && latest && latest.content_sha256 === input.sha256) {
        return { created: false, document: toDocument(existing), version: toVersion(latest), retiredVersion: null };
      }
      const at = clock().toISOString();
      const fields = { id: documentId, source: input.source, owner: input.owner, title: input.title };
      if (existing) sql.updateDocument.run(fields);
      else sql.insertDocument.run({ ...fields, collection: input.collection, at, actor: input.actor });
      const version = sql.takeVersionNumber.get(documentId) ?? 1;
      sql.insertVersion.run({
        documentId,
        version,
        state: input.findings.length > 0 ? 'quarantined' : 'draft',
        sha: input.sha256,
        contentType: input.contentType,
        bytes: input.bytes,
        text: input.text,
        actor: input.actor,
        at,
        chunking: JSON.stringify(input.chunking),
        embedder: embedderJson,
        findings: JSON.stringify(input.findings),
      });
      for (const chunk of input.chunks) {
        sql.insertChunk.run({ documentId, version, ordinal: chunk.ordinal, chunkId: chunk.chunkId, text: chunk.text, embedding: vectorToBytes(chunk.embedding) });
      }
      sql.setMeta.run({ key: 'embedder', value: embedderJson });
      const approval = input.approve && input.findings.length === 0 ? approveInTransaction(documentId, version, input.actor, changes) : null;
      return {
        created: true,
        document: toDocument(requireDocument(documentId)),
        version: toVersion(requireVersion(documentId, version)),
        retiredVersion: approval?.retiredVersion ?? null,
      };
    });
  }

  /** The log entries of (from, to], with the rows each names, read in one snapshot. */
  const readChanges = db.transaction((from: number, to: number): CorpusChange[] =>
    sql.changes.all(from, to).map((row): CorpusChange => {
      if (row.kind === 'reload' || row.document_id === null || row.version === null) return { generation: row.generation, kind: 'reload' };
      if (row.kind === 'publish') return { generation: row.generation, kind: 'publish', chunks: sql.versionChunks.all(row.document_id, row.version).map(toApprovedChunk) };
      return { generation: row.generation, kind: 'unpublish', rowids: sql.versionRowids.all(row.document_id, row.version) };
    }),
  );

  return {
    writeVersion: async (input) => writeVersion(input),
    listDocuments: async (filter = {}) => sql.documents.all({ collection: filter.collection ?? null }).map(toDocument),
    pageDocuments: async (query) => {
      const rows = sql.documentPage.all({
        collection: query.collection ?? null,
        state: query.state ?? null,
        pattern: query.q === undefined ? null : containsPattern(query.q),
        afterId: query.afterId ?? null,
        limit: query.limit + 1,
      });
      return { documents: rows.slice(0, query.limit).map(toDocument), more: rows.length > query.limit };
    },
    getDocument: async (documentId) => toDocument(requireDocument(documentId)),
    listVersions: async (documentId) => {
      requireDocument(documentId);
      return sql.versions.all(documentId).map(toVersion);
    },
    getChunks: async (documentId, version) => {
      requireVersion(documentId, version);
      return sql.chunks.all(documentId, version).map((row) => ({
        chunkId: row.chunk_id,
        documentId: row.document_id,
        version: row.version,
        ordinal: row.ordinal,
        text: row.text,
      }));
    },
    versionText: async (documentId, version) => {
      requireVersion(documentId, version);
      return sql.versionText.get(documentId, version) ?? '';
    },
    approve: async (documentId, version, actor) =>
      mutate((changes) => approveInTransaction(documentId, version ?? requireDocument(documentId).latest_version ?? 0, actor, changes)),
    retire: async (documentId, actor) =>
      mutate((changes) => {
        requireDocument(documentId);
        const current = sql.approvedVersion.get(documentId);
        if (!current) throw new AppError('state_conflict', { detail: `document ${documentId} has no approved version` });
        sql.setRetired.run({ documentId, version: current.version, actor, at: clock().toISOString() });
        changes.push({ kind: 'unpublish', documentId, version: current.version });
        return { documentId, version: current.version, previousState: 'approved' as const, actor };
      }),
    deleteDraft: async (documentId, version, actor) =>
      mutate(() => {
        const target = requireVersion(documentId, version);
        if (target.state !== 'draft' && target.state !== 'quarantined') {
          throw new AppError('state_conflict', { detail: `version ${version} of ${documentId} is ${target.state}; only unapproved versions can be deleted` });
        }
        sql.deleteVersion.run(documentId, version);
        sql.deleteDocumentIfEmpty.run(documentId);
        return { documentId, version, previousState: target.state, actor };
      }),
    stats: async () => {
      const versionsByState: Record<VersionState, number> = { draft: 0, approved: 0, quarantined: 0, retired: 0 };
      for (const row of sql.versionCounts.all()) versionsByState[row.state] = row.n;
      return {
        documents: sql.documentCount.get() ?? 0,
        chunks: sql.chunkCount.get() ?? 0,
        approvedChunks: sql.approvedChunkCount.get() ?? 0,
        versionsByState,
        generation: generation(),
      };
    },
    embedderMismatch: async () => embedderMismatch(),
    chunkTexts: async () => sql.allChunkTexts.all(),
    async replaceEmbeddings(rowids, vectors) {
      db.transaction(() => {
        rowids.forEach((rowid, i) => sql.setEmbedding.run({ rowid, embedding: vectorToBytes(vectors[i] as Float32Array) }));
        sql.setVersionsEmbedder.run(embedderJson);
        sql.setMeta.run({ key: 'embedder', value: embedderJson });
        logChanges([{ kind: 'reload' }]);
      })();
      knownGeneration = -1;
    },
    loadApproved: async (afterRowid, limit) => sql.approvedPage.all(afterRowid, limit).map(toApprovedChunk),
    latestGeneration: async () => {
      const dataVersion = sql.dataVersion.get() ?? 0;
      if (knownGeneration < 0 || dataVersion !== knownAtDataVersion) {
        knownAtDataVersion = dataVersion;
        knownGeneration = generation();
      }
      return knownGeneration;
    },
    changesSince: async (from, generations) => readChanges(from, from + generations),
    // The file and its connection belong to the store, which closes them.
    close: async () => undefined,
  };
}
