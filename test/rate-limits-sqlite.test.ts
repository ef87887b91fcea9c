// The embedded store's shared limits (store/sqlite/rate-limits.ts, issue 17 item 4): two connections to one SQLite file,
// as two worker processes hold them, each with its own createRateLimits, on one injected clock so windows and leases
// can be seen to end. The real-process behaviour is in test/processes.test.ts.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite/index.js';
import { createSqliteConcurrencyStore, createSqliteRateLimiters } from '../src/store/sqlite/rate-limits.js';
import { createRateLimits, type RateLimits } from '../src/security/rate-limit.js';
import { dataDirSecretBox } from './helpers/context.js';

describe('rate limits in the SQLite file, shared by two processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-limits-'));
  const stores: SqliteStore[] = [];
  let now = Date.parse('2026-11-26T10:00:00Z');
  const clock = (): Date => new Date(now);

  /** One "process": its own connection to the file and its own limiters. */
  const processOnFile = (): RateLimits => {
    const store = openSqliteStore({ path: join(dir, 'airlock.db'), secretBox: dataDirSecretBox(dir) });
    stores.push(store);
    return createRateLimits({
      requestsPerMinute: 3,
      tokensPerDay: 100,
      authFailuresPerMinutePerIp: 2,
      concurrentPerKey: 2,
      random: () => 0,
      storeFactory: createSqliteRateLimiters(store.db, clock),
      concurrencyStore: createSqliteConcurrencyStore(store.db, clock),
      slotLeaseMs: 30_000,
    });
  };
  const [a, b] = [processOnFile(), processOnFile()];

  after(async () => {
    for (const store of stores) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('RL-1 RL-2: requests counted on either connection spend one per-minute budget, and the window ends after its minute', async () => {
    const decisions = [];
    for (let i = 0; i < 6; i += 1) decisions.push(await (i % 2 === 0 ? a : b).consumeRequest('key_rl', 'support.answer'));
    assert.deepEqual(decisions.map((decision) => decision.allowed), [true, true, true, false, false, false]);
    assert.equal(decisions[2]?.limitHeader, '"per-key-task-minute";r=0;t=60');
    assert.equal(decisions[5]?.retryAfterSeconds, 60);
    now += 30_000;
    assert.equal((await b.consumeRequest('key_rl', 'support.answer')).limitHeader, '"per-key-task-minute";r=0;t=30', 'the window is not restarted by refused requests');
    now += 30_000;
    const fresh = await b.consumeRequest('key_rl', 'support.answer');
    assert.equal(fresh.allowed, true);
    assert.equal(fresh.limitHeader, '"per-key-task-minute";r=2;t=60');
  });

  test('RL-3: auth failures from one address counted on both connections reach the per-IP limit once', async () => {
    await a.consumeAuthFailure('192.0.2.7');
    assert.equal((await b.checkAuthFailures('192.0.2.7')).allowed, true);
    await b.consumeAuthFailure('192.0.2.7');
    assert.equal((await a.checkAuthFailures('192.0.2.7')).allowed, false);
    assert.equal((await a.checkAuthFailures('192.0.2.8')).allowed, true, 'another address is counted apart');
  });

  test('LLM10-5 B6: reservations on both connections never exceed the daily budget; settling and releasing hand the difference back', async () => {
    const reservations = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a : b).reserveTokens('key_budget', 30)));
    const granted = reservations.filter((reservation) => reservation.allowed);
    assert.equal(granted.length, 3, '3 × 30 of 100 tokens fit');
    const [settled, released] = granted;
    if (settled?.allowed) await settled.settle(10);
    if (released?.allowed) await released.release();
    // 100 - 10 (settled) - 30 (still reserved) = 60 left.
    assert.equal((await b.reserveTokens('key_budget', 61)).allowed, false);
    assert.equal((await a.reserveTokens('key_budget', 60)).allowed, true);
    assert.equal((await b.checkTokenBudget('key_budget')).allowed, false, 'the budget is used up on the other connection too');
    now += 86_400_000;
    assert.equal((await b.checkTokenBudget('key_budget')).allowed, true, 'a new day, a new budget');
  });

  test('LLM10-6: execution slots taken on both connections respect one cap; a slot whose holder died frees itself when its lease ends', async () => {
    const first = await a.acquireSlot('key_slots', 'holder-1');
    const second = await b.acquireSlot('key_slots', 'holder-2');
    assert.deepEqual([first.allowed, second.allowed], [true, true]);
    const third = await a.acquireSlot('key_slots', 'holder-3');
    assert.equal(third.allowed, false);
    if (!third.allowed) assert.equal(third.decision.policy, 'per-key-concurrency');
    if (first.allowed) await first.release();
    assert.equal((await b.acquireSlot('key_slots', 'holder-4')).allowed, true, 'a released slot is free on the other connection');
    // holder-2 and holder-4 never release (their process died): the cap holds until their leases end.
    assert.equal((await a.acquireSlot('key_slots', 'holder-5')).allowed, false);
    now += 30_000;
    assert.equal((await a.acquireSlot('key_slots', 'holder-6')).allowed, true);
  });
});
