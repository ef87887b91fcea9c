// Addressable task results in PostgreSQL: what GET /v1/results/{request_id} reads, replaced once a review is decided.
import { iso, isoRequired, type Queryable } from './db.js';
import type { ResultStore, StoredResponse, TaskResultRecord, TaskResultState } from '../types.js';

interface ResultRow {
  key_id: string;
  request_id: string;
  task: string;
  created_at: Date;
  updated_at: Date;
  state: TaskResultState;
  review_id: string | null;
  idempotency_scope: string | null;
  context: Record<string, unknown>;
  response: StoredResponse;
  expires_at: Date | null;
}

const toRecord = (row: ResultRow): TaskResultRecord => ({
  requestId: row.request_id,
  keyId: row.key_id,
  task: row.task,
  createdAt: isoRequired(row.created_at),
  updatedAt: isoRequired(row.updated_at),
  state: row.state,
  reviewId: row.review_id,
  idempotencyScope: row.idempotency_scope,
  context: row.context,
  response: row.response,
  expiresAt: iso(row.expires_at),
});

/** Runs inside recordOutcome's transaction; a caller reusing an X-Request-Id under one key keeps the newest result. */
export async function insertResult(db: Queryable, record: TaskResultRecord): Promise<void> {
  await db.query(
    `INSERT INTO task_results (key_id, request_id, task, created_at, updated_at, state, review_id, idempotency_scope, context, response, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (key_id, request_id) DO UPDATE SET task = excluded.task, created_at = excluded.created_at, updated_at = excluded.updated_at,
       state = excluded.state, review_id = excluded.review_id, idempotency_scope = excluded.idempotency_scope, context = excluded.context,
       response = excluded.response, expires_at = excluded.expires_at`,
    [record.keyId, record.requestId, record.task, record.createdAt, record.updatedAt, record.state, record.reviewId, record.idempotencyScope,
      JSON.stringify(record.context), JSON.stringify(record.response), record.expiresAt],
  );
}

/** Replaces a pending review's result with the decided one; returns the idempotency scope that replays it. */
export async function decideResult(db: Queryable, reviewId: string, response: StoredResponse, at: string, expiresAt: string): Promise<string | null | undefined> {
  const { rows } = await db.query<{ idempotency_scope: string | null }>(
    `UPDATE task_results SET state = 'done', response = $2, updated_at = $3, expires_at = $4
     WHERE review_id = $1 AND state = 'pending_review' RETURNING idempotency_scope`,
    [reviewId, JSON.stringify(response), at, expiresAt],
  );
  return rows[0]?.idempotency_scope;
}

export function createPostgresResultStore(db: Queryable): ResultStore {
  return {
    async find(requestId, keyId) {
      const { rows } = await db.query<ResultRow>(
        'SELECT * FROM task_results WHERE request_id = $1 AND ($2::text IS NULL OR key_id = $2) ORDER BY updated_at DESC LIMIT 1',
        [requestId, keyId ?? null],
      );
      return rows[0] === undefined ? undefined : toRecord(rows[0]);
    },
    async findByReview(reviewId) {
      const { rows } = await db.query<ResultRow>('SELECT * FROM task_results WHERE review_id = $1', [reviewId]);
      return rows[0] === undefined ? undefined : toRecord(rows[0]);
    },
  };
}
