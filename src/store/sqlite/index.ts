// The embedded store: one SQLite file holding keys, audit, idempotency, reviews, task versions and the corpus.
import { openDatabase, type Migration, type SqliteDatabase } from './db.js';
import { CORE_MIGRATIONS } from './core-migrations.js';
import { createSqliteKeyStore } from './keys.js';
import { createSqliteAuditStore } from './audit.js';
import { createSqliteIdempotencyStore } from './idempotency.js';
import { createSqliteReviewStore } from './reviews.js';
import { createSqliteResultStore } from './results.js';
import { createSqliteWebhookStore } from './webhooks.js';
import { createSqliteReplayCache } from './replay-cache.js';
import { createSqliteTaskVersionStore } from './task-versions.js';
import type { FileWrite, Store } from '../types.js';
import { runFinishing, splitFinishing } from '../finishing.js';
import type { SecretBox } from '../../security/secret-box.js';
import { failClosed } from '../engine-failure.js';

/** Rows deleted per statement by the retention purge. */
const PURGE_BATCH = 5_000;

export interface SqliteStoreOptions {
  readonly path: string;
  /** Extra migrations owned by other repositories sharing the file (the corpus). */
  readonly extraMigrations?: readonly Migration[];
  readonly synchronous?: 'NORMAL' | 'FULL';
  /** LLM03-4: replaces the pinned SHA-256 of the sqlite-vec binary; see openDatabase. */
  readonly expectedExtensionSha256?: string;
  /** SIG-7: seals signing secrets before they reach the file. */
  readonly secretBox: SecretBox;
}

export interface SqliteStore extends Store {
  /** For repositories that live in the same file (the corpus); never handed to http/ or guard/. */
  readonly db: SqliteDatabase;
}

export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const db = openDatabase({
    path: options.path,
    migrations: [...CORE_MIGRATIONS, ...(options.extraMigrations ?? [])],
    ...(options.synchronous === undefined ? {} : { synchronous: options.synchronous }),
    ...(options.expectedExtensionSha256 === undefined ? {} : { expectedExtensionSha256: options.expectedExtensionSha256 }),
  });
  const keys = createSqliteKeyStore(db, options.secretBox);
  const audit = createSqliteAuditStore(db);
  const idempotency = createSqliteIdempotencyStore(db);
  const reviews = createSqliteReviewStore(db);
  const results = createSqliteResultStore(db);
  const webhooks = createSqliteWebhookStore(db, options.secretBox);
  const ping = db.prepare('SELECT 1').pluck();
  const purgeAuditBatch = db.prepare(`DELETE FROM audit_log WHERE seq IN (SELECT seq FROM audit_log WHERE at < ? ORDER BY seq LIMIT ${PURGE_BATCH})`);
  const purgeIds = db.prepare('DELETE FROM webhook_ids WHERE expires_at <= ?');
  const purgeResults = db.prepare('DELETE FROM task_results WHERE expires_at IS NOT NULL AND expires_at < ?');
  const purgeDeliveriesBatch = db.prepare(
    `DELETE FROM webhook_deliveries WHERE rowid IN (SELECT rowid FROM webhook_deliveries WHERE state IN ('delivered', 'dead') AND created_at < ? LIMIT ${PURGE_BATCH})`,
  );

  const recordOutcome = db.transaction((outcome: Parameters<Store['recordOutcome']>[0], joined: readonly FileWrite[]) => {
    for (const write of joined) write.apply();
    audit.appendSync(outcome.audit);
    if (outcome.review !== undefined) reviews.insertSync(outcome.review);
    if (outcome.idempotency !== undefined) {
      idempotency.completeSync(outcome.idempotency.scope, outcome.idempotency.token, outcome.idempotency.response, outcome.idempotency.expiresAt);
    }
    if (outcome.releaseClaim !== undefined) idempotency.releaseSync(outcome.releaseClaim.scope, outcome.releaseClaim.token);
    if (outcome.result !== undefined) results.insertSync(outcome.result);
    if (outcome.deliveries !== undefined) webhooks.enqueueSync(outcome.deliveries);
  });
  const recordReviewDecision = db.transaction((decision: Parameters<Store['recordReviewDecision']>[0]) => {
    const resolved = reviews.resolveSync(decision.reviewId, decision.resolution);
    if (resolved === undefined) return undefined;
    if (decision.decided !== undefined) {
      const scope = results.decideSync(decision.reviewId, decision.decided.response, decision.resolution.at, decision.decided.expiresAt);
      if (scope) idempotency.replaceResponseSync(scope, decision.decided.response);
    }
    webhooks.enqueueSync(decision.deliveries);
    audit.appendSync(decision.audit);
    return resolved;
  });

  // B7: a busy, locked, full or unreadable file is 503 store_unavailable, not a 500.
  return failClosed('SQLite', {
    db,
    keys,
    audit,
    idempotency,
    reviews,
    tasks: createSqliteTaskVersionStore(db),
    results,
    webhooks,
    async recordOutcome(outcome) {
      // The call's limits, slot and webhook-id live in this file too: one commit finishes the whole call.
      const { joined, after } = splitFinishing(outcome.finishing, db);
      recordOutcome.immediate(outcome, joined);
      for (const write of joined) write.committed();
      await runFinishing(after);
    },
    async recordReviewDecision(decision) {
      return recordReviewDecision.immediate(decision);
    },
    replayCache: createSqliteReplayCache(db),
    async purgeExpired(cutoffs) {
      const auditBefore = cutoffs.auditBefore.toISOString();
      const auditRows = purgeInBatches(() => purgeAuditBatch.run(auditBefore).changes);
      const webhookDeliveries = purgeInBatches(() => purgeDeliveriesBatch.run(auditBefore).changes);
      const idempotencyRecords = await idempotency.purgeExpired(cutoffs.now);
      const taskResults = purgeResults.run(cutoffs.now.toISOString()).changes;
      const replayIds = purgeIds.run(cutoffs.now.toISOString()).changes;
      return { auditRows, idempotencyRecords, taskResults, replayIds, webhookDeliveries };
    },
    async ping() {
      return ping.get() === 1;
    },
    async close() {
      db.close();
    },
  });
}

/** Runs a batch delete until a batch comes back short; each batch is its own short transaction, so a first purge of a large log never holds the write lock for long. */
function purgeInBatches(deleteBatch: () => number): number {
  let total = 0;
  for (let deleted = PURGE_BATCH; deleted === PURGE_BATCH; total += deleted) deleted = deleteBatch();
  return total;
}
