// Append-only audit rows in SQLite.
import type { SqliteDatabase } from './db.js';
import type { AuditDecision, AuditRecord, AuditStore } from '../types.js';

interface AuditRow {
  seq: number;
  id: string;
  request_id: string;
  at: string;
  key_id: string | null;
  action: string;
  task: string | null;
  event_id: string | null;
  source: string | null;
  decision: AuditDecision;
  status: number;
  code: string | null;
  chunk_ids: string;
  model: string | null;
  latency_ms: number;
  detail: string;
}

const toRecord = (row: AuditRow): AuditRecord => ({
  id: row.id,
  requestId: row.request_id,
  at: row.at,
  keyId: row.key_id,
  action: row.action,
  task: row.task,
  eventId: row.event_id,
  source: row.source,
  decision: row.decision,
  status: row.status,
  code: row.code,
  chunkIds: JSON.parse(row.chunk_ids) as string[],
  model: row.model,
  latencyMs: row.latency_ms,
  detail: JSON.parse(row.detail) as Record<string, unknown>,
});

export const auditRowParams = (record: AuditRecord) => ({
  id: record.id,
  request_id: record.requestId,
  at: record.at,
  key_id: record.keyId,
  action: record.action,
  task: record.task,
  event_id: record.eventId,
  source: record.source,
  decision: record.decision,
  status: record.status,
  code: record.code,
  chunk_ids: JSON.stringify(record.chunkIds),
  model: record.model,
  latency_ms: record.latencyMs,
  detail: JSON.stringify(record.detail),
});

export function createSqliteAuditStore(db: SqliteDatabase): AuditStore & { appendSync(record: AuditRecord): void } {
  const insert = db.prepare(`INSERT INTO audit_log (id, request_id, at, key_id, action, task, event_id, source, decision, status, code,
      chunk_ids, model, latency_ms, detail)
    VALUES (@id, @request_id, @at, @key_id, @action, @task, @event_id, @source, @decision, @status, @code, @chunk_ids, @model, @latency_ms, @detail)`);
  // Optional filters are expressed in SQL as "param IS NULL OR column = param" so one prepared statement serves every filter.
  const list = db.prepare<Record<string, unknown>, AuditRow>(`SELECT * FROM audit_log
    WHERE (@request_id IS NULL OR request_id = @request_id)
      AND (@key_id IS NULL OR key_id = @key_id)
      AND (@task IS NULL OR task = @task)
      AND (@decision IS NULL OR decision = @decision)
      AND (@before_seq IS NULL OR seq < @before_seq)
    ORDER BY seq DESC LIMIT @limit`);

  const appendSync = (record: AuditRecord): void => {
    insert.run(auditRowParams(record));
  };
  return {
    appendSync,
    async append(record) {
      appendSync(record);
    },
    async list(filter) {
      return list
        .all({
          request_id: filter.requestId ?? null,
          key_id: filter.keyId ?? null,
          task: filter.task ?? null,
          decision: filter.decision ?? null,
          before_seq: filter.beforeSeq ?? null,
          limit: filter.limit,
        })
        .map((row) => ({ ...toRecord(row), seq: row.seq }));
    },
  };
}
