// The governed corpus rows on PostgreSQL: the same documents, immutable versions, state machine, provenance and change
// log as the embedded store. Writers serialise on the generation row, so generations commit in order; each NOTIFYs the
// generation it committed, which every process's engine follower hears (corpus/follower.ts). Nothing here ranks.
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
import { inTransaction, iso, isoRequired, type PgClient, type PgPool, type Queryable } from './db.js';
import { CORPUS_CHANNEL, listenForCommits } from './corpus-notify.js';

export interface PostgresCorpusRowsOptions extends CorpusRowsOptions {
  readonly pool: PgPool;
  /** Where to LISTEN for generations other processes commit; omitted, followers catch up only when they search. */
  readonly listenUrl?: string;
  /** Failures of the LISTEN connection (it reconnects by itself); requests report their own. */
  readonly onListenError?: (error: unknown) => void;
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


type ChangeKind = CorpusChange['kind'];

/** A change to what is retrievable, logged in the transaction that makes it. */
interface PendingChange {
  readonly kind: ChangeKind;
  readonly documentId?: string;
  readonly version?: number;
}

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


const CHUNK_COLUMNS = 'c.id AS rowid, c.chunk_id, c.document_id, c.version, c.collection, d.title, c.text, c.embedding';

async function readGeneration(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ generation: number }>('SELECT generation FROM corpus_generation');
  return rows[0]?.generation ?? 0;
}

export async function openPostgresCorpusRows(options: PostgresCorpusRowsOptions): Promise<CorpusRows> {
  const { pool, clock } = options;
  const embedderJson = embedderIdentity(options.embedder);
  const listeners: ((generation: number) => void)[] = [];
  const listener =
    options.listenUrl === undefined
      ? null
      : await listenForCommits(
          options.listenUrl,
          (generation) => listeners.forEach((notify) => notify(generation)),
          options.onListenError ?? (() => undefined),
          () => readGeneration(pool),
        );

  async function embedderMismatch(db: Queryable): Promise<string | null> {
    const { rows } = await db.query<{ stored: string | null; chunks: boolean }>(
      "SELECT (SELECT value FROM corpus_meta WHERE key = 'embedder') AS stored, EXISTS (SELECT 1 FROM corpus_chunks) AS chunks",
    );
    return embedderMismatchReason(rows[0]?.stored ?? null, embedderJson, rows[0]?.chunks === true ? 1 : 0);
  }

  async function requireEmbedder(db: Queryable): Promise<void> {
    const mismatch = await embedderMismatch(db);
    if (mismatch !== null) throw new AppError('not_ready', { detail: mismatch, extensions: { reindex_command: REINDEX_COMMAND } });
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

  /** Logs the changes under one new generation and announces it; called inside the transaction that made them. */
  async function logChanges(client: PgClient, current: number, changes: readonly PendingChange[]): Promise<void> {
    const next = current + 1;
    await client.query('UPDATE corpus_generation SET generation = $1', [next]);
    await client.query(
      'INSERT INTO corpus_changes (generation, kind, document_id, version) SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int[])',
      [next, changes.map((c) => c.kind), changes.map((c) => c.documentId ?? null), changes.map((c) => c.version ?? null)],
    );
    await client.query('DELETE FROM corpus_changes WHERE generation <= $1', [next - CHANGE_RETENTION_GENERATIONS]);
    await client.query('SELECT pg_notify($1, $2)', [CORPUS_CHANNEL, String(next)]);
  }

  /**
   * Runs a corpus write in one transaction holding the generation row's lock (so writers are serialised and
   * generations commit in order). When it changed what is retrievable, the change is logged under the next generation
   * and announced with NOTIFY, all in that transaction.
   */
  async function mutate<T>(body: (client: PgClient, changes: PendingChange[]) => Promise<T>): Promise<T> {
    return inTransaction(pool, async (client) => {
      const current = await lockGeneration(client);
      await requireEmbedder(client);
      const changes: PendingChange[] = [];
      const value = await body(client, changes);
      if (changes.length > 0) await logChanges(client, current, changes);
      return value;
    });
  }

  async function lockGeneration(client: PgClient): Promise<number> {
    const { rows } = await client.query<{ generation: number }>('SELECT generation FROM corpus_generation FOR UPDATE');
    return rows[0]?.generation ?? 0;
  }

  async function publish(client: PgClient, documentId: string, version: number, changes: PendingChange[]): Promise<void> {
    await client.query('UPDATE corpus_chunks SET retrievable = true WHERE document_id = $1 AND version = $2', [documentId, version]);
    changes.push({ kind: 'publish', documentId, version });
  }

  async function unpublish(client: PgClient, documentId: string, version: number, changes: PendingChange[]): Promise<void> {
    await client.query('UPDATE corpus_chunks SET retrievable = false WHERE document_id = $1 AND version = $2', [documentId, version]);
    changes.push({ kind: 'unpublish', documentId, version });
  }

  async function retireVersion(client: PgClient, documentId: string, version: number, actor: string, changes: PendingChange[]): Promise<void> {
    await client.query("UPDATE corpus_versions SET state = 'retired', retired_by = $3, retired_at = $4 WHERE document_id = $1 AND version = $2", [
      documentId,
      version,
      actor,
      clock(),
    ]);
    await unpublish(client, documentId, version, changes);
  }

  async function approveInTransaction(client: PgClient, documentId: string, version: number, actor: string, changes: PendingChange[]): Promise<ApproveResult> {
    await requireDocument(client, documentId);
    const target = await requireVersion(client, documentId, version);
    // retired → approved is the rollback path (LLM04-1); approved stays approved only once.
    if (target.state === 'approved') {
      throw new AppError('state_conflict', { detail: `version ${version} of ${documentId} is already approved` });
    }
    const current = await approvedVersion(client, documentId);
    if (current !== undefined) await retireVersion(client, documentId, current, actor, changes);
    await client.query(
      "UPDATE corpus_versions SET state = 'approved', approved_by = $3, approved_at = $4, retired_by = NULL, retired_at = NULL WHERE document_id = $1 AND version = $2",
      [documentId, version, actor, clock()],
    );
    await publish(client, documentId, version, changes);
    return { documentId, version, previousState: target.state, retiredVersion: current ?? null, findings: target.findings as ScanFinding[], actor };
  }

  async function writeVersion(input: NewVersion): Promise<IngestResult> {
    const { documentId } = input;
    return mutate(async (client, changes) => {
      const existing = await findDocument(client, documentId);
      if (existing && existing.collection !== input.collection) {
        throw new AppError('state_conflict', {
          detail: `document ${documentId} belongs to collection ${existing.collection}; moving collections needs a new id`,
        });
      }
      if (existing && existing.latest_version !== null) {
        const latest = await requireVersion(client, documentId, existing.latest_version);
        if (latest.content_sha256 === input.sha256) return { created: false, document: toDocument(existing), version: toVersion(latest), retiredVersion: null };
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
          input.findings.length > 0 ? 'quarantined' : 'draft',
          input.sha256,
          input.contentType,
          input.bytes,
          input.text,
          input.actor,
          at,
          JSON.stringify(input.chunking),
          embedderJson,
          JSON.stringify(input.findings),
        ],
      );
      await client.query(
        `INSERT INTO corpus_chunks (document_id, version, ordinal, chunk_id, collection, text, embedding)
         SELECT $1, $2, * FROM unnest($3::int[], $4::text[], $5::text[], $6::text[], $7::bytea[])`,
        [
          documentId,
          version,
          input.chunks.map((chunk) => chunk.ordinal),
          input.chunks.map((chunk) => chunk.chunkId),
          input.chunks.map(() => input.collection),
          input.chunks.map((chunk) => chunk.text),
          input.chunks.map((chunk) => vectorToBytes(chunk.embedding)),
        ],
      );
      await client.query(
        "INSERT INTO corpus_meta (key, value) VALUES ('embedder', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [embedderJson],
      );
      const approval = input.approve && input.findings.length === 0 ? await approveInTransaction(client, documentId, version, input.actor, changes) : null;
      return {
        created: true,
        document: toDocument(await requireDocument(client, documentId)),
        version: toVersion(await requireVersion(client, documentId, version)),
        retiredVersion: approval?.retiredVersion ?? null,
      };
    });
  }

  /** The log entries of (from, to], with the chunks each names, read by one statement (one snapshot). */
  async function readChanges(from: number, to: number): Promise<CorpusChange[]> {
    const { rows } = await pool.query<{ seq: number; generation: number; kind: ChangeKind } & (ApprovedChunkRow | { [K in keyof ApprovedChunkRow]: null })>(
      `SELECT ch.seq, ch.generation, ch.kind, c.id AS rowid, c.chunk_id, c.document_id, c.version, c.collection, d.title,
         CASE WHEN ch.kind = 'publish' THEN c.text END AS text, CASE WHEN ch.kind = 'publish' THEN c.embedding END AS embedding
       FROM corpus_changes ch
       LEFT JOIN corpus_chunks c ON c.document_id = ch.document_id AND c.version = ch.version
       LEFT JOIN corpus_documents d ON d.id = c.document_id
       WHERE ch.generation > $1 AND ch.generation <= $2 ORDER BY ch.seq, c.id`,
      [from, to],
    );
    const changes: CorpusChange[] = [];
    let seq = -1;
    for (const row of rows) {
      if (row.seq !== seq) {
        seq = row.seq;
        changes.push(row.kind === 'reload' ? { generation: row.generation, kind: 'reload' } : row.kind === 'publish' ? { generation: row.generation, kind: 'publish', chunks: [] } : { generation: row.generation, kind: 'unpublish', rowids: [] });
      }
      const change = changes[changes.length - 1];
      if (row.rowid === null || change === undefined) continue;
      if (change.kind === 'publish') (change.chunks as ApprovedChunk[]).push(toApprovedChunk(row));
      else if (change.kind === 'unpublish') (change.rowids as number[]).push(row.rowid);
    }
    return changes;
  }

  return {
    writeVersion,
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
    async versionText(documentId, version) {
      const { rows } = await pool.query<{ text: string }>('SELECT text FROM corpus_versions WHERE document_id = $1 AND version = $2', [documentId, version]);
      const row = rows[0];
      if (!row) throw new AppError('not_found', { detail: `document ${documentId} has no version ${version}` });
      return row.text;
    },
    approve: (documentId, version, actor) =>
      mutate(async (client, changes) => {
        const target = version ?? (await requireDocument(client, documentId)).latest_version ?? 0;
        return approveInTransaction(client, documentId, target, actor, changes);
      }),
    retire: (documentId, actor) =>
      mutate(async (client, changes) => {
        await requireDocument(client, documentId);
        const current = await approvedVersion(client, documentId);
        if (current === undefined) throw new AppError('state_conflict', { detail: `document ${documentId} has no approved version` });
        await retireVersion(client, documentId, current, actor, changes);
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
    embedderMismatch: () => embedderMismatch(pool),
    async chunkTexts() {
      const { rows } = await pool.query<{ id: number; text: string }>('SELECT id, text FROM corpus_chunks ORDER BY id');
      return rows.map((row) => ({ rowid: row.id, text: row.text }));
    },
    async replaceEmbeddings(rowids, vectors) {
      // Not through mutate(): the embedder check there is exactly what a reindex exists to repair.
      await inTransaction(pool, async (client) => {
        const current = await lockGeneration(client);
        await client.query('UPDATE corpus_chunks c SET embedding = u.embedding FROM unnest($1::bigint[], $2::bytea[]) AS u(id, embedding) WHERE c.id = u.id', [
          rowids,
          vectors.map((vector) => vectorToBytes(vector)),
        ]);
        await client.query('UPDATE corpus_versions SET embedder = $1', [embedderJson]);
        await client.query("INSERT INTO corpus_meta (key, value) VALUES ('embedder', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [embedderJson]);
        await logChanges(client, current, [{ kind: 'reload' }]);
      });
    },
    async loadApproved(afterRowid, limit) {
      const { rows } = await pool.query<ApprovedChunkRow>(
        `SELECT ${CHUNK_COLUMNS} FROM corpus_chunks c JOIN corpus_documents d ON d.id = c.document_id
         WHERE c.retrievable AND c.id > $1 ORDER BY c.id LIMIT $2`,
        [afterRowid, limit],
      );
      return rows.map(toApprovedChunk);
    },
    latestGeneration: () => readGeneration(pool),
    changesSince: (generation, generations) => readChanges(generation, generation + generations),
    onCommitted: (notify) => {
      listeners.push(notify);
    },
    close: async () => listener?.close(),
  };
}
