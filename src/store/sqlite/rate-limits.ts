// Rate-limit counters and per-key execution slots in the SQLite file (RL-1, LLM10-5, LLM10-6), so every process
// serving the file (the workers of AIRLOCK_PROCESSES, or servers started side by side) spends one budget per key rather
// than one each, and a restart does not hand a key a fresh daily token budget. Each change is one statement (or one
// IMMEDIATE transaction), so processes never lose each other's counts; the injected clock times the windows.
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { SqliteDatabase } from './db.js';
import type { ConcurrencyStore, RateLimiterStoreFactory } from '../../security/rate-limit.js';
import { failClosed } from '../engine-failure.js';

/** Expired counters (per-IP ones above all, which any address can create) are swept every so many changes. */
const SWEEP_EVERY = 1_024;

interface CounterRow {
  points: number;
  expires_at: number;
}

/**
 * Fixed windows, as rate-limiter-flexible's memory and Redis stores count: the first change in a window starts it, and
 * a refused consume is still counted (the caller rewards it back when it must spend nothing).
 */
export function createSqliteRateLimiters(db: SqliteDatabase, clock: () => Date): RateLimiterStoreFactory {
  const add = db.prepare<{ policy: string; key: string; points: number; now: number; expires_at: number }, CounterRow>(
    `INSERT INTO rate_limit_counters (policy, key, points, expires_at) VALUES (@policy, @key, @points, @expires_at)
     ON CONFLICT (policy, key) DO UPDATE SET
       points = CASE WHEN expires_at > @now THEN points + excluded.points ELSE excluded.points END,
       expires_at = CASE WHEN expires_at > @now THEN expires_at ELSE excluded.expires_at END
     RETURNING points, expires_at`,
  );
  const read = db.prepare<[string, string, number], CounterRow>('SELECT points, expires_at FROM rate_limit_counters WHERE policy = ? AND key = ? AND expires_at > ?');
  const sweep = db.prepare('DELETE FROM rate_limit_counters WHERE expires_at <= ?');
  let changesSinceSweep = 0;

  return ({ keyPrefix: policy, points: quota, duration }) => {
    const result = (row: CounterRow, now: number, changed: number): RateLimiterRes =>
      new RateLimiterRes(Math.max(quota - row.points, 0), row.expires_at - now, row.points, row.points === changed);
    const change = (key: string, points: number): RateLimiterRes => {
      const now = clock().getTime();
      if (++changesSinceSweep >= SWEEP_EVERY) {
        changesSinceSweep = 0;
        sweep.run(now);
      }
      return result(add.get({ policy, key, points, now, expires_at: now + duration * 1000 }) as CounterRow, now, points);
    };
    return failClosed('SQLite', {
      async consume(key: string, points = 1) {
        const res = change(key, points);
        // Rejected with the result, as rate-limiter-flexible does, so callers tell "over the limit" from a store failure.
        if (res.consumedPoints > quota) throw res;
        return res;
      },
      penalty: async (key: string, points = 1) => change(key, points),
      reward: async (key: string, points = 1) => change(key, -points),
      async get(key: string) {
        const now = clock().getTime();
        const row = read.get(policy, key, now);
        return row === undefined ? null : result(row, now, Number.NaN);
      },
      changeInFile: (key: string, points: number) => ({ file: db, apply: () => void change(key, points) }),
    });
  };
}

/** Per-key execution slots as rows with leases: a slot whose process died without releasing it frees itself. */
export function createSqliteConcurrencyStore(db: SqliteDatabase, clock: () => Date): ConcurrencyStore {
  const dropExpired = db.prepare('DELETE FROM concurrency_slots WHERE scope = ? AND lease_until <= ?');
  const held = db.prepare<[string], number>('SELECT count(*) FROM concurrency_slots WHERE scope = ?').pluck();
  const take = db.prepare('INSERT INTO concurrency_slots (scope, holder, lease_until) VALUES (?, ?, ?)');
  const give = db.prepare('DELETE FROM concurrency_slots WHERE scope = ? AND holder = ?');
  // IMMEDIATE: the count and the insert happen under the write lock, so two processes cannot both take the last slot.
  const acquire = db.transaction((scope: string, holder: string, limit: number, leaseMs: number): boolean => {
    const now = clock().getTime();
    dropExpired.run(scope, now);
    if ((held.get(scope) as number) >= limit) return false;
    take.run(scope, holder, now + leaseMs);
    return true;
  });
  return failClosed('SQLite', {
    acquire: async (scope: string, holder: string, limit: number, leaseMs: number) => acquire.immediate(scope, holder, limit, leaseMs),
    async release(scope: string, holder: string) {
      give.run(scope, holder);
    },
    releaseInFile: (scope: string, holder: string) => ({ file: db, apply: () => void give.run(scope, holder) }),
  });
}
