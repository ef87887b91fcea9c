// The governed corpus on SQLite: versioned documents, the draft/quarantine/approve/retire state machine, and hybrid search
// over approved chunks only (LLM04-1, LLM04-3, LLM08-1, LLM08-2).
import { AppError } from '../../errors.js';
import type { ContentType, CorpusDocument, CorpusVersion, VersionState } from '../../contracts/corpus.js';
import { chunkId } from '../../retrieval/chunking.js';
import { fusedScore, hybridRankScore } from '../../retrieval/fusion.js';
import { createLexicalScorer, queryTerms } from '../../retrieval/lexical.js';
import { createLexicalIndex } from '../../retrieval/lexical-index.js';
import { unifiedDiff } from '../../retrieval/line-diff.js';
import type { RetrievedChunk, ScanFinding, SearchRequest } from '../../retrieval/types.js';
import { createVectorIndex } from '../../retrieval/vector-index.js';
import { REINDEX_COMMAND, containsPattern, type CorpusOptions, type CorpusStore, type IngestInput, type IngestResult, type ApproveResult, type SearchMode } from '../corpus.js';
import { DEFAULT_MAX_DOCUMENT_BYTES, bytesToVector, prepareIngest, vectorToBytes } from '../corpus-common.js';
import type { SqliteDatabase } from './db.js';

export { CORPUS_MIGRATIONS } from './corpus-schema.js';

export { REINDEX_COMMAND } from '../corpus.js';
export type { ApproveResult, CorpusOptions, CorpusStats, IngestInput, IngestResult, SearchMode, StateChange, VersionDiff } from '../corpus.js';


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

const CANDIDATES_PER_LIST = 50;
const DEFAULT_DENSE_WEIGHT = 0.4;

const toBlob = vectorToBytes;
const fromBlob = bytesToVector;

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

export function createSqliteCorpus(db: SqliteDatabase, options: CorpusOptions): CorpusStore {
  const { embedder, clock } = options;
  const maxBytes = options.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
  const embedderJson = JSON.stringify({ name: embedder.name, dimension: embedder.dimension });
  const index = createVectorIndex(embedder.dimension, options.index);
  const denseWeight = options.denseWeight ?? DEFAULT_DENSE_WEIGHT;
  let indexedGeneration = -1;
  /** BM25 postings of the approved chunks, and their collections; kept in step with `index` (same sync and publish paths). */
  const lexical = createLexicalIndex();

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
    bumpGeneration: db.prepare("UPDATE corpus_meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'"),
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
    versionChunks: db.prepare<[string, number], { rowid: number; embedding: Buffer; text: string }>(
      'SELECT rowid, embedding, text FROM corpus_chunks WHERE document_id = ? AND version = ?',
    ),
    allChunkTexts: db.prepare<[], { rowid: number; text: string }>('SELECT rowid, text FROM corpus_chunks ORDER BY rowid'),
    setEmbedding: db.prepare('UPDATE corpus_chunks SET embedding = @embedding WHERE rowid = @rowid'),
    setVersionsEmbedder: db.prepare('UPDATE corpus_versions SET embedder = ?'),
    approvedChunkCount: db.prepare<[], number>(
      `SELECT COUNT(*) FROM corpus_chunks c
       JOIN corpus_versions v ON v.document_id = c.document_id AND v.version = c.version AND v.state = 'approved'`,
    ).pluck(),
    approvedChunks: db.prepare<[], { rowid: number; collection: string; embedding: Buffer; text: string }>(
      `SELECT c.rowid, d.collection, c.embedding, c.text FROM corpus_chunks c
       JOIN corpus_versions v ON v.document_id = c.document_id AND v.version = c.version AND v.state = 'approved'
       JOIN corpus_documents d ON d.id = c.document_id`,
    ),
    // Defence in depth: each candidate is re-checked against state and collection in the same statement that reads its
    // text. One fixed-arity statement per rowid (a primary-key lookup) instead of a json_each list.
    hit: db.prepare<{ rowid: number; collection: string }, ChunkRow & { collection: string; title: string }>(
      `SELECT c.rowid, c.chunk_id, c.document_id, c.version, c.ordinal, c.text, d.collection, d.title
       FROM corpus_chunks c
       JOIN corpus_versions v ON v.document_id = c.document_id AND v.version = c.version AND v.state = 'approved'
       JOIN corpus_documents d ON d.id = c.document_id
       WHERE c.rowid = @rowid AND d.collection = @collection`,
    ),
  };

  const generation = (): number => Number(sql.meta.get('generation') ?? 0);

  /** Null when the stored index was built by this embedder (or nothing is stored yet); otherwise why it cannot be used. */
  function embedderMismatch(): string | null {
    const stored = sql.meta.get('embedder');
    if (stored === undefined || stored === embedderJson || sql.chunkCount.get() === 0) return null;
    return `corpus was embedded with ${stored} but the configured embedder is ${embedderJson}; run \`${REINDEX_COMMAND}\``;
  }

  function requireEmbedder(): void {
    const mismatch = embedderMismatch();
    if (mismatch !== null) throw new AppError('not_ready', { detail: mismatch, extensions: { reindex_command: REINDEX_COMMAND } });
  }

  /** Reloads the in-process index when another connection (the CLI, another process) changed approvals. */
  function syncIndex(): void {
    const current = generation();
    if (current === indexedGeneration) return;
    index.clear();
    lexical.clear();
    for (const row of sql.approvedChunks.iterate()) {
      index.add(row.rowid, row.collection, fromBlob(row.embedding));
      lexical.add(row.rowid, row.collection, row.text);
    }
    indexedGeneration = current;
  }

  type IndexOp = () => void;

  /** Moves a version's chunks into or out of both indexes; index edits run only after the transaction commits. */
  function publish(documentId: string, version: number, collection: string, ops: IndexOp[]): void {
    const rows = sql.versionChunks.all(documentId, version);
    ops.push(() => {
      for (const row of rows) {
        index.add(row.rowid, collection, fromBlob(row.embedding));
        lexical.add(row.rowid, collection, row.text);
      }
    });
  }

  function unpublish(documentId: string, version: number, ops: IndexOp[]): void {
    const rows = sql.versionChunks.all(documentId, version);
    ops.push(() => {
      for (const row of rows) {
        index.remove(row.rowid);
        lexical.remove(row.rowid, row.text);
      }
    });
  }

  /**
   * Runs a state change and then the matching index edits with no await in between, so no search can observe the
   * database and the in-process index disagreeing (and never two versions of one document).
   */
  function mutate<T>(body: (ops: IndexOp[]) => T): T {
    requireEmbedder();
    syncIndex();
    const ops: IndexOp[] = [];
    const result = db.transaction(() => {
      const value = body(ops);
      if (ops.length > 0) sql.bumpGeneration.run();
      return value;
    })();
    for (const op of ops) op();
    if (ops.length > 0) indexedGeneration = generation();
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

  function approveInTransaction(documentId: string, version: number, actor: string, ops: IndexOp[]): ApproveResult {
    const document = requireDocument(documentId);
    const target = requireVersion(documentId, version);
    // retired → approved is the rollback path (LLM04-1); approved stays approved only once.
    if (target.state === 'approved') {
      throw new AppError('state_conflict', { detail: `version ${version} of ${documentId} is already approved` });
    }
    const at = clock().toISOString();
    const current = sql.approvedVersion.get(documentId);
    if (current) {
      sql.setRetired.run({ documentId, version: current.version, actor, at });
      unpublish(documentId, current.version, ops);
    }
    sql.setApproved.run({ documentId, version, actor, at });
    publish(documentId, version, document.collection, ops);
    return {
      documentId,
      version,
      previousState: target.state,
      retiredVersion: current?.version ?? null,
      findings: JSON.parse(target.findings) as ScanFinding[],
      actor,
    };
  }

  async function ingestDocument(input: IngestInput): Promise<IngestResult> {
    requireEmbedder();
    const prepared = await prepareIngest(input, { embedder, chunking: options.chunking, maxBytes, newId: options.newId, screen: options.screen });
    const { documentId, contentType, drafts, findings, vectors } = prepared;
    const sha = prepared.sha256;

    return mutate((ops) => {
      const existing = sql.document.get(documentId);
      if (existing && existing.collection !== input.collection) {
        throw new AppError('state_conflict', {
          detail: `document ${documentId} belongs to collection ${existing.collection}; moving collections needs a new id`,
        });
      }
      const latest = existing ? sql.latestVersion.get(documentId) : undefined;
      if (existing && latest && latest.content_sha256 === sha) {
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
        state: findings.length > 0 ? 'quarantined' : 'draft',
        sha,
        contentType,
        bytes: prepared.bytes,
        text: prepared.text,
        actor: input.actor,
        at,
        chunking: JSON.stringify(options.chunking),
        embedder: embedderJson,
        findings: JSON.stringify(findings),
      });
      drafts.forEach((draft, i) => {
        sql.insertChunk.run({
          documentId,
          version,
          ordinal: draft.ordinal,
          chunkId: chunkId(documentId, draft.ordinal, draft.text),
          text: draft.text,
          embedding: toBlob(vectors[i] as Float32Array),
        });
      });
      sql.setMeta.run({ key: 'embedder', value: embedderJson });
      const approval = input.approve === true && findings.length === 0 ? approveInTransaction(documentId, version, input.actor, ops) : null;
      return {
        created: true,
        document: toDocument(requireDocument(documentId)),
        version: toVersion(requireVersion(documentId, version)),
        retiredVersion: approval?.retiredVersion ?? null,
      };
    });
  }

  async function search(request: SearchRequest, mode: SearchMode = 'hybrid'): Promise<RetrievedChunk[]> {
    requireEmbedder();
    const collections = [...new Set(request.collections)];
    if (collections.length === 0 || request.k <= 0) return [];
    const [queryVector] = await embedder.embed([request.query]);
    if (!queryVector) return [];
    // Everything below is synchronous: one consistent view of the approved set.
    syncIndex();
    const depth = Math.max(request.k * 4, CANDIDATES_PER_LIST);
    const dense = mode === 'lexical' ? [] : index.search(queryVector, collections, depth);
    const terms = mode === 'dense' ? [] : queryTerms(request.query);
    const allowed = new Set(collections);
    const lexicalCandidates = lexical.top(
      terms.map(({ term }) => term),
      depth,
      allowed,
    );
    const denseSimilarity = new Map(dense.map((h) => [h.rowid, h.similarity]));
    const rows: (ChunkRow & { collection: string; title: string })[] = [];
    for (const rowid of new Set([...denseSimilarity.keys(), ...lexicalCandidates.map((h) => h.rowid)])) {
      // A rowid of unknown collection is never a candidate (fail closed); `hit` re-checks state and collection in SQL.
      const collection = lexical.collectionOf(rowid);
      if (collection === undefined || !allowed.has(collection)) continue;
      const row = sql.hit.get({ rowid, collection });
      if (row) rows.push(row);
    }
    const lexicalScorer = createLexicalScorer(terms, lexical.stats);
    const weight = mode === 'dense' ? 1 : mode === 'lexical' ? 0 : denseWeight;
    // Cosine from the vectors the index holds: a lexical candidate the dense list missed is scored there too.
    const cosineOf = (rowid: number): number => denseSimilarity.get(rowid) ?? index.similarity(queryVector, rowid) ?? 0;
    // Two numbers per candidate: the absolute score a hit reports and the floor compares (fusedScore), and the rank
    // (hybridRankScore: uncapped BM25 re-ranked by cosine and term proximity; pure BM25 or cosine in a single mode).
    const scored = rows
      .map((row) => {
        const cosine = weight > 0 ? cosineOf(row.rowid) : 0;
        const evidence = weight < 1 ? lexicalScorer.evidence(row.text) : null;
        const score = fusedScore(cosine, evidence?.score ?? 0, weight);
        const rank = evidence === null ? score : weight === 0 ? evidence.bm25 : hybridRankScore(cosine, evidence.bm25, evidence.proximity);
        return { row, score, rank };
      })
      .sort((a, b) => b.rank - a.rank || b.score - a.score || a.row.rowid - b.row.rowid);
    const results: RetrievedChunk[] = [];
    for (const { row, score } of scored) {
      if (score < request.minScore) continue;
      results.push({
        chunkId: row.chunk_id,
        documentId: row.document_id,
        documentVersion: row.version,
        collection: row.collection,
        title: row.title,
        text: row.text,
        score,
      });
      if (results.length === request.k) break;
    }
    return results;
  }

  return {
    ingestDocument,
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
    diffVersions: async (documentId, from, to) => {
      requireVersion(documentId, from);
      requireVersion(documentId, to);
      const diff = unifiedDiff(sql.versionText.get(documentId, from) ?? '', sql.versionText.get(documentId, to) ?? '', {
        from: `${documentId}@${from}`,
        to: `${documentId}@${to}`,
      });
      return { documentId, from, to, diff };
    },
    approve: async (documentId, version, actor) =>
      mutate((ops) => approveInTransaction(documentId, version ?? requireDocument(documentId).latest_version ?? 0, actor, ops)),
    retire: async (documentId, actor) =>
      mutate((ops) => {
        requireDocument(documentId);
        const current = sql.approvedVersion.get(documentId);
        if (!current) throw new AppError('state_conflict', { detail: `document ${documentId} has no approved version` });
        sql.setRetired.run({ documentId, version: current.version, actor, at: clock().toISOString() });
        unpublish(documentId, current.version, ops);
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
    async reindex(actor) {
      const rows = sql.allChunkTexts.all();
      const vectors: Float32Array[] = [];
      for (let i = 0; i < rows.length; i += 256) vectors.push(...(await embedder.embed(rows.slice(i, i + 256).map((r) => r.text))));
      db.transaction(() => {
        rows.forEach((row, i) => sql.setEmbedding.run({ rowid: row.rowid, embedding: toBlob(vectors[i] as Float32Array) }));
        sql.setVersionsEmbedder.run(embedderJson);
        sql.setMeta.run({ key: 'embedder', value: embedderJson });
        sql.bumpGeneration.run();
      })();
      syncIndex();
      return { chunks: rows.length, embedder: embedder.name, dimension: embedder.dimension, actor };
    },
    retriever: { search: (request) => search(request) },
    retrieverFor: (mode) => ({ search: (request) => search(request, mode) }),
    indexStatus: () => ({ indexedGeneration, knownGeneration: generation() }),
    catchUp: async () => {
      if (embedderMismatch() === null) syncIndex();
    },
    // The file and its connection belong to the store, which closes them.
    close: async () => undefined,
  };
}
