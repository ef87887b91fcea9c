// The PostgreSQL store, selected by AIRLOCK_DATABASE_URL: keys, audit, idempotency, reviews and the replay cache
// shared by every Airlock process on the database. The corpus opens beside it (./corpus.ts) on the same pool.
import { applyMigrations, createPool, inTransaction, type PgPool } from './db.js';
import { POSTGRES_MIGRATIONS } from './migrations.js';
import { createPostgresKeyStore } from './keys.js';
import { createPostgresAuditStore, insertAudit } from './audit.js';
import { completeClaim, createPostgresIdempotencyStore, releaseClaim, replaceStoredResponse } from './idempotency.js';
import { createPostgresReviewStore, insertReview, resolveReview } from './reviews.js';
import { createPostgresResultStore, decideResult, insertResult } from './results.js';
import { createPostgresWebhookStore, insertDeliveries } from './webhooks.js';
import { createPostgresReplayCache } from './replay-cache.js';
import { createPostgresTaskVersionStore } from './task-versions.js';
import type { Store } from '../types.js';
import type { SecretBox } from '../../security/secret-box.js';
import { failClosed } from '../engine-failure.js';
import { runFinishing } from '../finishing.js';

export interface PostgresStoreOptions {
  readonly url: string;
  /** Connections per process; the corpus replica's LISTEN connection comes on top. */
  readonly poolSize?: number;
  /** SIG-7: seals signing secrets before they reach the database. */
  readonly secretBox: SecretBox;
}

export interface PostgresStore extends Store {
  /** For the corpus, which shares the pool; never handed to http/ or guard/. */
  readonly pool: PgPool;
  readonly url: string;
}

/** Rows deleted per statement by the retention purge. */
const PURGE_BATCH = 5_000;

export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const pool = createPool(options.url, options.poolSize === undefined ? {} : { max: options.poolSize });
  // An idle client that loses its server must not crash the process; the next query reports the failure instead.
  pool.on('error', () => undefined);
  try {
    await applyMigrations(pool, POSTGRES_MIGRATIONS);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const idempotency = createPostgresIdempotencyStore(pool);

  // B7: a server that is down, restarting or out of connections is 503 store_unavailable, not a 500.
  return failClosed('PostgreSQL', {
    pool,
    url: options.url,
    keys: createPostgresKeyStore(pool, options.secretBox),
    audit: createPostgresAuditStore(pool),
    idempotency,
    reviews: createPostgresReviewStore(pool),
    tasks: createPostgresTaskVersionStore(pool),
    results: createPostgresResultStore(pool),
    webhooks: createPostgresWebhookStore(pool, options.secretBox),
    async recordOutcome(outcome) {
      await inTransaction(pool, async (client) => {
        await insertAudit(client, outcome.audit);
        if (outcome.review !== undefined) await insertReview(client, outcome.review);
        if (outcome.idempotency !== undefined) {
          await completeClaim(client, outcome.idempotency.scope, outcome.idempotency.token, outcome.idempotency.response, outcome.idempotency.expiresAt);
        }
        if (outcome.releaseClaim !== undefined) await releaseClaim(client, outcome.releaseClaim.scope, outcome.releaseClaim.token);
        if (outcome.result !== undefined) await insertResult(client, outcome.result);
        if (outcome.deliveries !== undefined) await insertDeliveries(client, outcome.deliveries);
      });
      // Limits and slots live in memory or in Redis here, the webhook-id in its own table: each settles on its own.
      await runFinishing(outcome.finishing);
    },
    async recordReviewDecision(decision) {
      return inTransaction(pool, async (client) => {
        const resolved = await resolveReview(client, decision.reviewId, decision.resolution);
        if (resolved === undefined) return undefined;
        if (decision.decided !== undefined) {
          const scope = await decideResult(client, decision.reviewId, decision.decided.response, decision.resolution.at, decision.decided.expiresAt);
          if (scope) await replaceStoredResponse(client, scope, decision.decided.response);
        }
        await insertDeliveries(client, decision.deliveries);
        await insertAudit(client, decision.audit);
        return resolved;
      });
    },
    replayCache: createPostgresReplayCache(pool),
    async purgeExpired(cutoffs) {
      const auditRows = await purgeInBatches(pool, 'DELETE FROM audit_log WHERE seq IN (SELECT seq FROM audit_log WHERE at < $1 ORDER BY seq LIMIT $2)', cutoffs.auditBefore);
      const webhookDeliveries = await purgeInBatches(
        pool,
        "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries WHERE state IN ('delivered', 'dead') AND created_at < $1 LIMIT $2)",
        cutoffs.auditBefore,
      );
      const idempotencyRecords = await idempotency.purgeExpired(cutoffs.now);
      const taskResults = (await pool.query('DELETE FROM task_results WHERE expires_at IS NOT NULL AND expires_at < $1', [cutoffs.now])).rowCount ?? 0;
      const replayIds = (await pool.query('DELETE FROM webhook_ids WHERE expires_at <= $1', [cutoffs.now])).rowCount ?? 0;
      return { auditRows, idempotencyRecords, taskResults, replayIds, webhookDeliveries };
    },
    async ping() {
      return (await pool.query<{ ok: number }>('SELECT 1 AS ok')).rows[0]?.ok === 1;
    },
    async close() {
      await pool.end();
    },
  });
}

/** Runs a batch delete (`$1` the cutoff, `$2` the batch size) until a batch comes back short; each batch is its own statement, so a first purge of a large log never holds long row locks. */
async function purgeInBatches(pool: PgPool, deleteBatch: string, cutoff: Date): Promise<number> {
  let total = 0;
  for (let deleted = PURGE_BATCH; deleted === PURGE_BATCH; total += deleted) deleted = (await pool.query(deleteBatch, [cutoff, PURGE_BATCH])).rowCount ?? 0;
  return total;
}
