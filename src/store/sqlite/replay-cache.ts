// Signed-request ids in SQLite (SIG-5): claimed while the request runs, completed with its final outcome, released
// after a transient failure. The token fences every change, so a request can settle only the claim it took.
import type { SqliteDatabase } from './db.js';
import type { ReplayCache, ReplayClaim } from '../../security/replay-cache.js';

/** Expired ids are swept every so often rather than on every signed request. */
const SWEEP_EVERY = 256;

interface EntryRow {
  state: 'in_flight' | 'completed';
  replay_scope: string | null;
}

export function createSqliteReplayCache(db: SqliteDatabase): ReplayCache {
  // A live entry (expires_at in the future) is never overwritten; an expired one is taken over by the new claim.
  const upsert = db.prepare(`INSERT INTO webhook_ids (scope, id, expires_at, state, token, replay_scope)
    VALUES (@scope, @id, @expires_at, 'in_flight', @token, NULL)
    ON CONFLICT (scope, id) DO UPDATE SET expires_at = excluded.expires_at, state = 'in_flight', token = excluded.token, replay_scope = NULL
    WHERE webhook_ids.expires_at <= @now`);
  const find = db.prepare<[string, string], EntryRow>('SELECT state, replay_scope FROM webhook_ids WHERE scope = ? AND id = ?');
  const complete = db.prepare(`UPDATE webhook_ids SET state = 'completed', replay_scope = @replay_scope, expires_at = @expires_at
    WHERE scope = @scope AND id = @id AND token = @token AND state = 'in_flight'`);
  const release = db.prepare("DELETE FROM webhook_ids WHERE scope = @scope AND id = @id AND token = @token AND state = 'in_flight'");
  const purge = db.prepare('DELETE FROM webhook_ids WHERE expires_at <= ?');
  let claimedSinceSweep = 0;

  const expiry = (now: Date, ttlSeconds: number): string => new Date(now.getTime() + ttlSeconds * 1000).toISOString();
  const claim = db.transaction((scope: string, id: string, token: string, ttlSeconds: number, now: Date): ReplayClaim => {
    const nowIso = now.toISOString();
    if (upsert.run({ scope, id, token, expires_at: expiry(now, ttlSeconds), now: nowIso }).changes === 1) return { kind: 'claimed', token };
    const row = find.get(scope, id);
    if (row?.state === 'completed') return { kind: 'completed', replayScope: row.replay_scope };
    return { kind: 'in_flight' };
  });

  return {
    async claim({ scope, id }, token, ttlSeconds, now) {
      if (++claimedSinceSweep >= SWEEP_EVERY) {
        claimedSinceSweep = 0;
        purge.run(now.toISOString());
      }
      return claim.immediate(scope, id, token, ttlSeconds, now);
    },
    async complete({ scope, id }, token, replayScope, ttlSeconds, now) {
      return complete.run({ scope, id, token, replay_scope: replayScope, expires_at: expiry(now, ttlSeconds) }).changes === 1;
    },
    async release({ scope, id }, token) {
      release.run({ scope, id, token });
    },
    completeInFile: ({ scope, id }, token, replayScope, ttlSeconds, now) => ({
      file: db,
      apply: () => void complete.run({ scope, id, token, replay_scope: replayScope, expires_at: expiry(now, ttlSeconds) }),
    }),
    releaseInFile: ({ scope, id }, token) => ({ file: db, apply: () => void release.run({ scope, id, token }) }),
  };
}
