// Signed-request ids in PostgreSQL (SIG-5), shared by every process on the database: claimed while the request runs,
// completed with its final outcome, released after a transient failure; the token fences every change.
import type { PgPool } from './db.js';
import type { ReplayCache } from '../../security/replay-cache.js';

/** Expired ids are swept every so often rather than on every signed request. */
const SWEEP_EVERY = 256;

export function createPostgresReplayCache(pool: PgPool): ReplayCache {
  let claimedSinceSweep = 0;
  const expiry = (now: Date, ttlSeconds: number): Date => new Date(now.getTime() + ttlSeconds * 1000);

  return {
    async claim({ scope, id }, token, ttlSeconds, now) {
      if (++claimedSinceSweep >= SWEEP_EVERY) {
        claimedSinceSweep = 0;
        await pool.query('DELETE FROM webhook_ids WHERE expires_at <= $1', [now]);
      }
      // An entry released between the upsert and the read is claimed by the next round.
      for (let attempt = 0; attempt < 3; attempt += 1) {
        // A live entry is never overwritten; an expired one is taken over by this claim.
        const claimed = await pool.query(
          `INSERT INTO webhook_ids (scope, id, expires_at, state, token, replay_scope) VALUES ($1, $2, $3, 'in_flight', $4, NULL)
           ON CONFLICT (scope, id) DO UPDATE SET expires_at = excluded.expires_at, state = 'in_flight', token = excluded.token, replay_scope = NULL
           WHERE webhook_ids.expires_at <= $5`,
          [scope, id, expiry(now, ttlSeconds), token, now],
        );
        if (claimed.rowCount === 1) return { kind: 'claimed', token };
        const { rows } = await pool.query<{ state: string; replay_scope: string | null }>(
          'SELECT state, replay_scope FROM webhook_ids WHERE scope = $1 AND id = $2',
          [scope, id],
        );
        const row = rows[0];
        if (row?.state === 'completed') return { kind: 'completed', replayScope: row.replay_scope };
        if (row !== undefined) return { kind: 'in_flight' };
      }
      return { kind: 'in_flight' };
    },
    async complete({ scope, id }, token, replayScope, ttlSeconds, now) {
      const result = await pool.query(
        `UPDATE webhook_ids SET state = 'completed', replay_scope = $4, expires_at = $5 WHERE scope = $1 AND id = $2 AND token = $3 AND state = 'in_flight'`,
        [scope, id, token, replayScope, expiry(now, ttlSeconds)],
      );
      return result.rowCount === 1;
    },
    async release({ scope, id }, token) {
      await pool.query("DELETE FROM webhook_ids WHERE scope = $1 AND id = $2 AND token = $3 AND state = 'in_flight'", [scope, id, token]);
    },
  };
}
