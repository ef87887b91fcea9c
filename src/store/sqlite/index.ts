// The embedded store: one SQLite file holding keys, audit, idempotency, reviews, task versions and the corpus.
import { openDatabase, type Migration, type SqliteDatabase } from './db.js';
import { CORE_MIGRATIONS } from './core-migrations.js';
import { createSqliteKeyStore } from './keys.js';
import { createSqliteAuditStore } from './audit.js';
import { createSqliteIdempotencyStore } from './idempotency.js';
import { createSqliteReviewStore } from './reviews.js';
import { createSqliteTaskVersionStore } from './task-versions.js';
import type { Store } from '../types.js';
import type { SecretBox } from '../../security/secret-box.js';

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
  const rememberId = db.prepare(`INSERT INTO webhook_ids (scope, id, expires_at) VALUES (@scope, @id, @expires_at)
    ON CONFLICT (scope, id) DO UPDATE SET expires_at = excluded.expires_at WHERE webhook_ids.expires_at <= @now`);
  const purgeIds = db.prepare('DELETE FROM webhook_ids WHERE expires_at <= ?');
  const ping = db.prepare('SELECT 1').pluck();
  // Expired ids are swept every so often rather than on every signed request.
  const SWEEP_EVERY = 256;
  let rememberedSinceSweep = 0;

  const recordOutcome = db.transaction((outcome: Parameters<Store['recordOutcome']>[0]) => {
    audit.appendSync(outcome.audit);
    if (outcome.review !== undefined) reviews.insertSync(outcome.review);
    if (outcome.idempotency !== undefined) {
      idempotency.completeSync(outcome.idempotency.scope, outcome.idempotency.response, outcome.idempotency.expiresAt);
    }
  });

  return {
    db,
    keys,
    audit,
    idempotency,
    reviews,
    tasks: createSqliteTaskVersionStore(db),
    async recordOutcome(outcome) {
      recordOutcome.immediate(outcome);
    },
    replayCache: {
      async remember(scope, id, ttlSeconds, now) {
        const nowIso = now.toISOString();
        const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
        if (++rememberedSinceSweep >= SWEEP_EVERY) {
          rememberedSinceSweep = 0;
          purgeIds.run(nowIso);
        }
        return rememberId.run({ scope, id, expires_at: expiresAt.toISOString(), now: nowIso }).changes === 1;
      },
    },
    async ping() {
      return ping.get() === 1;
    },
    async close() {
      db.close();
    },
  };
}
