// The governed corpus on PostgreSQL: the same documents, immutable versions, state machine and provenance as the
// embedded store, full-text search on tsvector/GIN, and dense search on this process's replica of the vector index.
import { AppError } from '../../errors.js';
import type { ContentType, CorpusDocument, CorpusVersion, VersionState } from '../../contracts/corpus.js';
import { chunkId } from '../../retrieval/chunking.js';
import { tokenize } from '../../retrieval/embedders/hashing.js';
import { unifiedDiff } from '../../retrieval/line-diff.js';
import type { RetrievedChunk, ScanFinding, SearchRequest } from '../../retrieval/types.js';
import { REINDEX_COMMAND, containsPattern, type ApproveResult, type CorpusOptions, type CorpusStore, type IngestInput, type IngestResult, type SearchMode } from '../corpus.js';
import { DEFAULT_MAX_DOCUMENT_BYTES, bytesToVector, cosine, prepareIngest, vectorToBytes } from '../corpus-common.js';
import { inTransaction, iso, isoRequired, type PgClient, type PgPool, type Queryable } from './db.js';
import { CORPUS_CHANNEL, openIndexReplica, readGeneration } from './corpus-replica.js';

export interface PostgresCorpusOptions extends CorpusOptions {
  readonly pool: PgPool;
  /** Where the replica LISTENs for approvals made by other processes; omitted, it catches up only on search. */
  readonly listenUrl?: string;
  readonly onReplicaError?: (error: unknown) => void;
}

interface DocumentRow {
  id: string;
  collection: string;
  source: string;
  owner: string;
  title: string;
  created_at: Date;
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
  ingested_at: Date;
  approved_by: string | null;
  approved_at: Date | null;
  retired_by: string | null;
  retired_at: Date | null;
  chunking: CorpusVersion['chunking'];
  embedder: CorpusVersion['embedder'];
  findings: CorpusVersion['findings'];
  chunk_count: number;
}

interface HitRow {
  id: number;
  chunk_id: string;
  document_id: string;
  version: number;
  collection: string;
  title: string;
  text: string;
  embedding: Buffer;
}

/** A change to what is retrievable, recorded with the generation so replicas can apply it. */
interface CorpusEvent {
  readonly op: 'publish' | 'unpublish' | 'reload';
  readonly documentId?: string;
  readonly version?: number;
}

const CANDIDATES_PER_LIST = 50;
const DEFAULT_DENSE_WEIGHT = 0.4;
// Events older than this many generations are trimmed; a replica further behind reloads instead of replaying.
const EVENT_RETENTION = 10_000;

const DOCUMENT_SELECT = `
  SELECT d.id, d.collection, d.source, d.owner, d.title, d.created_at,
    (SELECT max(version) FROM corpus_versions v WHERE v.document_id = d.id) AS latest_version,
    (SELECT version FROM corpus_versions v WHERE v.document_id = d.id AND v.state = 'approved') AS approved_version,
    (SELECT state FROM corpus_versions v WHERE v.document_id = d.id ORDER BY version DESC LIMIT 1) AS latest_state
  FROM corpus_documents d`;
const VERSION_SELECT = `
  SELECT v.document_id, v.version, v.state, v.content_sha256, v.content_type, v.bytes, v.ingested_by, v.ingested_at,
    v.approved_by, v.approved_at, v.retired_by, v.retired_at, v.chunking, v.embedder, v.findings,
    (SELECT count(*)::int FROM corpus_chunks c WHERE c.document_id = v.document_id AND c.version = v.version) AS chunk_count
  FROM corpus_versions v`;

// Lexical relevance in [0, 1] as the share of the query's content terms a chunk holds (absolute, like the fused score
// needs), ranked by it and then by cover density. Each term becomes a tsquery by plainto_tsquery, so no user text is
// ever parsed as tsquery syntax.
const LEXICAL_SQL = `
  WITH terms AS (
    SELECT DISTINCT plainto_tsquery('english', t) AS query FROM unnest($1::text[]) AS t
  ), usable AS (
    SELECT query FROM terms WHERE query::text <> ''
  ), q AS (
    SELECT string_agg(query::text, ' | ')::tsquery AS any_term, count(*) AS n FROM usable
  )
  SELECT c.id, (SELECT count(*) FROM usable u WHERE c.tsv @@ u.query)::float8 / q.n AS coverage
  FROM corpus_chunks c, q
  WHERE q.n > 0 AND c.retrievable AND c.collection = ANY($2::text[]) AND c.tsv @@ q.any_term
  ORDER BY coverage DESC, ts_rank_cd(c.tsv, q.any_term) DESC, c.id
  LIMIT $3`;

const toDocument = (row: DocumentRow): CorpusDocument => ({
  id: row.id,
  collection: row.collection,
  source: row.source,
  owner: row.owner,
  title: row.title,
  createdAt: isoRequired(row.created_at),
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
  ingestedAt: isoRequired(row.ingested_at),
  approvedBy: row.approved_by,
  approvedAt: iso(row.approved_at),
  retiredBy: row.retired_by,
  retiredAt: iso(row.retired_at),
  chunking: row.chunking,
  embedder: row.embedder,
  findings: row.findings,
  chunkCount: row.chunk_count,
});

const queryTokens = (query: string): string[] => [...new Set(tokenize(query).filter((t) => t.length > 1))].slice(0, 32);

export async function openPostgresCorpus(options: PostgresCorpusOptions): Promise<CorpusStore> {
  const { pool, embedder, clock } = options;
  const maxBytes = options.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
  const denseWeight = options.denseWeight ?? DEFAULT_DENSE_WEIGHT;
  const embedderJson = JSON.stringify({ name: embedder.name, dimension: embedder.dimension });
  const replica = await openIndexReplica({
    pool,
    dimension: embedder.dimension,
    ...(options.listenUrl === undefined ? {} : { listenUrl: options.listenUrl }),
    ...(options.index === undefined ? {} : { index: options.index }),
    ...(options.onReplicaError === undefined ? {} : { onError: options.onReplicaError }),
  });

  async function embedderMismatch(db: Queryable): Promise<string | null> {
    const { rows } = await db.query<{ stored: string | null; chunks: boolean }>(
      "SELECT (SELECT value FROM corpus_meta WHERE key = 'embedder') AS stored, EXISTS (SELECT 1 FROM corpus_chunks) AS chunks",
    );
    const stored = rows[0]?.stored ?? null;
    if (stored === null || stored === embedderJson || rows[0]?.chunks !== true) return null;
    return `corpus was embedded with ${stored} but the configured embedder is ${embedderJson}; run \`${REINDEX_COMMAND}\``;
  }

  // The embedder only changes with a reindex, which bumps the generation: checking once per generation is enough.
  let embedderCheckedAt = -1;
  async function requireEmbedder(db: Queryable, generation?: number): Promise<void> {
    if (generation !== undefined && generation === embedderCheckedAt) return;
    const mismatch = await embedderMismatch(db);
    if (mismatch !== null) throw new AppError('not_ready', { detail: mismatch, extensions: { reindex_command: REINDEX_COMMAND } });
    if (generation !== undefined) embedderCheckedAt = generation;
  }

  async function findDocument(db: Queryable, documentId: string): Promise<DocumentRow | undefined> {
    return (await db.query<DocumentRow>(`${DOCUMENT_SELECT} WHERE d.id = $1`, [documentId])).rows[0];
  }

  async function requireDocument(db: Queryable, documentId: string): Promise<DocumentRow> {
    const row = await findDocument(db, documentId);
    if (!row) throw new AppError('not_found', { detail: `document ${documentId} not found` });
    return row;
  }

  async function requireVersion(db: Queryable, documentId: string, version: number): Promise<VersionRow> {
    const row = (await db.query<VersionRow>(`${VERSION_SELECT} WHERE v.document_id = $1 AND v.version = $2`, [documentId, version])).rows[0];
    if (!row) throw new AppError('not_found', { detail: `document ${documentId} has no version ${version}` });
    return row;
  }

  async function approvedVersion(db: Queryable, documentId: string): Promise<number | undefined> {
    const { rows } = await db.query<{ version: number }>("SELECT version FROM corpus_versions WHERE document_id = $1 AND state = 'approved'", [documentId]);
    return rows[0]?.version;
  }

  /**
   * Runs a corpus write in one transaction holding the generation row's lock (so writers are serialised and
   * generations commit in order). When it changed what is retrievable, the generation is bumped, the change recorded
   * as events and announced with NOTIFY, all in that transaction; this process's replica catches up before returning.
   */
  async function mutate<T>(body: (client: PgClient, events: CorpusEvent[]) => Promise<T>): Promise<T> {
    const events: CorpusEvent[] = [];
    let committed: number | undefined;
    const result = await inTransaction(pool, async (client) => {
      const { rows } = await client.query<{ generation: number }>('SELECT generation FROM corpus_generation FOR UPDATE');
      const current = rows[0]?.generation ?? 0;
      await requireEmbedder(client);
      const value = await body(client, events);
      if (events.length > 0) {
        const next = current + 1;
        await client.query('UPDATE corpus_generation SET generation = $1', [next]);
        await client.query(
          'INSERT INTO corpus_events (generation, op, document_id, version) SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int[])',
          [next, events.map((e) => e.op), events.map((e) => e.documentId ?? null), events.map((e) => e.version ?? null)],
        );
        await client.query('DELETE FROM corpus_events WHERE generation <= $1', [next - EVENT_RETENTION]);
        await client.query('SELECT pg_notify($1, $2)', [CORPUS_CHANNEL, String(next)]);
        committed = next;
      }
      return value;
    });
    if (committed !== undefined) await replica.atLeast(committed);
    return result;
  }

  async function publish(client: PgClient, documentId: string, version: number, events: CorpusEvent[]): Promise<void> {
    await client.query('UPDATE corpus_chunks SET retrievable = true WHERE document_id = $1 AND version = $2', [documentId, version]);
    events.push({ op: 'publish', documentId, version });
  }

  async function unpublish(client: PgClient, documentId: string, version: number, events: CorpusEvent[]): Promise<void> {
    await client.query('UPDATE corpus_chunks SET retrievable = false WHERE document_id = $1 AND version = $2', [documentId, version]);
    events.push({ op: 'unpublish', documentId, version });
  }

  async function retireVersion(client: PgClient, documentId: string, version: number, actor: string, events: CorpusEvent[]): Promise<void> {
    await client.query("UPDATE corpus_versions SET state = 'retired', retired_by = $3, retired_at = $4 WHERE document_id = $1 AND version = $2", [
      documentId,
      version,
      actor,
      clock(),
    ]);
    await unpublish(client, documentId, version, events);
  }

  async function approveInTransaction(client: PgClient, documentId: string, version: number, actor: string, events: CorpusEvent[]): Promise<ApproveResult> {
    await requireDocument(client, documentId);
    const target = await requireVersion(client, documentId, version);
    // retired → approved is the rollback path (LLM04-1); approved stays approved only once.
    if (target.state === 'approved') {
      throw new AppError('state_conflict', { detail: `version ${version} of ${documentId} is already approved` });
    }
    const current = await approvedVersion(client, documentId);
    if (current !== undefined) await retireVersion(client, documentId, current, actor, events);
    await client.query(
      "UPDATE corpus_versions SET state = 'approved', approved_by = $3, approved_at = $4, retired_by = NULL, retired_at = NULL WHERE document_id = $1 AND version = $2",
      [documentId, version, actor, clock()],
    );
    await publish(client, documentId, version, events);
    return { documentId, version, previousState: target.state, retiredVersion: current ?? null, findings: target.findings as ScanFinding[], actor };
  }

  async function ingestDocument(input: IngestInput): Promise<IngestResult> {
    await requireEmbedder(pool);
    const prepared = await prepareIngest(input, { embedder, chunking: options.chunking, maxBytes, newId: options.newId, screen: options.screen });
    const { documentId } = prepared;
    return mutate(async (client, events) => {
      const existing = await findDocument(client, documentId);
      if (existing && existing.collection !== input.collection) {
        throw new AppError('state_conflict', {
          detail: `document ${documentId} belongs to collection ${existing.collection}; moving collections needs a new id`,
        });
      }
      if (existing && existing.latest_version !== null) {
        const latest = await requireVersion(client, documentId, existing.latest_version);
        if (latest.content_sha256 === prepared.sha256) return { created: false, document: toDocument(existing), version: toVersion(latest), retiredVersion: null };
      }
      const at = clock();
      if (existing) {
        await client.query('UPDATE corpus_documents SET source = $2, owner = $3, title = $4 WHERE id = $1', [documentId, input.source, input.owner, input.title]);
      } else {
        await client.query(
          'INSERT INTO corpus_documents (id, collection, source, owner, title, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)',
          [documentId, input.collection, input.source, input.owner, input.title, at, input.actor],
        );
      }
      const taken = await client.query<{ version: number }>(
        'UPDATE corpus_documents SET next_version = next_version + 1 WHERE id = $1 RETURNING next_version - 1 AS version',
        [documentId],
      );
      const version = taken.rows[0]?.version ?? 1;
      await client.query(
        `INSERT INTO corpus_versions (document_id, version, state, content_sha256, content_type, bytes, text, ingested_by, ingested_at, chunking, embedder, findings)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [
          documentId,
          version,
          prepared.findings.length > 0 ? 'quarantined' : 'draft',
          prepared.sha256,
          prepared.contentType,
          prepared.bytes,
          prepared.text,
          input.actor,
          at,
          JSON.stringify(options.chunking),
          embedderJson,
          JSON.stringify(prepared.findings),
        ],
      );
      await client.query(
        `INSERT INTO corpus_chunks (document_id, version, ordinal, chunk_id, collection, text, embedding)
         SELECT $1, $2, * FROM unnest($3::int[], $4::text[], $5::text[], $6::text[], $7::bytea[])`,
        [
          documentId,
          version,
          prepared.drafts.map((d) => d.ordinal),
          prepared.drafts.map((d) => chunkId(documentId, d.ordinal, d.text)),
          prepared.drafts.map(() => input.collection),
          prepared.drafts.map((d) => d.text),
          prepared.vectors.map((v) => vectorToBytes(v)),
        ],
      );
      await client.query(
        "INSERT INTO corpus_meta (key, value) VALUES ('embedder', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [embedderJson],
      );
      const approval = input.approve === true && prepared.findings.length === 0 ? await approveInTransaction(client, documentId, version, input.actor, events) : null;
      return {
        created: true,
        document: toDocument(await requireDocument(client, documentId)),
        version: toVersion(await requireVersion(client, documentId, version)),
        retiredVersion: approval?.retiredVersion ?? null,
      };
    });
  }

  async function search(request: SearchRequest, mode: SearchMode = 'hybrid'): Promise<RetrievedChunk[]> {
    const collections = [...new Set(request.collections)];
    if (collections.length === 0 || request.k <= 0) return [];
    const depth = Math.max(request.k * 4, CANDIDATES_PER_LIST);
    const tokens = queryTokens(request.query);
    // The committed generation is read on every query: whatever approval or retirement committed before this search
    // began, on any process, is in the index it searches.
    const [vectors, generation, lexical] = await Promise.all([
      embedder.embed([request.query]),
      readGeneration(pool),
      mode === 'dense' || tokens.length === 0
        ? Promise.resolve([])
        : pool.query<{ id: number; coverage: number }>(LEXICAL_SQL, [tokens, collections, depth]).then((result) => result.rows),
    ]);
    const queryVector = vectors[0];
    if (!queryVector) return [];
    await requireEmbedder(pool, generation);
    const index = await replica.atLeast(generation);
    const dense = mode === 'lexical' ? [] : index.search(queryVector, collections, depth);
    const candidates = [...new Set([...dense.map((h) => h.rowid), ...lexical.map((h) => h.id)])];
    if (candidates.length === 0) return [];
    // Defence in depth: one statement, one snapshot, re-checks state and collection while reading the text, so a hit
    // retired since the index was read is dropped and no two versions of one document can both come back.
    const { rows } = await pool.query<HitRow>(
      `SELECT c.id, c.chunk_id, c.document_id, c.version, c.collection, d.title, c.text, c.embedding
       FROM corpus_chunks c
       JOIN corpus_versions v ON v.document_id = c.document_id AND v.version = c.version AND v.state = 'approved'
       JOIN corpus_documents d ON d.id = c.document_id
       WHERE c.id = ANY($1::bigint[]) AND c.collection = ANY($2::text[])`,
      [candidates, collections],
    );
    const coverage = new Map(lexical.map((hit) => [hit.id, hit.coverage]));
    const dw = mode === 'dense' ? 1 : mode === 'lexical' ? 0 : denseWeight;
    return rows
      .map((row) => ({
        row,
        score: Math.min(1, Math.max(0, dw * Math.max(0, cosine(queryVector, bytesToVector(row.embedding))) + (1 - dw) * (coverage.get(row.id) ?? 0))),
      }))
      .filter((hit) => hit.score >= request.minScore)
      .sort((a, b) => b.score - a.score || a.row.id - b.row.id)
      .slice(0, request.k)
      .map(({ row, score }) => ({
        chunkId: row.chunk_id,
        documentId: row.document_id,
        documentVersion: row.version,
        collection: row.collection,
        title: row.title,
        text: row.text,
        score,
      }));
  }

  return {
    ingestDocument,
    async listDocuments(filter = {}) {
      const { rows } = await pool.query<DocumentRow>(`${DOCUMENT_SELECT} WHERE $1::text IS NULL OR d.collection = $1 ORDER BY d.collection, d.id`, [
        filter.collection ?? null,
      ]);
      return rows.map(toDocument);
    },
    async pageDocuments(query) {
      const { rows } = await pool.query<DocumentRow>(
        `${DOCUMENT_SELECT}
         WHERE ($1::text IS NULL OR d.collection = $1)
           AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM corpus_versions s WHERE s.document_id = d.id AND s.state = $2))
           AND ($3::text IS NULL OR d.id ILIKE $3 ESCAPE '\\' OR d.title ILIKE $3 ESCAPE '\\')
           AND ($4::text IS NULL OR d.id COLLATE "C" > $4)
         ORDER BY d.id COLLATE "C" LIMIT $5`,
        [query.collection ?? null, query.state ?? null, query.q === undefined ? null : containsPattern(query.q), query.afterId ?? null, query.limit + 1],
      );
      return { documents: rows.slice(0, query.limit).map(toDocument), more: rows.length > query.limit };
    },
    getDocument: async (documentId) => toDocument(await requireDocument(pool, documentId)),
    async listVersions(documentId) {
      await requireDocument(pool, documentId);
      return (await pool.query<VersionRow>(`${VERSION_SELECT} WHERE v.document_id = $1 ORDER BY v.version`, [documentId])).rows.map(toVersion);
    },
    async getChunks(documentId, version) {
      await requireVersion(pool, documentId, version);
      const { rows } = await pool.query<{ chunk_id: string; document_id: string; version: number; ordinal: number; text: string }>(
        'SELECT chunk_id, document_id, version, ordinal, text FROM corpus_chunks WHERE document_id = $1 AND version = $2 ORDER BY ordinal',
        [documentId, version],
      );
      return rows.map((row) => ({ chunkId: row.chunk_id, documentId: row.document_id, version: row.version, ordinal: row.ordinal, text: row.text }));
    },
    async diffVersions(documentId, from, to) {
      await requireVersion(pool, documentId, from);
      await requireVersion(pool, documentId, to);
      const { rows } = await pool.query<{ version: number; text: string }>(
        'SELECT version, text FROM corpus_versions WHERE document_id = $1 AND version = ANY($2::int[])',
        [documentId, [from, to]],
      );
      const text = (v: number): string => rows.find((row) => row.version === v)?.text ?? '';
      return { documentId, from, to, diff: unifiedDiff(text(from), text(to), { from: `${documentId}@${from}`, to: `${documentId}@${to}` }) };
    },
    approve: (documentId, version, actor) =>
      mutate(async (client, events) => {
        const target = version ?? (await requireDocument(client, documentId)).latest_version ?? 0;
        return approveInTransaction(client, documentId, target, actor, events);
      }),
    retire: (documentId, actor) =>
      mutate(async (client, events) => {
        await requireDocument(client, documentId);
        const current = await approvedVersion(client, documentId);
        if (current === undefined) throw new AppError('state_conflict', { detail: `document ${documentId} has no approved version` });
        await retireVersion(client, documentId, current, actor, events);
        return { documentId, version: current, previousState: 'approved' as const, actor };
      }),
    deleteDraft: (documentId, version, actor) =>
      mutate(async (client) => {
        const target = await requireVersion(client, documentId, version);
        if (target.state !== 'draft' && target.state !== 'quarantined') {
          throw new AppError('state_conflict', { detail: `version ${version} of ${documentId} is ${target.state}; only unapproved versions can be deleted` });
        }
        await client.query('DELETE FROM corpus_versions WHERE document_id = $1 AND version = $2', [documentId, version]);
        await client.query('DELETE FROM corpus_documents WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM corpus_versions WHERE document_id = $1)', [documentId]);
        return { documentId, version, previousState: target.state, actor };
      }),
    async stats() {
      const { rows } = await pool.query<{ documents: number; chunks: number; approved_chunks: number; generation: number; states: Record<string, number> | null }>(
        `SELECT (SELECT count(*)::int FROM corpus_documents) AS documents,
                (SELECT count(*)::int FROM corpus_chunks) AS chunks,
                (SELECT count(*)::int FROM corpus_chunks WHERE retrievable) AS approved_chunks,
                (SELECT generation FROM corpus_generation) AS generation,
                (SELECT json_object_agg(state, n) FROM (SELECT state, count(*)::int AS n FROM corpus_versions GROUP BY state) s) AS states`,
      );
      const row = rows[0];
      const states = row?.states ?? {};
      return {
        documents: row?.documents ?? 0,
        chunks: row?.chunks ?? 0,
        approvedChunks: row?.approved_chunks ?? 0,
        versionsByState: { draft: states['draft'] ?? 0, approved: states['approved'] ?? 0, quarantined: states['quarantined'] ?? 0, retired: states['retired'] ?? 0 },
        generation: row?.generation ?? 0,
      };
    },
    async reindex(actor) {
      const { rows } = await pool.query<{ id: number; text: string }>('SELECT id, text FROM corpus_chunks ORDER BY id');
      const vectors: Float32Array[] = [];
      for (let i = 0; i < rows.length; i += 256) vectors.push(...(await embedder.embed(rows.slice(i, i + 256).map((r) => r.text))));
      // Not through mutate(): the embedder check there is exactly what a reindex exists to repair.
      const next = await inTransaction(pool, async (client) => {
        const { rows: gen } = await client.query<{ generation: number }>('SELECT generation FROM corpus_generation FOR UPDATE');
        const generation = (gen[0]?.generation ?? 0) + 1;
        await client.query('UPDATE corpus_chunks c SET embedding = u.embedding FROM unnest($1::bigint[], $2::bytea[]) AS u(id, embedding) WHERE c.id = u.id', [
          rows.map((r) => r.id),
          vectors.map((v) => vectorToBytes(v)),
        ]);
        await client.query('UPDATE corpus_versions SET embedder = $1', [embedderJson]);
        await client.query("INSERT INTO corpus_meta (key, value) VALUES ('embedder', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [embedderJson]);
        await client.query('UPDATE corpus_generation SET generation = $1', [generation]);
        await client.query("INSERT INTO corpus_events (generation, op) VALUES ($1, 'reload')", [generation]);
        await client.query('SELECT pg_notify($1, $2)', [CORPUS_CHANNEL, String(generation)]);
        return generation;
      });
      embedderCheckedAt = -1;
      await replica.atLeast(next);
      return { chunks: rows.length, embedder: embedder.name, dimension: embedder.dimension, actor };
    },
    retriever: { search: (request) => search(request) },
    retrieverFor: (mode) => ({ search: (request) => search(request, mode) }),
    indexStatus: () => replica.status(),
    async catchUp() {
      const generation = await readGeneration(pool);
      if ((await embedderMismatch(pool)) === null) await replica.atLeast(generation);
    },
    close: () => replica.close(),
  };
}
