// Review queue items in SQLite: what a person must look at before a result is used.
import type { SqliteDatabase } from './db.js';
import type { ReviewRecord, ReviewState, ReviewStore } from '../types.js';

interface ReviewRow {
  id: string;
  created_at: string;
  request_id: string;
  key_id: string | null;
  task: string;
  state: ReviewState;
  reasons: string;
  input: string;
  raw_output: string;
  chunk_ids: string;
  resolved_at: string | null;
  resolved_by: string | null;
  resolution: string | null;
}

const toRecord = (row: ReviewRow): ReviewRecord => ({
  id: row.id,
  createdAt: row.created_at,
  requestId: row.request_id,
  keyId: row.key_id,
  task: row.task,
  state: row.state,
  reasons: JSON.parse(row.reasons) as string[],
  input: JSON.parse(row.input) as Record<string, unknown>,
  rawOutput: row.raw_output,
  chunkIds: JSON.parse(row.chunk_ids) as string[],
  resolvedAt: row.resolved_at,
  resolvedBy: row.resolved_by,
  resolution: row.resolution === null ? null : (JSON.parse(row.resolution) as Record<string, unknown>),
});

type Resolution = Parameters<ReviewStore['resolve']>[1];

export function createSqliteReviewStore(db: SqliteDatabase): ReviewStore & {
  insertSync(record: ReviewRecord): void;
  /** Resolves an open item inside the caller's transaction; undefined when it was not open. */
  resolveSync(id: string, resolution: Resolution): ReviewRecord | undefined;
} {
  const insert = db.prepare(`INSERT INTO reviews (id, created_at, request_id, key_id, task, state, reasons, input, raw_output, chunk_ids)
    VALUES (@id, @created_at, @request_id, @key_id, @task, 'open', @reasons, @input, @raw_output, @chunk_ids)`);
  const byId = db.prepare<[string], ReviewRow>('SELECT * FROM reviews WHERE id = ?');
  const list = db.prepare<{ state: string | null; limit: number; afterAt: string | null; afterId: string | null }, ReviewRow>(
    `SELECT * FROM reviews WHERE (@state IS NULL OR state = @state)
       AND (@afterAt IS NULL OR created_at < @afterAt OR (created_at = @afterAt AND id > @afterId))
     ORDER BY created_at DESC, id LIMIT @limit`,
  );
  const resolve = db.prepare(`UPDATE reviews SET state = @state, resolved_at = @at, resolved_by = @by, resolution = @resolution
    WHERE id = @id AND state = 'open'`);
  const countOpen = db.prepare("SELECT count(*) FROM reviews WHERE state = 'open'").pluck();
  const resolveSync = (id: string, resolution: Resolution): ReviewRecord | undefined => {
    const changed = resolve.run({
      id,
      state: resolution.state,
      at: resolution.at,
      by: resolution.by,
      resolution: JSON.stringify(resolution.detail),
    }).changes;
    if (changed === 0) return undefined;
    const row = byId.get(id);
    return row === undefined ? undefined : toRecord(row);
  };

  return {
    insertSync(record) {
      insert.run({
        id: record.id,
        created_at: record.createdAt,
        request_id: record.requestId,
        key_id: record.keyId,
        task: record.task,
        reasons: JSON.stringify(record.reasons),
        input: JSON.stringify(record.input),
        raw_output: record.rawOutput,
        chunk_ids: JSON.stringify(record.chunkIds),
      });
    },
    async get(id) {
      const row = byId.get(id);
      return row === undefined ? undefined : toRecord(row);
    },
    async list(filter) {
      return list.all({ state: filter.state ?? null, limit: filter.limit, afterAt: filter.after?.createdAt ?? null, afterId: filter.after?.id ?? null }).map(toRecord);
    },
    resolveSync,
    async resolve(id, resolution) {
      return resolveSync(id, resolution);
    },
    async countOpen() {
      return countOpen.get() as number;
    },
  };
}
