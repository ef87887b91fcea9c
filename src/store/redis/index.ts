// Redis, selected by AIRLOCK_REDIS_URL, for the state several Airlock processes must share at request speed: rate-limit
// counters (rate-limiter-flexible's Redis store), the signed-request replay cache (SET NX EX, settled by token), and the idempotency
// in-flight locks. The database stays the arbiter of idempotency; Redis answers duplicates without touching it.
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { ConcurrencyStore, RateLimiterStoreFactory } from '../../security/rate-limit.js';
import type { ReplayCache } from '../../security/replay-cache.js';
import type { IdempotencyStore, Store } from '../types.js';
import { engineUnavailable, failClosed } from '../engine-failure.js';
import { AppError, isAppError } from '../../errors.js';

export type RedisClient = Redis;

export function openRedis(url: string): Redis {
  // A request waiting long on a dead Redis is worse than a prompt 503 (fail closed, B7): a command waits at most
  // commandTimeout, queued while reconnecting or sent to a server that does not answer; connects give up after
  // connectTimeout. The client keeps reconnecting in the background, so the next request after Redis returns works.
  const client = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2_000, commandTimeout: 2_000, connectionName: 'airlock' });
  client.on('error', () => undefined);
  return client;
}

/** Limiters whose counters every process shares, so N processes enforce one budget rather than N. */
export const redisRateLimiters =
  (client: Redis): RateLimiterStoreFactory =>
  (options) => {
    // No insurance limiter: counting per process while Redis is away would hand out N budgets (B7); the client's
    // command timeout bounds the wait, and the failure is a 503.
    const limiter = new RateLimiterRedis({ storeClient: client, keyPrefix: `airlock:rl:${options.keyPrefix}`, points: options.points, duration: options.duration });
    return failClosed('Redis', {
      consume: (key: string, points?: number) => limiter.consume(key, points),
      penalty: (key: string, points?: number) => limiter.penalty(key, points),
      reward: (key: string, points?: number) => limiter.reward(key, points),
      get: (key: string) => limiter.get(key),
    });
  };

// Expired leases are dropped first, then a holder is added only below the limit; Redis's clock times every lease.
const ACQUIRE_SLOT = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

/** Per-key execution slots every process shares (LLM10-6): a sorted set of holders scored by lease end. */
export const redisConcurrencyStore = (client: Redis): ConcurrencyStore =>
  failClosed('Redis', {
    async acquire(scope: string, holder: string, limit: number, leaseMs: number) {
      return (await client.eval(ACQUIRE_SLOT, 1, key('slots', scope), holder, limit, Math.max(1, Math.ceil(leaseMs)))) === 1;
    },
    async release(scope: string, holder: string) {
      await client.zrem(key('slots', scope), holder);
    },
  });

// JSON keeps (scope, id) unambiguous whatever characters either holds.
const key = (prefix: string, ...parts: string[]): string => `airlock:${prefix}:${JSON.stringify(parts)}`;

// Compare-and-set on the claim token, so a request can settle only the claim it took (SIG-5, B8).
const COMPLETE_IF_HELD = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return 1 end return 0";
const RELEASE_IF_HELD = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
const IN_FLIGHT = 'in_flight:';
const COMPLETED = 'completed:';

/** Signed-request ids as Redis keys whose value is `in_flight:<token>` or `completed:<replay scope as JSON>`. */
export function redisReplayCache(client: Redis): ReplayCache {
  // Redis's clock decides the window: SET NX EX is one atomic step on every process's behalf.
  const seconds = (ttlSeconds: number): number => Math.max(1, Math.ceil(ttlSeconds));
  return {
    async claim({ scope, id }, token, ttlSeconds) {
      // An entry that expires or is released between the SET and the GET is claimed by the next round.
      for (let attempt = 0; attempt < 3; attempt += 1) {
        if ((await client.set(key('replay', scope, id), `${IN_FLIGHT}${token}`, 'EX', seconds(ttlSeconds), 'NX')) === 'OK') return { kind: 'claimed', token };
        const held = await client.get(key('replay', scope, id));
        if (held?.startsWith(COMPLETED)) return { kind: 'completed', replayScope: JSON.parse(held.slice(COMPLETED.length)) as string | null };
        if (held !== null) return { kind: 'in_flight' };
      }
      return { kind: 'in_flight' };
    },
    async complete({ scope, id }, token, replayScope, ttlSeconds) {
      const done = await client.eval(COMPLETE_IF_HELD, 1, key('replay', scope, id), `${IN_FLIGHT}${token}`, `${COMPLETED}${JSON.stringify(replayScope)}`, seconds(ttlSeconds));
      return done === 1;
    },
    async release({ scope, id }, token) {
      await client.eval(RELEASE_IF_HELD, 1, key('replay', scope, id), `${IN_FLIGHT}${token}`);
    },
  };
}

/**
 * Puts a Redis lock (SET NX PX, value = the request fingerprint) in front of the database claim. The first caller
 * takes the lock and then the durable claim; duplicates on any process see the lock and are told in_flight (or
 * mismatch) by Redis alone while they wait. The lock expires with the stale-claim window, and the durable claim is
 * still taken by the lock holder, so a lost or flushed Redis costs speed, never a second model call.
 */
export function withRedisIdempotency(inner: IdempotencyStore, client: Redis): IdempotencyStore & { unlock(scope: string): Promise<void> } {
  const lockKey = (scope: string): string => key('idem', scope);
  const unlock = async (scope: string): Promise<void> => {
    await client.del(lockKey(scope));
  };
  return {
    async claim(request) {
      const locked = await client.set(lockKey(request.scope), request.fingerprint, 'PX', Math.max(1, request.staleAfterMs), 'NX');
      if (locked !== 'OK') {
        const holder = await client.get(lockKey(request.scope));
        // The lock vanished between the two calls: the work finished or was released, so the database knows.
        if (holder === null) return inner.claim(request);
        return holder === request.fingerprint ? { kind: 'in_flight' } : { kind: 'mismatch' };
      }
      const result = await inner.claim(request).catch(async (error: unknown) => {
        await unlock(request.scope).catch(() => undefined);
        throw error;
      });
      // Only a fresh claim keeps the lock; a replay, a mismatch or another process's durable claim drops it.
      if (result.kind !== 'claimed') await unlock(request.scope);
      return result;
    },
    async release(scope, token) {
      await inner.release(scope, token);
      await unlock(scope);
    },
    purgeExpired: (olderThan) => inner.purgeExpired(olderThan),
    unlock,
  };
}

/** The store with the replay cache and idempotency locks moved to Redis; everything durable stays in the database. */
export function withRedis(store: Store, client: Redis): Store {
  const idempotency = failClosed('Redis', withRedisIdempotency(store.idempotency, client));
  return {
    keys: store.keys,
    audit: store.audit,
    reviews: store.reviews,
    tasks: store.tasks,
    results: store.results,
    webhooks: store.webhooks,
    recordReviewDecision: (decision) => store.recordReviewDecision(decision),
    idempotency,
    replayCache: failClosed('Redis', redisReplayCache(client)),
    // Redis expires replay ids and locks by itself; the rows are the database's to purge.
    purgeExpired: (cutoffs) => store.purgeExpired(cutoffs),
    async recordOutcome(outcome) {
      await store.recordOutcome(outcome);
      // After the commit: a duplicate that now misses the lock reads the completed (or released) record from the database.
      const claimed = outcome.idempotency ?? outcome.releaseClaim;
      if (claimed !== undefined) await idempotency.unlock(claimed.scope);
    },
    async ping() {
      const [database, redis] = await Promise.allSettled([store.ping(), client.ping()]);
      // Readiness names every engine that is down, so an operator is not sent to PostgreSQL for a Redis outage.
      const down = [
        ...(database.status === 'rejected' ? [database.reason as unknown] : []),
        ...(redis.status === 'rejected' ? [engineUnavailable('Redis', redis.reason)] : []),
      ];
      if (down.length === 1) throw down[0];
      if (down.length > 1) throw new AppError('store_unavailable', { detail: down.map((failure) => (isAppError(failure) ? failure.detail : '')).join(' '), headers: { 'Retry-After': '2' } });
      return database.status === 'fulfilled' && database.value && redis.status === 'fulfilled' && redis.value === 'PONG';
    },
    async close() {
      await store.close();
      await client.quit().catch(() => undefined);
    },
  };
}
