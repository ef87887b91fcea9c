// The replay cache contract for signed-request ids (SIG-5) and its bounded in-memory implementation.
// SQLite and Redis implementations live with the integrator and must honour the same contract.
import { AppError } from '../errors.js';

export interface ReplayCache {
  /**
   * Records `id` under `scope` (the API key id, never the route, so a captured request cannot be replayed on
   * another path) for `ttlSeconds`. Resolves true the first time within the TTL, false for a replay.
   */
  remember(scope: string, id: string, ttlSeconds: number, now: Date): Promise<boolean>;
}

export interface MemoryReplayCacheOptions {
  /** Upper bound on live entries; size it from the rate limits times the replay window. */
  readonly maxEntries?: number;
}

const DEFAULT_MAX_ENTRIES = 100_000;

/**
 * An in-process cache: expiry is checked lazily against the injected `now`, so no timer keeps the process alive.
 * When full of live entries it refuses (503) rather than evicting one, because evicting would re-open a replay window.
 */
export function createMemoryReplayCache(options: MemoryReplayCacheOptions = {}): ReplayCache {
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
  const expiresAt = new Map<string, number>();
  // Sweeping is O(n); skipping it until some entry can have expired keeps a full cache from costing O(n) per call.
  let earliestExpiry = Number.POSITIVE_INFINITY;

  const sweep = (nowMs: number): void => {
    if (nowMs < earliestExpiry) return;
    earliestExpiry = Number.POSITIVE_INFINITY;
    for (const [entry, expiry] of expiresAt) {
      if (expiry <= nowMs) expiresAt.delete(entry);
      else earliestExpiry = Math.min(earliestExpiry, expiry);
    }
  };

  return {
    remember(scope, id, ttlSeconds, now) {
      if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1) {
        return Promise.reject(new RangeError('ttlSeconds must be a positive integer'));
      }
      const nowMs = now.getTime();
      const entry = JSON.stringify([scope, id]);
      const existing = expiresAt.get(entry);
      if (existing !== undefined && existing > nowMs) return Promise.resolve(false);
      if (existing === undefined && expiresAt.size >= maxEntries) sweep(nowMs);
      if (existing === undefined && expiresAt.size >= maxEntries) {
        return Promise.reject(new AppError('store_unavailable', { detail: 'Replay cache is full; retry shortly.' }));
      }
      const expiry = nowMs + ttlSeconds * 1000;
      expiresAt.set(entry, expiry);
      earliestExpiry = Math.min(earliestExpiry, expiry);
      return Promise.resolve(true);
    },
  };
}
