// Rate limits on Redis (AIRLOCK_REDIS_URL): limiters in two processes share one budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createRateLimits } from '../../src/security/rate-limit.js';
import { openRedis, redisRateLimiters } from '../../src/store/redis/index.js';
import { requireEngines } from '../helpers/engines.js';

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
