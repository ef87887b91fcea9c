// The delivery worker: leases due outbox rows, sends each signed attempt, and records what happened. Retries follow
// a bounded exponential schedule with jitter on timeouts, network errors, 429 (Retry-After honoured) and 5xx; any
// other answer, or a refused address, dead-letters the delivery at once, and 410 Gone also disables the endpoint. Every process may run one: the lease makes
// each attempt one worker's, and a delivery whose worker died (kill -9) is taken over when its lease runs out.
import { backoffDelay, parseRetryAfter } from '../security/retry.js';
import type { RandomFraction } from '../security/random.js';
import type { ClaimedWebhookDelivery, WebhookAttempt, WebhookStore } from '../store/types.js';
import type { AttemptResult, WebhookMessage } from './send.js';

export interface RetrySchedule {
  /** Attempts in all, the first included; after the last failure the delivery is dead-lettered. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = { maxAttempts: 10, baseDelayMs: 30_000, maxDelayMs: 3_600_000 };

export type AttemptOutcome = 'delivered' | 'retry' | 'dead';

/** Standard Webhooks: a receiver answering 410 Gone wants no more deliveries, so its endpoint is disabled. */
const GONE = 410;

/** What the attempt means for the delivery: done, due again at some time, or dead-lettered. */
export function nextStep(result: AttemptResult, attemptsSoFar: number, schedule: RetrySchedule, now: Date, random: RandomFraction): WebhookAttempt['next'] {
  if (result.kind === 'response' && result.status >= 200 && result.status < 300) return { state: 'delivered', at: now.toISOString() };
  const retryable =
    result.kind === 'timeout' || result.kind === 'network' || (result.kind === 'response' && (result.status === 429 || result.status >= 500));
  if (!retryable || attemptsSoFar + 1 >= schedule.maxAttempts) return { state: 'dead' };
  const hinted = result.kind === 'response' ? parseRetryAfter(result.retryAfter, now, schedule.maxDelayMs / 1000) : undefined;
  const delayMs = hinted !== undefined ? hinted * 1000 : backoffDelay(attemptsSoFar, random, { baseMs: schedule.baseDelayMs, maxMs: schedule.maxDelayMs });
  return { state: 'pending', at: new Date(now.getTime() + delayMs).toISOString() };
}

/** A short, secret-free description of a failed attempt, kept on the delivery for `webhooks deliveries`. */
const describe = (result: AttemptResult): string | null => {
  switch (result.kind) {
    case 'response':
      return result.status >= 200 && result.status < 300 ? null : `HTTP ${result.status}`;
    case 'timeout':
      return 'timeout';
    case 'network':
      return `network: ${result.detail}`;
    case 'refused':
      return `refused: ${result.detail}`;
  }
};

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface DeliveryWorkerDeps {
  readonly store: Pick<WebhookStore, 'claimDue' | 'recordAttempt'>;
  readonly send: (message: WebhookMessage) => Promise<AttemptResult>;
  readonly clock: () => Date;
  readonly random: RandomFraction;
  readonly newLeaseToken: () => string;
  readonly timers: Timers;
  readonly schedule: RetrySchedule;
  /** Longer than the send timeout, so a live worker never loses its lease mid-attempt. */
  readonly leaseMs: number;
  readonly pollMs: number;
  readonly batchSize?: number;
  readonly onAttempt?: (outcome: AttemptOutcome, delivery: ClaimedWebhookDelivery) => void;
  readonly onError?: (error: unknown) => void;
}

export function createDeliveryWorker(deps: DeliveryWorkerDeps) {
  const batchSize = deps.batchSize ?? 16;
  let timer: unknown;
  let running: Promise<number> | undefined;
  let stopped = true;

  async function attempt(delivery: ClaimedWebhookDelivery): Promise<void> {
    const result = await deps.send({ url: delivery.url, messageId: delivery.messageId, payload: delivery.payload, secret: delivery.secret });
    const now = deps.clock();
    const next = nextStep(result, delivery.attempts, deps.schedule, now, deps.random);
    const recorded = await deps.store.recordAttempt({
      id: delivery.id,
      leaseToken: delivery.leaseToken,
      status: result.kind === 'response' ? result.status : null,
      error: describe(result),
      next,
      ...(result.kind === 'response' && result.status === GONE ? { disableEndpoint: { at: now.toISOString(), reason: 'HTTP 410 Gone' } } : {}),
    });
    if (recorded) deps.onAttempt?.(next.state === 'pending' ? 'retry' : next.state, delivery);
  }

  /** Sends every delivery due now (one batch); resolves to how many were leased. */
  async function runOnce(): Promise<number> {
    const now = deps.clock();
    const leased = await deps.store.claimDue({
      now: now.toISOString(),
      leaseUntil: new Date(now.getTime() + deps.leaseMs).toISOString(),
      leaseToken: deps.newLeaseToken(),
      limit: batchSize,
    });
    await Promise.all(leased.map((delivery) => attempt(delivery).catch((error: unknown) => deps.onError?.(error))));
    return leased.length;
  }

  function schedule(ms: number): void {
    if (stopped) return;
    timer = deps.timers.setTimeout(() => {
      timer = undefined;
      running = runOnce().catch((error: unknown) => {
        deps.onError?.(error);
        return 0;
      });
      void running.then((count) => {
        running = undefined;
        // A full batch means more may be due: go again at once instead of waiting a poll interval.
        schedule(count === batchSize ? 0 : deps.pollMs);
      });
    }, ms);
  }

  return {
    runOnce,
    start(): void {
      if (!stopped) return;
      stopped = false;
      schedule(0);
    },
    /** Stops polling and waits for the batch in progress; leases of anything unsent simply run out. */
    async stop(): Promise<void> {
      stopped = true;
      if (timer !== undefined) deps.timers.clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}

export type DeliveryWorker = ReturnType<typeof createDeliveryWorker>;
