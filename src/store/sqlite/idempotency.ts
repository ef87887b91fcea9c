// Idempotency records in SQLite: an atomic claim guarded by the primary key (IDEM-5), replay of completed
// results (IDEM-6), release on transient failure (IDEM-7) and reclaim of abandoned claims (IDEM-8).
import type { SqliteDatabase } from './db.js';
import { IdempotencyClaimLostError, type IdempotencyClaim, type IdempotencyStore, type StoredResponse } from '../types.js';

interface RecordRow {
  fingerprint: string;
  state: 'in_flight' | 'completed';
  claimed_at: string;
  expires_at: string | null;
  response: string | null;
}

export function createSqliteIdempotencyStore(db: SqliteDatabase): IdempotencyStore & {
  completeSync(scope: string, token: string, response: StoredResponse, expiresAt: string): void;
  releaseSync(scope: string, token: string): void;
  replaceResponseSync(scope: string, response: StoredResponse): void;
} {
  const find = db.prepare<[string], RecordRow>('SELECT fingerprint, state, claimed_at, expires_at, response FROM idempotency_records WHERE scope = ?');
  const insert = db.prepare(`INSERT INTO idempotency_records (scope, fingerprint, state, claimed_at, claim_token) VALUES (@scope, @fingerprint, 'in_flight', @now, @token)
    ON CONFLICT (scope) DO NOTHING`);
  const reclaim = db.prepare(`UPDATE idempotency_records SET fingerprint = @fingerprint, state = 'in_flight', claimed_at = @now, expires_at = NULL, response = NULL, claim_token = @token
    WHERE scope = @scope`);
  const complete = db.prepare(`UPDATE idempotency_records SET state = 'completed', response = @response, expires_at = @expires_at
    WHERE scope = @scope AND claim_token = @token AND state = 'in_flight'`);
  // Only the response changes: the fingerprint still decides what counts as the same request.
  const replaceResponse = db.prepare("UPDATE idempotency_records SET response = @response WHERE scope = @scope AND state = 'completed'");
  const release = db.prepare("DELETE FROM idempotency_records WHERE scope = ? AND claim_token = ? AND state = 'in_flight'");
  const purge = db.prepare("DELETE FROM idempotency_records WHERE state = 'completed' AND expires_at < ?");

  // One IMMEDIATE transaction makes read-then-write atomic across processes sharing the file.
  const claim = db.transaction((scope: string, fingerprint: string, token: string, now: Date, staleAfterMs: number): IdempotencyClaim => {
    const nowIso = now.toISOString();
    if (insert.run({ scope, fingerprint, now: nowIso, token }).changes === 1) return { kind: 'claimed' };
    const row = find.get(scope);
    if (row === undefined) return { kind: 'claimed' };
    const expired = row.state === 'completed' && row.expires_at !== null && row.expires_at <= nowIso;
    const abandoned = row.state === 'in_flight' && now.getTime() - Date.parse(row.claimed_at) > staleAfterMs;
    if (expired || abandoned) {
      reclaim.run({ scope, fingerprint, now: nowIso, token });
      return { kind: 'claimed' };
    }
    if (row.fingerprint !== fingerprint) return { kind: 'mismatch' };
    if (row.state === 'in_flight') return { kind: 'in_flight' };
    return { kind: 'replay', response: JSON.parse(row.response ?? 'null') as StoredResponse };
  });

  return {
    async claim(request) {
      return claim.immediate(request.scope, request.fingerprint, request.token, request.now, request.staleAfterMs);
    },
    async release(scope, token) {
      release.run(scope, token);
    },
    releaseSync(scope, token) {
      release.run(scope, token);
    },
    async purgeExpired(olderThan) {
      return purge.run(olderThan.toISOString()).changes;
    },
    completeSync(scope, token, response, expiresAt) {
      // Throwing rolls back the caller's transaction: the outcome of a request that lost its claim is not kept (B3).
      if (complete.run({ scope, token, response: JSON.stringify(response), expires_at: expiresAt }).changes === 0) throw new IdempotencyClaimLostError(scope);
    },
    /** A request that went to review replays its decided result from now on, never the stale 422. */
    replaceResponseSync(scope, response) {
      replaceResponse.run({ scope, response: JSON.stringify(response) });
    },
  };
}
