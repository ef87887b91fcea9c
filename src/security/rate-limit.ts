// Per-key request and token-budget limits plus the pre-auth per-IP auth-failure limit (RL-1..RL-4, LLM10-5, API2),
// reported as IETF draft-10 RateLimit-Policy / RateLimit field values. Counting lives in rate-limiter-flexible stores.
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { z } from 'zod';
import { drawFraction, type RandomFraction } from './random.js';
import type { FileStatements, FinishingWrite } from '../store/types.js';
import { settleOnce } from '../store/finishing.js';

export const RateLimitsConfig = z.strictObject({
  requestsPerMinute: z.int().min(1).describe('Requests per API key per task per minute'),
  tokensPerDay: z.int().min(1).describe('Model tokens per API key per day (LLM10-5)'),
  authFailuresPerMinutePerIp: z.int().min(1).describe('Failed authentications per client IP per minute (API2, RL-3)'),
  concurrentPerKey: z.int().min(1).default(16).describe('Task executions one API key may have running at once (LLM10-6)'),
});
export type RateLimitsConfig = z.infer<typeof RateLimitsConfig>;

/** The slice of a rate-limiter-flexible limiter we use; RateLimiterMemory and RateLimiterRedis both satisfy it. */
export interface RateLimiterStore {
  consume(key: string, points?: number): Promise<RateLimiterRes>;
  penalty(key: string, points?: number): Promise<RateLimiterRes>;
  reward(key: string, points?: number): Promise<RateLimiterRes>;
  get(key: string): Promise<RateLimiterRes | null>;
  /** Counters in an embedded SQLite file only: a change by `points` (negative: handed back) as statements there. */
  changeInFile?(key: string, points: number): FileStatements;
}

export type RateLimiterStoreFactory = (options: { keyPrefix: string; points: number; duration: number }) => RateLimiterStore;

/**
 * Counting semaphores with leases (LLM10-6): at most `limit` holders per key; a holder that never releases (its process
 * died) drops out after `leaseMs`. In memory for one process; in Redis (store/redis) for several.
 */
export interface ConcurrencyStore {
  acquire(key: string, holder: string, limit: number, leaseMs: number): Promise<boolean>;
  release(key: string, holder: string): Promise<void>;
  /** Slots in an embedded SQLite file only: the release as statements there. */
  releaseInFile?(key: string, holder: string): FileStatements;
}

/** One process's slots; leases only matter across processes, where a holder can die without releasing. */
export function memoryConcurrencyStore(): ConcurrencyStore {
  const holders = new Map<string, Set<string>>();
  return {
    async acquire(key, holder, limit) {
      const current = holders.get(key) ?? new Set<string>();
      if (current.size >= limit) return false;
      holders.set(key, current.add(holder));
      return true;
    },
    async release(key, holder) {
      const current = holders.get(key);
      current?.delete(holder);
      if (current?.size === 0) holders.delete(key);
    },
  };
}

/** Stable policy names (RL-2): clients and dashboards key on them, so they never carry key material or task names. */
export const POLICIES = {
  requests: { name: 'per-key-task-minute', windowSeconds: 60, unit: undefined },
  tokens: { name: 'per-key-tokens-day', windowSeconds: 86_400, unit: 'tokens' },
  concurrency: { name: 'per-key-concurrency', windowSeconds: 1, unit: undefined },
  authFailures: { name: 'per-ip-auth-failures-minute', windowSeconds: 60, unit: undefined },
  screenCalls: { name: 'per-key-screen-calls-minute', windowSeconds: 60, unit: undefined },
} as const;
export type PolicyName = (typeof POLICIES)[keyof typeof POLICIES]['name'];

export interface RateLimitDecision {
  readonly allowed: boolean;
  /** For the `violated-policies` problem member when not allowed. */
  readonly policy: PolicyName;
  /** `RateLimit-Policy` field value, e.g. `"per-key-task-minute";q=60;w=60`. */
  readonly policyHeader: string;
  /** `RateLimit` field value, e.g. `"per-key-task-minute";r=59;t=42`. */
  readonly limitHeader: string;
  /** Whole seconds for `Retry-After`, at least the reported `t` (RL-1); present only when not allowed. */
  readonly retryAfterSeconds?: number;
}

export interface RateLimits {
  /** Counts one request for this key and task; call only after authentication succeeded (RL-3). */
  consumeRequest(keyId: string, task: string): Promise<RateLimitDecision>;
  /** Reports the remaining daily token budget without spending it; not allowed once it is used up. */
  checkTokenBudget(keyId: string): Promise<RateLimitDecision>;
  /** Records tokens actually used. Always recorded, even past the budget, because the upstream already spent them. */
  chargeTokens(keyId: string, tokens: number): Promise<RateLimitDecision>;
  /**
   * Sets `tokens` of the daily budget aside before a model call (B6), so concurrent calls cannot all spend the same
   * remainder. Refused (nothing set aside) when they do not fit; settle the reservation to the actual usage after the
   * call, or release it when the call failed.
   */
  reserveTokens(keyId: string, tokens: number): Promise<TokenReservation>;
  /** Takes one of the key's concurrent execution slots (LLM10-6); refused when all are in use. */
  acquireSlot(keyId: string, holder: string): Promise<ExecutionSlot>;
  /** Pre-auth check: is this IP already over its auth-failure limit? Spends nothing. */
  checkAuthFailures(ip: string): Promise<RateLimitDecision>;
  /** Counts one failed authentication from this IP; never touches any per-key quota. */
  consumeAuthFailure(ip: string): Promise<RateLimitDecision>;
}

export type ExecutionSlot =
  | {
      readonly allowed: true;
      release(): Promise<void>;
      /** The release as a write that finishes the call (committed with its outcome where the slot lives in its file). */
      releasing(): FinishingWrite;
    }
  | { readonly allowed: false; readonly decision: RateLimitDecision };

export type TokenReservation =
  | {
      readonly allowed: true;
      settle(actualTokens: number): Promise<void>;
      release(): Promise<void>;
      /** settle and release as writes that finish the call, committed with its outcome where the budget lives in its file. */
      settling(actualTokens: number): FinishingWrite;
      releasing(): FinishingWrite;
    }
  | { readonly allowed: false; readonly decision: RateLimitDecision };

export interface CreateRateLimitsOptions extends z.input<typeof RateLimitsConfig> {
  /** Jitter source for `t` and `Retry-After` (RL-4). */
  readonly random: RandomFraction;
  /** Defaults to RateLimiterMemory; pass one building RateLimiterRedis for several instances. */
  readonly storeFactory?: RateLimiterStoreFactory;
  /** Defaults to this process's slots; pass the Redis one for several instances. */
  readonly concurrencyStore?: ConcurrencyStore;
  /** How long a slot outlives a holder that never released it (its process died): the request deadline. */
  readonly slotLeaseMs?: number;
}

const memoryStore: RateLimiterStoreFactory = (options) => new RateLimiterMemory(options);

type Policy = (typeof POLICIES)[keyof typeof POLICIES];

/** Up to 10% later, never earlier (RL-4): a reset reported late only makes clients wait a little longer. */
function jitteredSeconds(ms: number, random: RandomFraction): number {
  return Math.ceil((Math.max(ms, 0) / 1000) * (1 + 0.1 * drawFraction(random)));
}

interface Limiter {
  readonly policy: Policy;
  readonly quota: number;
  readonly store: RateLimiterStore;
}

/** `allowed` means the quota has room for the next unit: consumed ≤ q after a consume, < q for a peek or charge. */
function decideFor({ policy, quota }: Limiter, res: RateLimiterRes | null, allowed: boolean, random: RandomFraction): RateLimitDecision {
  const consumed = res?.consumedPoints ?? 0;
  // A fresh or never-expiring record has no reset time; report the full window rather than 0.
  const msToReset = res === null || res.msBeforeNext < 0 ? policy.windowSeconds * 1000 : res.msBeforeNext;
  const t = jitteredSeconds(msToReset, random);
  const unit = policy.unit === undefined ? '' : `;qu="${policy.unit}"`;
  return {
    allowed,
    policy: policy.name,
    policyHeader: `"${policy.name}";q=${quota}${unit};w=${policy.windowSeconds}`,
    limitHeader: `"${policy.name}";r=${Math.max(quota - consumed, 0)};t=${t}`,
    ...(allowed ? {} : { retryAfterSeconds: Math.max(t, 1) }),
  };
}

async function consumeOne(target: Limiter, key: string, random: RandomFraction): Promise<RateLimitDecision> {
  try {
    return decideFor(target, await target.store.consume(key, 1), true, random);
  } catch (rejection) {
    // rate-limiter-flexible rejects with a RateLimiterRes when over the limit and with an Error when the store fails.
    if (rejection instanceof RateLimiterRes) return decideFor(target, rejection, false, random);
    throw rejection;
  }
}

/**
 * A per-key count of calls in a one-minute window, on the same stores as the other limits (in Redis, one count for
 * every process): the budget of calls a key may cause to the screen model (LLM10-5).
 */
export function createScreenCallBudget(options: { readonly callsPerMinute: number; readonly random: RandomFraction; readonly storeFactory?: RateLimiterStoreFactory }): (keyId: string) => Promise<RateLimitDecision> {
  const policy = POLICIES.screenCalls;
  const quota = z.int().min(1).parse(options.callsPerMinute);
  const target: Limiter = { policy, quota, store: (options.storeFactory ?? memoryStore)({ keyPrefix: policy.name, points: quota, duration: policy.windowSeconds }) };
  return (keyId) => consumeOne(target, keyId, options.random);
}

/**
 * Builds the three limiters. A store error (e.g. Redis down) rejects the returned promise rather than allowing the
 * request: whether to fail open is the caller's explicit decision, never a default.
 */
export function createRateLimits(options: CreateRateLimitsOptions): RateLimits {
  const config = RateLimitsConfig.parse({
    requestsPerMinute: options.requestsPerMinute,
    tokensPerDay: options.tokensPerDay,
    authFailuresPerMinutePerIp: options.authFailuresPerMinutePerIp,
    concurrentPerKey: options.concurrentPerKey,
  });
  const { random, storeFactory = memoryStore, concurrencyStore = memoryConcurrencyStore(), slotLeaseMs = 120_000 } = options;

  const limiter = (policy: Policy, quota: number): Limiter => ({
    policy,
    quota,
    store: storeFactory({ keyPrefix: policy.name, points: quota, duration: policy.windowSeconds }),
  });
  const requests = limiter(POLICIES.requests, config.requestsPerMinute);
  const tokens = limiter(POLICIES.tokens, config.tokensPerDay);
  const authFailures = limiter(POLICIES.authFailures, config.authFailuresPerMinutePerIp);
  const decide = (target: Limiter, res: RateLimiterRes | null, allowed: boolean): RateLimitDecision => decideFor(target, res, allowed, random);
  const consume = (target: Limiter, key: string): Promise<RateLimitDecision> => consumeOne(target, key, random);

  const peek = async (target: Limiter, key: string): Promise<RateLimitDecision> => {
    const stored = await target.store.get(key);
    // The memory store deletes a record by timer, so an expired one can still be read for a moment.
    const res = stored !== null && stored.msBeforeNext > 0 ? stored : null;
    return decide(target, res, (res?.consumedPoints ?? 0) < target.quota);
  };

  // JSON keeps (keyId, task) unambiguous whatever characters a task name contains.
  const requestKey = (keyId: string, task: string): string => JSON.stringify([keyId, task]);

  return {
    consumeRequest: (keyId, task) => consume(requests, requestKey(keyId, task)),
    checkTokenBudget: (keyId) => peek(tokens, keyId),
    async chargeTokens(keyId, used) {
      if (!Number.isSafeInteger(used) || used < 0) throw new RangeError('tokens must be a non-negative integer');
      if (used === 0) return peek(tokens, keyId);
      const res = await tokens.store.penalty(keyId, used);
      return decide(tokens, res, res.consumedPoints < tokens.quota);
    },
    async reserveTokens(keyId, reserved) {
      if (!Number.isSafeInteger(reserved) || reserved < 1) throw new RangeError('a reservation must be a positive integer');
      try {
        await tokens.store.consume(keyId, reserved);
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        // The store counted the refused points; hand them back so a refusal spends nothing.
        await tokens.store.reward(keyId, reserved);
        return { allowed: false, decision: decide(tokens, rejection, false) };
      }
      const once = settleOnce();
      // Charges the difference to the reservation: more when the call used more, handed back when it used less.
      const adjust = (points: number) => (): Promise<unknown> =>
        points > 0 ? tokens.store.penalty(keyId, points) : points < 0 ? tokens.store.reward(keyId, -points) : Promise.resolve();
      const adjustment = (points: number): FinishingWrite =>
        once.write(adjust(points), points === 0 ? undefined : tokens.store.changeInFile?.(keyId, points));
      return {
        allowed: true,
        settle: (actual) => once.now(adjust(actual - reserved)),
        release: () => once.now(adjust(-reserved)),
        settling: (actual) => adjustment(actual - reserved),
        releasing: () => adjustment(-reserved),
      };
    },
    async acquireSlot(keyId, holder) {
      const policy = POLICIES.concurrency;
      if (!(await concurrencyStore.acquire(keyId, holder, config.concurrentPerKey, slotLeaseMs))) {
        const decision: RateLimitDecision = {
          allowed: false,
          policy: policy.name,
          policyHeader: `"${policy.name}";q=${config.concurrentPerKey};w=${policy.windowSeconds}`,
          limitHeader: `"${policy.name}";r=0;t=1`,
          retryAfterSeconds: 1,
        };
        return { allowed: false, decision };
      }
      const once = settleOnce();
      const release = (): Promise<void> => concurrencyStore.release(keyId, holder);
      return {
        allowed: true,
        release: () => once.now(release),
        releasing: () => once.write(release, concurrencyStore.releaseInFile?.(keyId, holder)),
      };
    },
    checkAuthFailures: (ip) => peek(authFailures, ip),
    consumeAuthFailure: (ip) => consume(authFailures, ip),
  };
}

/** Joins several decisions into one `RateLimit-Policy` and one `RateLimit` value (SF Lists), as RL-2 wants both limits shown. */
export function mergeRateLimitHeaders(decisions: readonly RateLimitDecision[]): { policyHeader: string; limitHeader: string } {
  return {
    policyHeader: decisions.map((decision) => decision.policyHeader).join(', '),
    limitHeader: decisions.map((decision) => decision.limitHeader).join(', '),
  };
}
