import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { parseList, type BareItem } from 'structured-headers';
import { ZodError } from 'zod';
import {
  createRateLimits,
  mergeRateLimitHeaders,
  type CreateRateLimitsOptions,
  type RateLimitDecision,
  type RateLimiterStoreFactory,
} from '../src/security/rate-limit.js';

const config = { requestsPerMinute: 3, tokensPerDay: 1_000, authFailuresPerMinutePerIp: 2 };
const noJitter = () => 0;

/** Pins the clock rate-limiter-flexible reads, so windows and `t` are exact. */
const pinClock = (t: TestContext): void => t.mock.timers.enable({ apis: ['Date', 'setTimeout'], now: 1_767_225_600_000 });

const limits = (overrides: Partial<CreateRateLimitsOptions> = {}) => createRateLimits({ ...config, random: noJitter, ...overrides });

/** Parses a field value as an RFC 9651 List and returns each member's name and parameters. */
function members(field: string): { name: BareItem; params: Record<string, BareItem> }[] {
  return parseList(field).map((member) => {
    assert.ok(!Array.isArray(member[0]), 'members must be Items, not Inner Lists');
    return { name: member[0], params: Object.fromEntries(member[1]) };
  });
}

function only(field: string): { name: BareItem; params: Record<string, BareItem> } {
  const [member, ...rest] = members(field);
  assert.ok(member !== undefined && rest.length === 0);
  return member;
}

describe('RateLimit headers (RL-2, draft-10 syntax)', () => {
  test('consumeRequest, when allowed, then both fields parse as SF Lists with the stable policy name, q, w, r and t', async (t) => {
    pinClock(t);
    const decision = await limits({ requestsPerMinute: 60 }).consumeRequest('key_a', 'summarize');
    assert.equal(decision.allowed, true);
    assert.equal(decision.policyHeader, '"per-key-task-minute";q=60;w=60');
    assert.deepEqual(only(decision.policyHeader), { name: 'per-key-task-minute', params: { q: 60, w: 60 } });
    assert.deepEqual(only(decision.limitHeader), { name: 'per-key-task-minute', params: { r: 59, t: 60 } });
    assert.equal(decision.retryAfterSeconds, undefined);
  });

  test('consumeRequest, when the key id is known, then neither field carries it or a pk parameter', async () => {
    const decision = await limits().consumeRequest('ak_secret_key_id', 'summarize');
    for (const field of [decision.policyHeader, decision.limitHeader]) {
      assert.ok(!field.includes('ak_secret_key_id') && !field.includes('summarize'));
      assert.ok(!('pk' in only(field).params));
    }
  });

  test('checkTokenBudget, when reported, then the policy is per-key-tokens-day in tokens over 86400 s', async () => {
    const decision = await limits().checkTokenBudget('key_a');
    assert.deepEqual(only(decision.policyHeader), { name: 'per-key-tokens-day', params: { q: 1000, qu: 'tokens', w: 86_400 } });
    assert.equal(only(decision.limitHeader).params['r'], 1000);
  });

  test('mergeRateLimitHeaders, when given the request and token decisions, then each field is one List naming both policies', async () => {
    const rateLimits = limits();
    const merged = mergeRateLimitHeaders([await rateLimits.consumeRequest('key_a', 'summarize'), await rateLimits.checkTokenBudget('key_a')]);
    assert.deepEqual(members(merged.policyHeader).map((member) => member.name), ['per-key-task-minute', 'per-key-tokens-day']);
    assert.deepEqual(members(merged.limitHeader).map((member) => member.params['r']), [2, 1000]);
  });
});

describe('per-key request limit (RL-1, RL-3, LLM10-5)', () => {
  test('consumeRequest, when a burst exceeds the limit, then the extra request is refused with Retry-After ≥ t', async (t) => {
    pinClock(t);
    const rateLimits = limits();
    const decisions: RateLimitDecision[] = [];
    for (let index = 0; index < 4; index += 1) decisions.push(await rateLimits.consumeRequest('key_a', 'summarize'));
    assert.deepEqual(decisions.map((decision) => decision.allowed), [true, true, true, false]);
    const refused = decisions[3]!;
    const { params } = only(refused.limitHeader);
    assert.equal(params['r'], 0);
    assert.equal(refused.policy, 'per-key-task-minute');
    assert.ok(Number.isInteger(refused.retryAfterSeconds));
    assert.ok(refused.retryAfterSeconds! >= (params['t'] as number) && refused.retryAfterSeconds! >= 1);
  });

  test('consumeRequest, when one task or key is exhausted, then other tasks and keys keep their own quota', async () => {
    const rateLimits = limits();
    for (let index = 0; index < 4; index += 1) await rateLimits.consumeRequest('key_a', 'summarize');
    assert.equal((await rateLimits.consumeRequest('key_a', 'classify')).allowed, true);
    assert.equal((await rateLimits.consumeRequest('key_b', 'summarize')).allowed, true);
  });

  test('consumeRequest, when the minute window has passed, then the quota is restored', async (t) => {
    pinClock(t);
    const rateLimits = limits();
    for (let index = 0; index < 4; index += 1) await rateLimits.consumeRequest('key_a', 'summarize');
    t.mock.timers.tick(60_000);
    const decision = await rateLimits.consumeRequest('key_a', 'summarize');
    assert.equal(decision.allowed, true);
    assert.equal(only(decision.limitHeader).params['r'], 2);
  });

  test('consumeAuthFailure, when an IP floods failed logins, then a valid key keeps its full request quota (RL-3)', async () => {
    const rateLimits = limits();
    for (let index = 0; index < 10; index += 1) await rateLimits.consumeAuthFailure('203.0.113.7');
    const decision = await rateLimits.consumeRequest('key_a', 'summarize');
    assert.equal(only(decision.limitHeader).params['r'], 2);
  });
});

describe('per-IP auth-failure limit (API2, RL-3)', () => {
  test('consumeAuthFailure, when failures exceed the stricter limit, then further attempts from that IP are refused', async () => {
    const rateLimits = limits();
    const decisions: boolean[] = [];
    for (let index = 0; index < 3; index += 1) decisions.push((await rateLimits.consumeAuthFailure('203.0.113.7')).allowed);
    assert.deepEqual(decisions, [true, true, false]);
    const check = await rateLimits.checkAuthFailures('203.0.113.7');
    assert.equal(check.allowed, false);
    assert.equal(check.policy, 'per-ip-auth-failures-minute');
    assert.ok(check.retryAfterSeconds !== undefined && check.retryAfterSeconds >= 1);
    assert.equal((await rateLimits.checkAuthFailures('198.51.100.1')).allowed, true);
  });

  test('checkAuthFailures, when called repeatedly, then it spends nothing and leaves the IP in the header out', async () => {
    const rateLimits = limits();
    for (let index = 0; index < 5; index += 1) await rateLimits.checkAuthFailures('203.0.113.7');
    const decision = await rateLimits.consumeAuthFailure('203.0.113.7');
    assert.equal(decision.allowed, true);
    assert.equal(only(decision.limitHeader).params['r'], 1);
    assert.ok(!decision.limitHeader.includes('203.0.113.7') && !decision.policyHeader.includes('203.0.113.7'));
  });
});

describe('per-key daily token budget (LLM10-5)', () => {
  test('chargeTokens, when usage reaches the budget, then the budget check refuses further calls with Retry-After', async () => {
    const rateLimits = limits();
    assert.equal((await rateLimits.chargeTokens('key_a', 800)).allowed, true);
    assert.equal(only((await rateLimits.checkTokenBudget('key_a')).limitHeader).params['r'], 200);
    const overspent = await rateLimits.chargeTokens('key_a', 300);
    assert.equal(overspent.allowed, false);
    assert.equal(only(overspent.limitHeader).params['r'], 0);
    const check = await rateLimits.checkTokenBudget('key_a');
    assert.equal(check.allowed, false);
    assert.equal(check.policy, 'per-key-tokens-day');
    assert.ok(check.retryAfterSeconds !== undefined && check.retryAfterSeconds >= (only(check.limitHeader).params['t'] as number));
  });

  test('chargeTokens, when a charge overshoots the budget, then all tokens are still recorded', async () => {
    const rateLimits = limits();
    await rateLimits.chargeTokens('key_a', 1_500);
    await rateLimits.chargeTokens('key_a', 0);
    const budgets = await Promise.all([rateLimits.checkTokenBudget('key_a'), rateLimits.checkTokenBudget('key_b')]);
    assert.deepEqual(budgets.map((budget) => budget.allowed), [false, true]);
  });

  test('chargeTokens, when the count is negative or fractional, then it rejects rather than refund the budget', async () => {
    const rateLimits = limits();
    for (const tokens of [-5, 1.5, Number.NaN]) await assert.rejects(rateLimits.chargeTokens('key_a', tokens), RangeError);
  });
});

describe('jitter (RL-4)', () => {
  test('consumeRequest, when jitter is drawn, then t grows by 0-10% and Retry-After is never below t', async (t) => {
    pinClock(t);
    await fc.assert(
      fc.asyncProperty(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), async (fraction) => {
        const rateLimits = limits({ requestsPerMinute: 1, random: () => fraction });
        await rateLimits.consumeRequest('key_a', 'summarize');
        const refused = await rateLimits.consumeRequest('key_a', 'summarize');
        const reset = only(refused.limitHeader).params['t'] as number;
        assert.ok(reset >= 60 && reset <= 66, String(reset));
        assert.ok(refused.retryAfterSeconds! >= reset);
      }),
    );
  });

  test('consumeRequest, when the jitter source returns its maximum, then t is 10% later than the reset', async (t) => {
    pinClock(t);
    const decision = await limits({ random: () => 0.999_999 }).consumeRequest('key_a', 'summarize');
    assert.equal(only(decision.limitHeader).params['t'], 66);
  });
});

describe('configuration and stores', () => {
  test('createRateLimits, when a limit is zero or fractional, then it refuses the configuration', () => {
    assert.throws(() => limits({ requestsPerMinute: 0 }), ZodError);
    assert.throws(() => limits({ tokensPerDay: 1.5 }), ZodError);
    assert.throws(() => limits({ authFailuresPerMinutePerIp: -1 }), ZodError);
  });

  test('createRateLimits, when given a store factory, then every limiter comes from it with its policy name and window', async () => {
    const created: { keyPrefix: string; points: number; duration: number }[] = [];
    const factory: RateLimiterStoreFactory = (options) => {
      created.push(options);
      return {
        consume: () => Promise.resolve(new RateLimiterRes(0, 30_000, 1, false)),
        penalty: () => Promise.resolve(new RateLimiterRes(0, 30_000, 1, false)),
        reward: () => Promise.resolve(new RateLimiterRes(0, 30_000, 1, false)),
        get: () => Promise.resolve(null),
      };
    };
    const decision = await limits({ storeFactory: factory }).consumeRequest('key_a', 'summarize');
    assert.deepEqual(created, [
      { keyPrefix: 'per-key-task-minute', points: 3, duration: 60 },
      { keyPrefix: 'per-key-tokens-day', points: 1000, duration: 86_400 },
      { keyPrefix: 'per-ip-auth-failures-minute', points: 2, duration: 60 },
    ]);
    assert.deepEqual(only(decision.limitHeader).params, { r: 2, t: 30 });
  });

  test('checkTokenBudget, when the store still returns a record whose window has ended, then the budget counts as fresh', async () => {
    const stale: RateLimiterStoreFactory = () => ({
      consume: () => Promise.reject(new Error('unused')),
      penalty: () => Promise.reject(new Error('unused')),
      reward: () => Promise.reject(new Error('unused')),
      get: () => Promise.resolve(new RateLimiterRes(0, 0, 5_000, false)),
    });
    const decision = await limits({ storeFactory: stale }).checkTokenBudget('key_a');
    assert.equal(decision.allowed, true);
    assert.deepEqual(only(decision.limitHeader).params, { r: 1000, t: 86_400 });
  });

  test('consumeRequest, when the store fails, then the error propagates instead of allowing the request', async () => {
    const failing: RateLimiterStoreFactory = () => ({
      consume: () => Promise.reject(new Error('redis down')),
      penalty: () => Promise.reject(new Error('redis down')),
      reward: () => Promise.reject(new Error('redis down')),
      get: () => Promise.reject(new Error('redis down')),
    });
    const rateLimits = limits({ storeFactory: failing });
    await assert.rejects(rateLimits.consumeRequest('key_a', 'summarize'), /redis down/);
    await assert.rejects(rateLimits.checkTokenBudget('key_a'), /redis down/);
  });
});
