// Rate limits on Redis (AIRLOCK_REDIS_URL): limiters in two processes share one budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createRateLimits } from '../../src/security/rate-limit.js';
import { openRedis, redisConcurrencyStore, redisRateLimiters } from '../../src/store/redis/index.js';
import { requireEngines } from '../helpers/engines.js';
import { startMockUpstream } from '../helpers/mock-upstream.js';
import { loadConfig } from '../../src/config.js';
import { createModelScreen } from '../../src/runtime.js';

const engines = requireEngines();

test('rate limits on Redis, when two processes consume for one key, then together they get the quota once, not twice', async () => {
  const clients = [openRedis(engines.redisUrl), openRedis(engines.redisUrl)];
  try {
    const [a, b] = clients.map((client) =>
      createRateLimits({ requestsPerMinute: 5, tokensPerDay: 1_000, authFailuresPerMinutePerIp: 3, random: () => 0, storeFactory: redisRateLimiters(client) }),
    );
    const keyId = `key_${randomUUID()}`;
    const decisions = [];
    for (let i = 0; i < 10; i += 1) decisions.push(await (i % 2 === 0 ? a : b)!.consumeRequest(keyId, 'support.answer'));
    assert.equal(decisions.filter((d) => d.allowed).length, 5);
    assert.ok(decisions.slice(5).every((d) => !d.allowed && (d.retryAfterSeconds ?? 0) >= 1));

    await a!.chargeTokens(keyId, 800);
    assert.equal((await b!.checkTokenBudget(keyId)).allowed, true);
    await b!.chargeTokens(keyId, 300);
    assert.equal((await a!.checkTokenBudget(keyId)).allowed, false, 'tokens charged on either process spend one daily budget');
  } finally {
    await Promise.all(clients.map((client) => client.quit()));
  }
});

test('LLM10-5 LLM10-6 B6: reservations and execution slots on Redis, when two processes reserve for one key at once, then together they never exceed the budget or the cap', async () => {
  const clients = [openRedis(engines.redisUrl), openRedis(engines.redisUrl)];
  try {
    const [a, b] = clients.map((client) =>
      createRateLimits({
        requestsPerMinute: 1_000,
        tokensPerDay: 100,
        authFailuresPerMinutePerIp: 3,
        concurrentPerKey: 3,
        random: () => 0,
        storeFactory: redisRateLimiters(client),
        concurrencyStore: redisConcurrencyStore(client),
        slotLeaseMs: 1_000,
      }),
    );
    const keyId = `key_${randomUUID()}`;
    // 60 concurrent 20-token reservations against a 100-token budget: five fit, the rest are refused and spend nothing.
    const reservations = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a : b)!.reserveTokens(keyId, 20)));
    const granted = reservations.filter((reservation) => reservation.allowed);
    assert.equal(granted.length, 5);
    assert.ok(reservations.every((reservation) => reservation.allowed || (reservation.decision.retryAfterSeconds ?? 0) >= 1));
    // Settled to less than reserved, the difference comes back; a released one comes back whole.
    for (const reservation of granted.slice(0, 2)) if (reservation.allowed) await reservation.settle(10);
    for (const reservation of granted.slice(2)) if (reservation.allowed) await reservation.release();
    const again = await b!.reserveTokens(keyId, 80);
    assert.equal(again.allowed, true, '100 - 2 × 10 = 80 tokens are left');
    assert.equal((await a!.reserveTokens(keyId, 1)).allowed, false);

    const slots = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a : b)!.acquireSlot(keyId, `holder-${i}`)));
    assert.equal(slots.filter((slot) => slot.allowed).length, 3);
    const held = slots.find((slot) => slot.allowed);
    if (held?.allowed) await held.release();
    assert.equal((await a!.acquireSlot(keyId, 'after-release')).allowed, true, 'a released slot is free for another process');
    // A holder that died without releasing frees its slot when its lease ends.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    assert.equal((await b!.acquireSlot(keyId, 'after-lease')).allowed, true);
  } finally {
    await Promise.all(clients.map((client) => client.quit()));
  }
});

test('LLM10-5 issue 15 item 4: the model screen call budget on Redis, when two processes screen for one key, then together they make AIRLOCK_SCREEN_CALLS_PER_MINUTE calls and the rest fail closed', async () => {
  const upstream = await startMockUpstream([{ kind: 'answer', content: JSON.stringify({ verdict: 'safe', category: 'none', confidence: 0.9 }) }]);
  const clients = [openRedis(engines.redisUrl), openRedis(engines.redisUrl)];
  try {
    const config = loadConfig({ AIRLOCK_ALLOWED_MODELS: 'gpt-4o-mini,guard-model', AIRLOCK_SCREEN_MODEL: 'guard-model', AIRLOCK_SCREEN_BASE_URL: upstream.baseURL, AIRLOCK_SCREEN_CALLS_PER_MINUTE: '3' });
    const screens = clients.map((client) => createModelScreen(config, redisRateLimiters(client)));
    const keyId = `key_${randomUUID()}`;
    const outcomes = [];
    for (let i = 0; i < 6; i += 1) outcomes.push(await screens[i % 2]!.screen(`text number ${i}`, keyId));

    assert.equal(outcomes.filter((outcome) => outcome.kind === 'verdict').length, 3);
    assert.deepEqual(outcomes.slice(3).map((outcome) => (outcome.kind === 'unavailable' ? outcome.reason : outcome.kind)), ['budget_exhausted', 'budget_exhausted', 'budget_exhausted']);
    assert.equal(upstream.requests.length, 3, 'one count for both processes, not one each');
  } finally {
    await Promise.all(clients.map((client) => client.quit()));
    await upstream.close();
  }
});
