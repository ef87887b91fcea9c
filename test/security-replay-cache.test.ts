import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../src/errors.js';
import { createMemoryReplayCache } from '../src/security/replay-cache.js';

const at = (seconds: number): Date => new Date(Date.UTC(2026, 0, 1) + seconds * 1000);
const TTL = 600;

describe('createMemoryReplayCache (SIG-5)', () => {
  test('remember, when an id is seen for the first time, then true; when seen again within the TTL, then false', async () => {
    const cache = createMemoryReplayCache();
    assert.equal(await cache.remember('key_a', 'msg_1', TTL, at(0)), true);
    assert.equal(await cache.remember('key_a', 'msg_1', TTL, at(1)), false);
    assert.equal(await cache.remember('key_a', 'msg_1', TTL, at(599)), false);
  });

  test('remember, when the same id arrives under another API key, then it is independent', async () => {
    const cache = createMemoryReplayCache();
    assert.equal(await cache.remember('key_a', 'msg_1', TTL, at(0)), true);
    assert.equal(await cache.remember('key_b', 'msg_1', TTL, at(0)), true);
  });

  test('remember, when scope and id split the same text differently, then they are different entries', async () => {
    const cache = createMemoryReplayCache();
    assert.equal(await cache.remember('a:b', 'c', TTL, at(0)), true);
    assert.equal(await cache.remember('a', 'b:c', TTL, at(0)), true);
  });

  test('remember, when the TTL has passed, then the id counts as new again', async () => {
    const cache = createMemoryReplayCache();
    await cache.remember('key_a', 'msg_1', TTL, at(0));
    assert.equal(await cache.remember('key_a', 'msg_1', TTL, at(TTL)), true);
    assert.equal(await cache.remember('key_a', 'msg_1', TTL, at(TTL + 1)), false);
  });

  test('remember, when the cache is full of live ids, then it refuses with store_unavailable instead of evicting one', async () => {
    const cache = createMemoryReplayCache({ maxEntries: 2 });
    await cache.remember('key_a', 'msg_1', TTL, at(0));
    await cache.remember('key_a', 'msg_2', TTL, at(1));
    await assert.rejects(cache.remember('key_a', 'msg_3', TTL, at(2)), (error) => error instanceof AppError && error.code === 'store_unavailable');
    assert.equal(await cache.remember('key_a', 'msg_1', TTL, at(3)), false, 'the refused insert must not have evicted a live id');
  });

  test('remember, when the cache is full but some ids have expired, then it sweeps them and accepts the new id', async () => {
    const cache = createMemoryReplayCache({ maxEntries: 2 });
    await cache.remember('key_a', 'msg_1', 10, at(0));
    await cache.remember('key_a', 'msg_2', TTL, at(0));
    assert.equal(await cache.remember('key_a', 'msg_3', TTL, at(10)), true);
    assert.equal(await cache.remember('key_a', 'msg_2', TTL, at(11)), false);
  });

  test('remember, when used, then it schedules no timer that could keep the process alive', async () => {
    const timersBefore = process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    const cache = createMemoryReplayCache();
    for (let index = 0; index < 50; index += 1) await cache.remember('key_a', `msg_${index}`, TTL, at(index));
    const timersAfter = process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    assert.equal(timersAfter, timersBefore);
  });

  test('remember, when the TTL is not a positive whole number of seconds, then it rejects', async () => {
    const cache = createMemoryReplayCache();
    for (const ttl of [0, -1, 1.5]) await assert.rejects(cache.remember('key_a', 'msg_1', ttl, at(0)), RangeError);
    assert.throws(() => createMemoryReplayCache({ maxEntries: 0 }), RangeError);
  });
});
