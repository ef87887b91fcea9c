// Idempotency records in PostgreSQL: an atomic claim (INSERT … ON CONFLICT, then SELECT … FOR UPDATE) shared by every
// process on the database (IDEM-5), replay of completed results (IDEM-6), release (IDEM-7) and reclaim (IDEM-8).
import { inTransaction, type PgPool, type Queryable } from './db.js';
import { IdempotencyClaimLostError, type IdempotencyClaim, type IdempotencyStore, type StoredResponse } from '../types.js';

interface RecordRow {
  fingerprint: string;
  state: 'in_flight' | 'completed';
  claimed_at: Date;
  expires_at: Date | null;
  response: StoredResponse | null;
}

/**
 * Turns the in-flight claim `token` holds into a completed, replayable record; runs inside recordOutcome's transaction,
 * which the thrown IdempotencyClaimLostError rolls back when the claim was taken over (B3).
 */
export async function completeClaim(db: Queryable, scope: string, token: string, response: StoredResponse, expiresAt: string): Promise<void> {
  const completed = await db.query(
    `UPDATE idempotency_records SET state = 'completed', response = $2, expires_at = $3 WHERE scope = $1 AND claim_token = $4 AND state = 'in_flight'`,
    [scope, JSON.stringify(response), expiresAt, token],
  );
  if (completed.rowCount === 0) throw new IdempotencyClaimLostError(scope);
}

/** Drops the in-flight claim `token` holds (IDEM-7); a claim taken over since stays. Also runs inside recordOutcome's transaction. */
export async function releaseClaim(db: Queryable, scope: string, token: string): Promise<void> {
  await db.query("DELETE FROM idempotency_records WHERE scope = $1 AND claim_token = $2 AND state = 'in_flight'", [scope, token]);
}

/** A request that went to review replays its decided result from now on, never the stale 422; the fingerprint stays. */
export async function replaceStoredResponse(db: Queryable, scope: string, response: StoredResponse): Promise<void> {
  await db.query(`UPDATE idempotency_records SET response = $2 WHERE scope = $1 AND state = 'completed'`, [scope, JSON.stringify(response)]);
}

export function createPostgresIdempotencyStore(pool: PgPool): IdempotencyStore {
  async function claim(scope: string, fingerprint: string, token: string, now: Date, staleAfterMs: number): Promise<IdempotencyClaim | undefined> {
    const inserted = await pool.query(
      `INSERT INTO idempotency_records (scope, fingerprint, state, claimed_at, claim_token) VALUES ($1, $2, 'in_flight', $3, $4) ON CONFLICT (scope) DO NOTHING`,
      [scope, fingerprint, now, token],
    );
    if (inserted.rowCount === 1) return { kind: 'claimed' };
    // The row exists: lock it so deciding and reclaiming are one step against every other process.
    return inTransaction(pool, async (client) => {
      const { rows } = await client.query<RecordRow>(
        'SELECT fingerprint, state, claimed_at, expires_at, response FROM idempotency_records WHERE scope = $1 FOR UPDATE',
        [scope],
      );
      const row = rows[0];
      // Released between our insert and this read: the caller tries the insert again.
      if (row === undefined) return undefined;
      const expired = row.state === 'completed' && row.expires_at !== null && row.expires_at.getTime() <= now.getTime();
      const abandoned = row.state === 'in_flight' && now.getTime() - row.claimed_at.getTime() > staleAfterMs;
      if (expired || abandoned) {
        await client.query(
          `UPDATE idempotency_records SET fingerprint = $2, state = 'in_flight', claimed_at = $3, expires_at = NULL, response = NULL, claim_token = $4 WHERE scope = $1`,
          [scope, fingerprint, now, token],
        );
        return { kind: 'claimed' } as const;
      }
      if (row.fingerprint !== fingerprint) return { kind: 'mismatch' } as const;
      if (row.state === 'in_flight') return { kind: 'in_flight' } as const;
      return { kind: 'replay', response: row.response as StoredResponse } as const;
    });
  }

  return {
    async claim(request) {
      for (let attempt = 0; ; attempt += 1) {
        const result = await claim(request.scope, request.fingerprint, request.token, request.now, request.staleAfterMs);
        if (result !== undefined) return result;
        // A claim released again and again by others is in flight as far as this caller is concerned.
        if (attempt === 3) return { kind: 'in_flight' };
      }
    },
    release: (scope, token) => releaseClaim(pool, scope, token),
    async purgeExpired(olderThan) {
      return (await pool.query("DELETE FROM idempotency_records WHERE state = 'completed' AND expires_at < $1", [olderThan])).rowCount ?? 0;
    },
  };
}
