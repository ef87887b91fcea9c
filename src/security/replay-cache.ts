// The replay cache contract for signed-request ids (SIG-5); the stores implement it (SQLite table, Redis SET NX EX).

export interface ReplayCache {
  /**
   * Records `id` under `scope` (the API key id, never the route, so a captured request cannot be replayed on
   * another path) for `ttlSeconds`. Resolves true the first time within the TTL, false for a replay.
   */
  remember(scope: string, id: string, ttlSeconds: number, now: Date): Promise<boolean>;
}
