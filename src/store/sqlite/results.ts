// Addressable task results in SQLite: what GET /v1/results/{request_id} reads, replaced once a review is decided.
import type { SqliteDatabase } from './db.js';
import type { ResultStore, StoredResponse, TaskResultRecord, TaskResultState } from '../types.js';

interface ResultRow {
  key_id: string;
  request_id: string;
  task: string;
  created_at: string;
  updated_at: string;
  state: TaskResultState;
  review_id: string | null;
  idempotency_scope: string | null;
  context: string;
  response: string;
  expires_at: string | null;
}

const toRecord = (row: ResultRow): TaskResultRecord => ({
  requestId: row.request_id,
  keyId: row.key_id,
  task: row.task,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  state: row.state,
  reviewId: row.review_id,
  idempotencyScope: row.idempotency_scope,
  context: JSON.parse(row.context) as Record<string, unknown>,
  response: JSON.parse(row.response) as StoredResponse,
  expiresAt: row.expires_at,
});

export function createSqliteResultStore(db: SqliteDatabase): ResultStore & {
  insertSync(record: TaskResultRecord): void;
  /** Replaces a pending review's result with the decided one; returns the idempotency scope that replays it. */
  decideSync(reviewId: string, response: StoredResponse, at: string, expiresAt: string): string | null | undefined;
} {
  // A caller may reuse an X-Request-Id; its newest result under the same key is the one to address.
  const insert = db.prepare(`INSERT INTO task_results (key_id, request_id, task, created_at, updated_at, state, review_id, idempotency_scope, context, response, expires_at)
    VALUES (@key_id, @request_id, @task, @created_at, @updated_at, @state, @review_id, @idempotency_scope, @context, @response, @expires_at)
    ON CONFLICT (key_id, request_id) DO UPDATE SET task = excluded.task, created_at = excluded.created_at, updated_at = excluded.updated_at,
      state = excluded.state, review_id = excluded.review_id, idempotency_scope = excluded.idempotency_scope, context = excluded.context,
      response = excluded.response, expires_at = excluded.expires_at`);
  const newest = db.prepare<{ request_id: string; key_id: string | null }, ResultRow>(
    'SELECT * FROM task_results WHERE request_id = @request_id AND (@key_id IS NULL OR key_id = @key_id) ORDER BY updated_at DESC LIMIT 1',
  );
  const byReview = db.prepare<[string], ResultRow>('SELECT * FROM task_results WHERE review_id = ?');
  const decide = db.prepare<{ review_id: string; response: string; at: string; expires_at: string }, { idempotency_scope: string | null }>(
    `UPDATE task_results SET state = 'done', response = @response, updated_at = @at, expires_at = @expires_at
     WHERE review_id = @review_id AND state = 'pending_review' RETURNING idempotency_scope`,
  );

  return {
    insertSync(record) {
      insert.run({
        key_id: record.keyId,
        request_id: record.requestId,
        task: record.task,
        created_at: record.createdAt,
        updated_at: record.updatedAt,
        state: record.state,
        review_id: record.reviewId,
        idempotency_scope: record.idempotencyScope,
        context: JSON.stringify(record.context),
        response: JSON.stringify(record.response),
        expires_at: record.expiresAt,
      });
    },
    decideSync(reviewId, response, at, expiresAt) {
      return decide.get({ review_id: reviewId, response: JSON.stringify(response), at, expires_at: expiresAt })?.idempotency_scope;
    },
    async find(requestId, keyId) {
      const row = newest.get({ request_id: requestId, key_id: keyId ?? null });
      return row === undefined ? undefined : toRecord(row);
    },
    async findByReview(reviewId) {
      const row = byReview.get(reviewId);
      return row === undefined ? undefined : toRecord(row);
    },
  };
}
