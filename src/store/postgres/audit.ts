// Append-only audit rows in PostgreSQL.
import { isoRequired, type Queryable } from './db.js';
import type { AuditDecision, AuditRecord, AuditStore } from '../types.js';

interface AuditRow {
  seq: string | number;
  id: string;
  request_id: string;
  at: Date;
  key_id: string | null;
  action: string;
  task: string | null;
  event_id: string | null;
  source: string | null;
  decision: AuditDecision;
  status: number;
  code: string | null;
  chunk_ids: string[];
  model: string | null;
  latency_ms: number;
  detail: Record<string, unknown>;
}

const toRecord = (row: AuditRow): AuditRecord => ({
  id: row.id,
  requestId: row.request_id,
  at: isoRequired(row.at),
  keyId: row.key_id,
  action: row.action,
  task: row.task,
  eventId: row.event_id,
  source: row.source,
  decision: row.decision,
  status: row.status,
  code: row.code,
  chunkIds: row.chunk_ids,
  model: row.model,
  latencyMs: row.latency_ms,
  detail: row.detail,
});

/** Also used inside recordOutcome's transaction, hence the Queryable argument. */
export async function insertAudit(db: Queryable, record: AuditRecord): Promise<void> {
  await db.query(
    `INSERT INTO audit_log (id, request_id, at, key_id, action, task, event_id, source, decision, status, code, chunk_ids, model, latency_ms, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
    [
      record.id,
      record.requestId,
      record.at,
      record.keyId,
      record.action,
      record.task,
      record.eventId,
      record.source,
      record.decision,
      record.status,
      record.code,
      [...record.chunkIds],
      record.model,
      record.latencyMs,
      JSON.stringify(record.detail),
    ],
  );
}

export function createPostgresAuditStore(db: Queryable): AuditStore {
  return {
    append: (record) => insertAudit(db, record),
    async list(filter) {
      // Optional filters as "$n IS NULL OR column = $n": one statement text serves every combination.
      const { rows } = await db.query<AuditRow>(
        `SELECT * FROM audit_log
         WHERE ($1::text IS NULL OR request_id = $1) AND ($2::text IS NULL OR key_id = $2)
           AND ($3::text IS NULL OR task = $3) AND ($4::text IS NULL OR decision = $4)
           AND ($6::bigint IS NULL OR seq < $6)
         ORDER BY seq DESC LIMIT $5`,
        [filter.requestId ?? null, filter.keyId ?? null, filter.task ?? null, filter.decision ?? null, filter.limit, filter.beforeSeq ?? null],
      );
      return rows.map((row) => ({ ...toRecord(row), seq: Number(row.seq) }));
    },
  };
}
