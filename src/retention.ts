// The retention job (B12): audit rows older than the configured retention, delivered or dead-lettered webhook deliveries
// as old (their payloads carry task output), completed idempotency records (with their stored bodies) past their TTL
// and expired replay-cache ids are deleted, by the server on a timer and by `airlock maintenance purge` on demand.
// Clock and timers are injected so tests drive both.
import type { PurgeCounts, Store } from './store/types.js';

export interface RetentionPolicy {
  /** Audit rows are kept this long. */
  readonly auditRetentionMs: number;
}

/** Runs one purge as of `now`. */
export function purgeExpired(store: Store, policy: RetentionPolicy, now: Date): Promise<PurgeCounts> {
  return store.purgeExpired({ auditBefore: new Date(now.getTime() - policy.auditRetentionMs), now });
}

export interface RetentionTimers {
  setInterval(callback: () => void, ms: number): { unref(): unknown };
  clearInterval(handle: { unref(): unknown }): void;
}

export interface RetentionScheduleOptions {
  readonly store: Store;
  readonly policy: RetentionPolicy;
  readonly intervalMs: number;
  readonly clock: () => Date;
  readonly onPurged: (counts: PurgeCounts) => void;
  /** A failed run is reported and the next tick tries again; the server keeps serving. */
  readonly onError: (error: unknown) => void;
  readonly timers?: RetentionTimers;
}

export interface RetentionSchedule {
  /** Stops the timer and resolves once a run in progress has finished, so the store can be closed after it. */
  stop(): Promise<void>;
}

export function scheduleRetention(options: RetentionScheduleOptions): RetentionSchedule {
  const timers = options.timers ?? { setInterval: globalThis.setInterval, clearInterval: (handle) => globalThis.clearInterval(handle as NodeJS.Timeout) };
  let running: Promise<void> | undefined;
  const tick = (): void => {
    // A slow purge is never overlapped by the next tick.
    if (running !== undefined) return;
    running = purgeExpired(options.store, options.policy, options.clock())
      .then(options.onPurged, options.onError)
      .finally(() => {
        running = undefined;
      });
  };
  const handle = timers.setInterval(tick, options.intervalMs);
  // The schedule alone never keeps the process alive.
  handle.unref();
  return {
    async stop() {
      timers.clearInterval(handle);
      await running;
    },
  };
}
