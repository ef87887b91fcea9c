// The replay-cache contract (SIG-5) against the embedded store's implementation, on a real SQLite file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  test('remember, when an id is seen for the first time, then true; when seen again within the TTL, then false', async () => {
    assert.equal(await store.replayCache.remember('key_a', 'msg_1', TTL, at(0)), true);
    assert.equal(await store.replayCache.remember('key_a', 'msg_1', TTL, at(1)), false);
    assert.equal(await store.replayCache.remember('key_a', 'msg_1', TTL, at(599)), false);
  });

  test('remember, when the same id arrives under another API key, then it is independent', async () => {
    assert.equal(await store.replayCache.remember('key_a', 'msg_2', TTL, at(0)), true);
    assert.equal(await store.replayCache.remember('key_b', 'msg_2', TTL, at(0)), true);
  });

  test('remember, when scope and id split the same text differently, then they are different entries', async () => {
    assert.equal(await store.replayCache.remember('a:b', 'c', TTL, at(0)), true);
    assert.equal(await store.replayCache.remember('a', 'b:c', TTL, at(0)), true);
  });

  test('remember, when the TTL has passed, then the id counts as new again, and is then remembered afresh', async () => {
    await store.replayCache.remember('key_a', 'msg_3', TTL, at(0));
    assert.equal(await store.replayCache.remember('key_a', 'msg_3', TTL, at(TTL)), true);
    assert.equal(await store.replayCache.remember('key_a', 'msg_3', TTL, at(TTL + 1)), false);
  });

  test('remember, when the store is reopened, then ids seen before the restart are still replays', async () => {
    await store.replayCache.remember('key_c', 'msg_4', TTL, at(0));
    await store.close();
    store = openSqliteStore({ path: join(dir, 'replay.db'), secretBox: freshSecretBox() });
    assert.equal(await store.replayCache.remember('key_c', 'msg_4', TTL, at(5)), false);
  });
});
