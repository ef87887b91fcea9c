// The replay cache contract for signed-request ids (SIG-5); the stores implement it (SQLite and PostgreSQL tables,
// Redis keys). A webhook-id is claimed while its request runs, completed when the request reached a final outcome,
// and released when it failed transiently, so the sender's retry with the same id runs (Standard Webhooks keeps the
// id across retries) while a captured copy of a completed request never runs again, whatever else it carries.
import type { FileStatements, FinishingWrite } from '../store/types.js';
import { settleOnce } from '../store/finishing.js';

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
  /** Ids in an embedded SQLite file only: complete and release as statements there (their result is not reported). */
  completeInFile?(entry: ReplayCacheEntry, token: string, replayScope: string | null, ttlSeconds: number, now: Date): FileStatements;
  releaseInFile?(entry: ReplayCacheEntry, token: string): FileStatements;
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
      /** complete and release as writes that finish the call, committed with its outcome where the id lives in its file. */
      completing(replayScope: string | null): FinishingWrite;
      releasing(): FinishingWrite;
    }
  | { readonly kind: 'repeat'; readonly replayScope: string };

/**
 * Wraps a claimed id so it is settled exactly once. A failed settle leaves the id in flight until its TTL, which
 * refuses copies of it (retryable 409) rather than letting one run: the failure is the safe way round, so it is not
 * raised over the request's own outcome.
 */
export function claimedMessage(cache: ReplayCache, entry: ReplayCacheEntry, token: string, ttlSeconds: number, clock: () => Date): SignedMessage {
  const once = settleOnce();
  const complete = (replayScope: string | null) => (): Promise<unknown> => cache.complete(entry, token, replayScope, ttlSeconds, clock());
  const release = (): Promise<unknown> => cache.release(entry, token);
  return {
    kind: 'first',
    get settled() {
      return once.done;
    },
    complete: (replayScope) => once.now(complete(replayScope)).catch(() => undefined),
    release: () => once.now(release).catch(() => undefined),
    completing: (replayScope) => once.write(complete(replayScope), cache.completeInFile?.(entry, token, replayScope, ttlSeconds, clock())),
    releasing: () => once.write(release, cache.releaseInFile?.(entry, token)),
  };
}
