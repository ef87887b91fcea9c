// The replay cache contract for signed-request ids (SIG-5); the stores implement it (SQLite and PostgreSQL tables,
// Redis keys). A webhook-id is claimed while its request runs, completed when the request reached a final outcome,
// and released when it failed transiently, so the sender's retry with the same id runs (Standard Webhooks keeps the
// id across retries) while a captured copy of a completed request never runs again, whatever else it carries.

export type ReplayClaim =
  /** The id is this request's; settle it with the token. */
  | { readonly kind: 'claimed'; readonly token: string }
  /** Another request holding this id is still running; its outcome is not known yet. */
  | { readonly kind: 'in_flight' }
  /**
   * A request with this id reached a final outcome. `replayScope` is the idempotency record holding that outcome when
   * one was stored: only that record may be replayed to the id, nothing executed.
   */
  | { readonly kind: 'completed'; readonly replayScope: string | null };

export interface ReplayCacheEntry {
  /** The API key id, never the route: the route is not signed, so a captured request must not work elsewhere. */
  readonly scope: string;
  readonly id: string;
}

export interface ReplayCache {
  /**
   * Claims `id` under `scope` for `ttlSeconds` with `token` (fresh per request), unless a live entry exists. An entry
   * older than its TTL is taken over: by then the signed timestamp no longer passes the tolerance anyway.
   */
  claim(entry: ReplayCacheEntry, token: string, ttlSeconds: number, now: Date): Promise<ReplayClaim>;
  /** Marks the id consumed for `ttlSeconds` from now; false when `token` no longer holds the claim. */
  complete(entry: ReplayCacheEntry, token: string, replayScope: string | null, ttlSeconds: number, now: Date): Promise<boolean>;
  /** Forgets an in-flight claim held by `token`, so a retry with the same id runs; a completed id stays. */
  release(entry: ReplayCacheEntry, token: string): Promise<void>;
}

/**
 * The webhook-id of a signed request, as the code that learns the request's outcome sees it. `first`: this request
 * holds the id and settles it once (later calls do nothing). `repeat`: the id completed before with an idempotent
 * response stored under `replayScope`; the request may only be answered from that record.
 */
export type SignedMessage =
  | {
      readonly kind: 'first';
      readonly settled: boolean;
      complete(replayScope: string | null): Promise<void>;
      release(): Promise<void>;
    }
  | { readonly kind: 'repeat'; readonly replayScope: string };

/**
 * Wraps a claimed id so it is settled exactly once. A failed settle leaves the id in flight until its TTL, which
 * refuses copies of it (retryable 409) rather than letting one run: the failure is the safe way round, so it is not
 * raised over the request's own outcome.
 */
export function claimedMessage(cache: ReplayCache, entry: ReplayCacheEntry, token: string, ttlSeconds: number, clock: () => Date): SignedMessage {
  let settled = false;
  const once = async (settle: () => Promise<unknown>): Promise<void> => {
    if (settled) return;
    settled = true;
    await settle().catch(() => undefined);
  };
  return {
    kind: 'first',
    get settled() {
      return settled;
    },
    complete: (replayScope) => once(() => cache.complete(entry, token, replayScope, ttlSeconds, clock())),
    release: () => once(() => cache.release(entry, token)),
  };
}
