// What one task call commits to the embedded SQLite file, and what a call that never reaches its end leaves there
// (issue 17: the chain's own cost). Commits are counted in the file's write-ahead log, so every statement, transaction
// and store counts the same way: a signed, idempotent call used to commit 9 times (replay claim, request counter,
// idempotency claim, slot, token reservation, settlement, outcome, replay completion, slot release); the writes that
// end a call now commit with its outcome (IDEM-5..IDEM-7, SIG-5, LLM10-5, LLM10-6).
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { createTestContext, dataDirSecretBox, envelope, type TestContext } from './helpers/context.js';
import { modelFor, startMockUpstream, type MockUpstream } from './helpers/mock-upstream.js';
import { citeFirstChunk, waitFor } from './helpers/boundary.js';
import { walCommits } from './helpers/wal-commits.js';
import { spawnChildServer, type ChildServer } from './helpers/child-server.js';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite/index.js';
import { CORPUS_MIGRATIONS } from '../src/store/sqlite/corpus-schema.js';
import { createKeyAdmin } from '../src/admin/keys.js';
import type { SqliteDatabase } from '../src/store/sqlite/db.js';
import { idempotencyScope } from '../src/security/idempotency-key.js';

const QUESTION = 'How many business days until my refund is paid?';

/** A signed (Standard Webhooks) idempotent support.answer call; the same `id` and key re-signed at `at` is the sender's retry. */
function signedCall(options: { key: string; secret: string; id: string; idempotencyKey: string; body: string; at: Date }) {
  return {
    'content-type': 'application/json',
    authorization: `Bearer ${options.key}`,
    'idempotency-key': options.idempotencyKey,
    'webhook-id': options.id,
    'webhook-timestamp': String(Math.floor(options.at.getTime() / 1000)),
    'webhook-signature': new Webhook(options.secret).sign(options.id, options.at, options.body),
  };
}

/** Everything a call holds or spends in the file, for its key, webhook-id and Idempotency-Key. */
function callState(db: SqliteDatabase, keyId: string, webhookId: string, idempotencyKey = '') {
  const scope = idempotencyScope(keyId, 'POST', '/v1/tasks/support.answer', idempotencyKey);
  return {
    webhookId: db.prepare('SELECT state FROM webhook_ids WHERE scope = ? AND id = ?').pluck().get(keyId, webhookId) ?? null,
    idempotency: db.prepare('SELECT state FROM idempotency_records WHERE scope = ?').pluck().get(scope) ?? null,
    slots: db.prepare<[string], number>('SELECT count(*) FROM concurrency_slots WHERE scope = ?').pluck().get(keyId),
    tokens: db.prepare<[string], number>("SELECT points FROM rate_limit_counters WHERE policy = 'per-key-tokens-day' AND key = ?").pluck().get(keyId) ?? 0,
    audited: db.prepare("SELECT status FROM audit_log WHERE action = 'task.run' AND key_id = ? ORDER BY seq").pluck().all(keyId),
  };
}

describe('the commits of one task call on the embedded store (issue 17)', () => {
  let upstream: MockUpstream;
  let ctx: TestContext;
  let key: string;
  let keyId: string;
  let secret: string;

  before(async () => {
    upstream = await startMockUpstream();
    // Limits and slots in the file, as on a server: the call's whole state lives in the one database.
    ctx = await createTestContext({ model: modelFor(upstream), limitsInFile: true, idempotencyWaitMs: 0 });
    // No checkpoint may restart the log while commits are counted in it.
    ctx.store.db.pragma('wal_autocheckpoint = 0');
    ({ key, id: keyId, signingSecret: secret = '' } = await ctx.createKey(['tasks:*'], { signed: true }));
  });
  after(async () => {
    await ctx.close();
    await upstream.close();
  });
  beforeEach(() => upstream.setBehaviours([{ kind: 'answer', content: citeFirstChunk, totalTokens: 150 }]));

  const call = (id: string, idempotencyKey: string, body = JSON.stringify(envelope({ question: QUESTION }))) =>
    request(ctx.app).post('/v1/tasks/support.answer').set(signedCall({ key, secret, id, idempotencyKey, body, at: new Date() })).send(body);
  const path = (): string => join(ctx.dir, 'airlock.db');

  test('IDEM-5 SIG-5 LLM10-5 LLM10-6: a signed idempotent call, when it answers 200, then it commits 6 times, not 9: five claims and one commit that ends the call', async () => {
    // The first call of a key also stamps its last use (once a minute); count a later one.
    assert.equal((await call(`msg_${randomUUID()}`, `warm-${randomUUID()}`)).status, 200);
    const spentBefore = callState(ctx.store.db, keyId, '').tokens;
    const id = `msg_${randomUUID()}`;
    const idempotencyKey = `once-${randomUUID()}`;
    const commitsBefore = walCommits(path());
    const answered = await call(id, idempotencyKey);
    assert.equal(answered.status, 200, answered.text);
    assert.equal(walCommits(path()) - commitsBefore, 6, 'replay claim, request counter, idempotency claim, slot, token reservation, then settlement + outcome + replay completion + slot release together');

    const state = callState(ctx.store.db, keyId, id, idempotencyKey);
    assert.equal(state.webhookId, 'completed', 'the webhook-id is consumed with the outcome (SIG-5)');
    assert.equal(state.idempotency, 'completed', 'the key holds a replayable response (IDEM-6)');
    assert.equal(state.slots, 0, 'the slot is free again (LLM10-6)');
    assert.equal(state.tokens - spentBefore, 150, 'the reservation was settled to the 150 tokens the upstream reported (LLM10-5)');
  });

  test('IDEM-7 B8 LLM10-5: a call the upstream fails transiently, when it ends, then one commit frees its claim, webhook-id, slot and tokens, and the sender\'s retry runs', async () => {
    upstream.setBehaviours([{ kind: 'status', status: 503 }]);
    const id = `msg_${randomUUID()}`;
    const idempotencyKey = `transient-${randomUUID()}`;
    const body = JSON.stringify(envelope({ question: QUESTION }));
    const spentBefore = callState(ctx.store.db, keyId, id).tokens;
    const commitsBefore = walCommits(path());
    const failed = await call(id, idempotencyKey, body);
    assert.equal(failed.status, 503, failed.text);
    assert.equal(walCommits(path()) - commitsBefore, 6, 'five claims, then audit row + claim release + reservation release + webhook-id release + slot release together (was 10)');
    const state = callState(ctx.store.db, keyId, id, idempotencyKey);
    assert.deepEqual(
      { webhookId: state.webhookId, idempotency: state.idempotency, slots: state.slots, tokens: state.tokens - spentBefore },
      { webhookId: null, idempotency: null, slots: 0, tokens: 0 },
      'nothing is held or charged for a call that did not answer',
    );

    upstream.setBehaviours([{ kind: 'answer', content: citeFirstChunk, totalTokens: 150 }]);
    const retried = await call(id, idempotencyKey, body);
    assert.equal(retried.status, 200, retried.text);
    assert.equal(retried.headers['idempotent-replayed'], undefined, 'the retry executed rather than replaying the 503');
  });

  test('store failure: when the commit that ends a call fails, then 503 and nothing of the outcome is kept, and the claim, webhook-id, slot and tokens are settled on their own', async () => {
    const id = `msg_${randomUUID()}`;
    const idempotencyKey = `store-fails-${randomUUID()}`;
    const body = JSON.stringify(envelope({ question: QUESTION }));
    const spentBefore = callState(ctx.store.db, keyId, id).tokens;
    const auditedBefore = callState(ctx.store.db, keyId, id).audited.length;
    ctx.store.db.exec("CREATE TRIGGER refuse_task_audit BEFORE INSERT ON audit_log WHEN NEW.action = 'task.run' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
    try {
      const failed = await call(id, idempotencyKey, body);
      assert.equal(failed.status, 503, failed.text);
      assert.equal(failed.body.code, 'store_unavailable');
    } finally {
      ctx.store.db.exec('DROP TRIGGER refuse_task_audit');
    }
    const state = callState(ctx.store.db, keyId, id, idempotencyKey);
    assert.equal(state.audited.length, auditedBefore, 'no audit row');
    assert.deepEqual(
      { webhookId: state.webhookId, idempotency: state.idempotency, slots: state.slots },
      { webhookId: null, idempotency: null, slots: 0 },
      'the webhook-id, the claim and the slot are free for the retry',
    );
    assert.equal(state.tokens - spentBefore, 150, 'the upstream answered, so its 150 tokens are charged all the same (LLM10-5)');
    const retried = await call(id, idempotencyKey, body);
    assert.equal(retried.status, 200, retried.text);
  });
});

describe('a server killed before the commit that ends its call (issue 17, IDEM-8, SIG-5, LLM10-5, LLM10-6)', () => {
  let dir: string;
  let upstream: MockUpstream;
  let store: SqliteStore;
  const children: ChildServer[] = [];
  let key: string;
  let keyId: string;
  let secret: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-end-crash-'));
    upstream = await startMockUpstream();
    store = openSqliteStore({ path: join(dir, 'airlock.db'), extraMigrations: CORPUS_MIGRATIONS, secretBox: dataDirSecretBox(dir) });
    const admin = createKeyAdmin({ keys: store.keys, environment: 'development', clock: () => new Date(), random: randomBytes });
    const created = await admin.create({ name: 'end-crash', scopes: ['tasks:*'], require_signature: true });
    ({ key, id: keyId } = created);
    secret = created.signing_secret ?? '';
  });
  after(async () => {
    await Promise.all(children.map((child) => child.kill('SIGKILL')));
    await store.close();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the dead call leaves its claims, slot and token reservation and no outcome; a new process refuses its webhook-id until the TTL, then the sender\'s retry runs once and frees everything', async () => {
    const id = `msg_${randomUUID()}`;
    const body = JSON.stringify(envelope({ question: QUESTION }, { event_id: 'evt_end_crash' }));
    const send = (child: ChildServer, at: Date) =>
      fetch(`${child.url}/v1/tasks/support.answer`, { method: 'POST', headers: signedCall({ key, secret, id, idempotencyKey: 'end-crash-1', body, at }), body });
    const env = { AIRLOCK_CHILD_LIMITS_IN_FILE: '1' };

    upstream.setBehaviours([{ kind: 'answer', content: citeFirstChunk, totalTokens: 150, delayMs: 300 }]);
    const first = await spawnChildServer({ dir, upstreamBaseURL: upstream.baseURL, extra: env });
    children.push(first);
    const doomed = send(first, new Date()).then(
      () => 'answered',
      () => 'connection lost',
    );
    await waitFor(() => upstream.requests.length === 1, 'the call to reach the upstream (its claims and reservation are taken)');
    // Holding the file's write lock, the test keeps the call from committing its end; it dies at some point after the
    // model answered and before that commit, and every such point must leave the same state behind.
    store.db.prepare('BEGIN IMMEDIATE').run();
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await first.kill('SIGKILL');
    } finally {
      store.db.prepare('ROLLBACK').run();
    }
    assert.equal(await doomed, 'connection lost');
    const dead = callState(store.db, keyId, id, 'end-crash-1');
    assert.equal(dead.webhookId, 'in_flight', 'the webhook-id stays claimed: copies are refused, never run (SIG-5)');
    assert.equal(dead.idempotency, 'in_flight', 'the claim stays until it is abandoned (IDEM-8)');
    assert.equal(dead.slots, 1, 'the slot stays leased until its lease ends (LLM10-6)');
    assert.ok(dead.tokens > 150, `the reservation (prompt estimate + output cap), not the actual 150, stays spent: ${dead.tokens} (LLM10-5: the budget is never exceeded)`);
    assert.deepEqual(dead.audited, [], 'no outcome was recorded');

    upstream.setBehaviours([{ kind: 'answer', content: citeFirstChunk, totalTokens: 150 }]);
    const second = await spawnChildServer({ dir, upstreamBaseURL: upstream.baseURL, extra: env });
    children.push(second);
    const refused = await send(second, new Date());
    assert.equal(refused.status, 409, await refused.clone().text());
    assert.equal(((await refused.json()) as { code: string }).code, 'signed_request_in_progress');

    // Past the replay window (600 s), the stale-claim limit (60 s) and the slot lease (120 s): the sender's retry,
    // re-signed under the same webhook-id, runs once.
    const advanceMs = 601_000;
    await fetch(`${second.url}/__test/clock`, { method: 'POST', body: JSON.stringify({ advance_ms: advanceMs }) });
    const retried = await send(second, new Date(Date.now() + advanceMs));
    assert.equal(retried.status, 200, await retried.clone().text());
    assert.equal(upstream.requests.length, 2, 'the model was called once more, by the retry');
    const recovered = callState(store.db, keyId, id, 'end-crash-1');
    assert.deepEqual(
      { webhookId: recovered.webhookId, idempotency: recovered.idempotency, slots: recovered.slots, tokens: recovered.tokens - dead.tokens, audited: recovered.audited },
      { webhookId: 'completed', idempotency: 'completed', slots: 0, tokens: 150, audited: [200] },
    );
  });
});
