// Review queue items in PostgreSQL: what a person must look at before a result is used.
import { iso, isoRequired, type Queryable } from './db.js';
import type { ReviewRecord, ReviewState, ReviewStore } from '../types.js';

interface ReviewRow {
  id: string;
  created_at: Date;
  request_id: string;
  key_id: string | null;
  task: string;
  state: ReviewState;
  reasons: string[];
  input: Record<string, unknown>;
  raw_output: string;
  chunk_ids: string[];
  resolved_at: Date | null;
  resolved_by: string | null;
  resolution: Record<string, unknown> | null;
}

const toRecord = (row: ReviewRow): ReviewRecord => ({
  id: row.id,
  createdAt: isoRequired(row.created_at),
  requestId: row.request_id,
  keyId: row.key_id,
  task: row.task,
  state: row.state,
  reasons: row.reasons,
  input: row.input,
  rawOutput: row.raw_output,
  chunkIds: row.chunk_ids,
  resolvedAt: iso(row.resolved_at),
  resolvedBy: row.resolved_by,
  resolution: row.resolution,
});

/** Runs inside recordOutcome's transaction. */
export async function insertReview(db: Queryable, record: ReviewRecord): Promise<void> {
  await db.query(
    `INSERT INTO reviews (id, created_at, request_id, key_id, task, state, reasons, input, raw_output, chunk_ids)
     VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $9)`,
    [record.id, record.createdAt, record.requestId, record.keyId, record.task, [...record.reasons], JSON.stringify(record.input), record.rawOutput, [...record.chunkIds]],
  );
}

/** Only an open item resolves, and only once: the WHERE makes a second reviewer's click a no-op. */
export async function resolveReview(db: Queryable, id: string, resolution: Parameters<ReviewStore['resolve']>[1]): Promise<ReviewRecord | undefined> {
  const { rows } = await db.query<ReviewRow>(
    `UPDATE reviews SET state = $2, resolved_at = $3, resolved_by = $4, resolution = $5 WHERE id = $1 AND state = 'open' RETURNING *`,
    [id, resolution.state, resolution.at, resolution.by, JSON.stringify(resolution.detail)],
  );
  return rows[0] === undefined ? undefined : toRecord(rows[0]);
}

export function createPostgresReviewStore(db: Queryable): ReviewStore {
  return {
    async get(id) {
      const { rows } = await db.query<ReviewRow>('SELECT * FROM reviews WHERE id = $1', [id]);
      return rows[0] === undefined ? undefined : toRecord(rows[0]);
    },
    async list(filter) {
      const { rows } = await db.query<ReviewRow>(
        `SELECT * FROM reviews WHERE ($1::text IS NULL OR state = $1)
           AND ($3::timestamptz IS NULL OR created_at < $3 OR (created_at = $3 AND id > $4))
         ORDER BY created_at DESC, id LIMIT $2`,
        [filter.state ?? null, filter.limit, filter.after?.createdAt ?? null, filter.after?.id ?? null],
      );
      return rows.map(toRecord);
    },
    async resolve(id, resolution) {
      return resolveReview(db, id, resolution);
    },
    async countOpen() {
      const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM reviews WHERE state = 'open'");
      return rows[0]?.n ?? 0;
    },
  };
}
