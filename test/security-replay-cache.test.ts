// The replay-cache contract (SIG-5, with B2/B8) against the embedded store's implementation, on a real SQLite file:
// an id is claimed while its request runs, completed by a final outcome, released by a transient failure.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite/index.js';
import { freshSecretBox } from './helpers/context.js';

const at = (seconds: number): Date => new Date(Date.UTC(2026, 0, 1) + seconds * 1000);
const TTL = 600;

describe('the SQLite replay cache (SIG-5)', () => {
  let dir: string;
  let store: SqliteStore;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-replay-'));
    store = openSqliteStore({ path: join(dir, 'replay.db'), secretBox: freshSecretBox() });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const claim = (scope: string, id: string, seconds: number, token = randomUUID()) => store.replayCache.claim({ scope, id }, token, TTL, at(seconds));
  /** Claims and completes `id`, as a request with a final outcome does. */
  async function consume(scope: string, id: string, seconds: number, replayScope: string | null = null): Promise<void> {
    const claimed = await claim(scope, id, seconds);
    assert.equal(claimed.kind, 'claimed');
    if (claimed.kind === 'claimed') assert.equal(await store.replayCache.complete({ scope, id }, claimed.token, replayScope, TTL, at(seconds)), true);
  }

  test('claim, when an id is new, then claimed; while it runs, then in_flight; once completed, then completed with its replay scope', async () => {
    const first = await claim('key_a', 'msg_1', 0);
    assert.equal(first.kind, 'claimed');
    assert.deepEqual(await claim('key_a', 'msg_1', 1), { kind: 'in_flight' });
    if (first.kind === 'claimed') assert.equal(await store.replayCache.complete({ scope: 'key_a', id: 'msg_1' }, first.token, 'scope-x', TTL, at(2)), true);
    assert.deepEqual(await claim('key_a', 'msg_1', 3), { kind: 'completed', replayScope: 'scope-x' });
    assert.deepEqual(await claim('key_a', 'msg_1', 2 + TTL - 1), { kind: 'completed', replayScope: 'scope-x' });
  });

  test('release (SIG-5 B8), when the claim holder releases after a transient failure, then the retry with the same id claims it again', async () => {
    const first = await claim('key_a', 'msg_2', 0);
    assert.equal(first.kind, 'claimed');
    if (first.kind === 'claimed') await store.replayCache.release({ scope: 'key_a', id: 'msg_2' }, first.token);
    assert.equal((await claim('key_a', 'msg_2', 1)).kind, 'claimed');
  });

  test('complete and release (SIG-5 B8), when the token is not the holder\'s, then change nothing; a completed id is never released', async () => {
    const first = await claim('key_a', 'msg_3', 0);
    assert.equal(first.kind, 'claimed');
    await store.replayCache.release({ scope: 'key_a', id: 'msg_3' }, 'someone-else');
    assert.equal(await store.replayCache.complete({ scope: 'key_a', id: 'msg_3' }, 'someone-else', null, TTL, at(1)), false);
    assert.deepEqual(await claim('key_a', 'msg_3', 1), { kind: 'in_flight' });
    if (first.kind !== 'claimed') return;
    assert.equal(await store.replayCache.complete({ scope: 'key_a', id: 'msg_3' }, first.token, null, TTL, at(2)), true);
    await store.replayCache.release({ scope: 'key_a', id: 'msg_3' }, first.token);
    assert.deepEqual(await claim('key_a', 'msg_3', 3), { kind: 'completed', replayScope: null });
  });

  test('claim, when the same id arrives under another API key, or scope and id split the same text differently, then it is independent', async () => {
    await consume('key_a', 'msg_4', 0);
    assert.equal((await claim('key_b', 'msg_4', 0)).kind, 'claimed');
    assert.equal((await claim('a:b', 'c', 0)).kind, 'claimed');
    assert.equal((await claim('a', 'b:c', 0)).kind, 'claimed');
  });

  test('claim, when the TTL has passed, then the id counts as new again', async () => {
    await consume('key_a', 'msg_5', 0);
    assert.equal((await claim('key_a', 'msg_5', TTL)).kind, 'claimed');
    assert.deepEqual(await claim('key_a', 'msg_5', TTL + 1), { kind: 'in_flight' });
  });

  test('claim, when the store is reopened, then ids completed before the restart are still replays', async () => {
    await consume('key_c', 'msg_6', 0);
    await store.close();
    store = openSqliteStore({ path: join(dir, 'replay.db'), secretBox: freshSecretBox() });
    assert.deepEqual(await claim('key_c', 'msg_6', 5), { kind: 'completed', replayScope: null });
  });
});
