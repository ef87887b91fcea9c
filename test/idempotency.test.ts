// Idempotency through the real HTTP stack (IDEM-1..IDEM-9): a real OpenAI-compatible mock upstream counts every
// model call, so "not executed again" is observed where it matters, at the upstream.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createTestContext, envelope, rowCount, type TestContext } from './helpers/context.js';
import { startMockUpstream, type MockUpstream } from './helpers/mock-upstream.js';
import { citeFirstChunk, gatedModel, listen, manualClock, type GatedModel, type ManualClock } from './helpers/boundary.js';
import { createOpenAIModel } from '../src/model/openai.js';
import { idempotencyScope, requestFingerprint } from '../src/security/idempotency-key.js';

const HOUR = 3_600_000;
const REFUND_QUESTION = 'How many business days until my refund is paid?';

const taskAuditRows = (ctx: TestContext, requestId: string): number =>
  (ctx.store.db.prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'task.run' AND request_id = ?").get(requestId) as { n: number }).n;

describe('idempotent task calls against a counting upstream', () => {
  let upstream: MockUpstream;
  let ctx: TestContext;
  let clock: ManualClock;
  let key: string;
  let keyId: string;

  before(async () => {
    upstream = await startMockUpstream([{ kind: 'answer', content: citeFirstChunk }]);
    clock = manualClock();
    ctx = await createTestContext({
      clock: clock.now,
      // Long enough that 50 duplicates on a loaded CI machine wait for the original rather than getting 409.
      idempotencyWaitMs: 60_000,
      model: createOpenAIModel({ apiKey: 'sk-test', baseURL: upstream.baseURL, model: 'mock-model', timeoutMs: 20_000, maxRetries: 1 }),
    });
    ({ key, id: keyId } = await ctx.createKey(['tasks:*']));
  });
  after(async () => {
    await ctx.close();
    await upstream.close();
  });
  afterEach(() => {
    upstream.setBehaviours([{ kind: 'answer', content: citeFirstChunk }]);
    upstream.requests.length = 0;
  });

  const ask = (idempotencyKey: string, body: string, apiKey = key) =>
    request(ctx.app)
      .post('/v1/tasks/support.answer')
      .set({ authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'idempotency-key': idempotencyKey })
      .send(body);
  const question = (text = REFUND_QUESTION): string => JSON.stringify(envelope({ question: text }));

  test('a repeated request (IDEM-6), when sent twice with one key and body, then the replay is byte-identical, marked, and the upstream is called once', async () => {
    const body = question();
    const first = await ask('same-twice', body);
    const second = await ask('same-twice', body);
    assert.equal(first.status, 200, first.text);
    assert.equal(second.status, first.status);
    assert.equal(second.text, first.text);
    assert.equal(first.headers['idempotent-replayed'], undefined, 'a fresh response carries no replay marker');
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.equal(second.headers['content-type'], first.headers['content-type']);
    assert.equal(upstream.requests.length, 1);
    // Rate-limit fields are recomputed for the replay, never replayed (IDEM-6).
    assert.ok(second.headers['ratelimit'] !== undefined && second.headers['ratelimit'] !== first.headers['ratelimit']);
  });

  test('a replay (IDEM-6, IDEM-9), when served, then leaves its own audit row naming the key, marked replayed, and no second task run', async () => {
    const body = question();
    const first = await ask('audited-replay', body);
    const replay = await ask('audited-replay', body);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    const replayRequestId = String(replay.headers['x-request-id']);
    assert.notEqual(replayRequestId, first.body.request_id);
    const rows = await ctx.store.audit.list({ requestId: replayRequestId, limit: 5 });
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.keyId, keyId);
    assert.equal(rows[0]!.status, 200);
    assert.equal(rows[0]!.detail['replayed'], true);
    assert.notEqual(rows[0]!.action, 'task.run');
    assert.equal(taskAuditRows(ctx, first.body.request_id), 1);
  });

  test('a reused key (IDEM-4), when the body differs, then 422 idempotency_key_reused, no model call and the stored record is untouched', async () => {
    const originalBody = question();
    const original = await ask('reused-key', originalBody);
    assert.equal(original.status, 200);
    const stored = ctx.store.db.prepare('SELECT * FROM idempotency_records ORDER BY claimed_at').all();
    upstream.requests.length = 0;
    const response = await ask('reused-key', question('When is the support team open?'));
    assert.equal(response.status, 422);
    assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
    assert.equal(response.body.code, 'idempotency_key_reused');
    assert.equal(response.body.status, 422);
    assert.equal(upstream.requests.length, 0);
    assert.deepEqual(ctx.store.db.prepare('SELECT * FROM idempotency_records ORDER BY claimed_at').all(), stored);
    const replay = await ask('reused-key', originalBody);
    assert.equal(replay.headers['idempotent-replayed'], 'true', 'the original body still replays');
  });

  test('the two spellings of a key (IDEM-1), when quoted and bare, then hit the same record', async () => {
    const body = question();
    const quoted = await ask('"order-7\\"x"', body);
    const bare = await ask('order-7"x', body);
    assert.equal(quoted.status, 200);
    assert.equal(bare.headers['idempotent-replayed'], 'true');
    assert.equal(bare.text, quoted.text);
    assert.equal(upstream.requests.length, 1);
  });

  test("another tenant (IDEM-3), when it sends tenant A's key and body, then executes independently", async () => {
    const tenantB = await ctx.createKey(['tasks:*']);
    const body = question();
    const a = await ask('shared-by-accident', body);
    const b = await ask('shared-by-accident', body, tenantB.key);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.equal(b.headers['idempotent-replayed'], undefined);
    assert.notEqual(b.body.request_id, a.body.request_id);
    assert.equal(upstream.requests.length, 2);
    const scopes = ctx.store.db.prepare('SELECT scope FROM idempotency_records WHERE scope LIKE ?').pluck().all('%shared-by-accident%') as string[];
    assert.deepEqual(scopes.map((scope) => (JSON.parse(scope) as string[])[0]).sort(), [keyId, tenantB.id].sort());
  });

  test('50 concurrent duplicates (IDEM-5), when sent at once with one key, then the upstream is called once and all 50 bodies are identical', async () => {
    upstream.setBehaviours([{ kind: 'answer', content: citeFirstChunk, delayMs: 300 }]);
    const server = await listen(ctx.app);
    try {
      const body = question();
      const responses = await Promise.all(
        Array.from({ length: 50 }, () =>
          fetch(`${server.url}/v1/tasks/support.answer`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': 'fifty-at-once' },
            body,
          }).then(async (response) => ({ status: response.status, replayed: response.headers.get('idempotent-replayed'), text: await response.text() })),
        ),
      );
      assert.equal(upstream.requests.length, 1);
      assert.deepEqual(new Set(responses.map((response) => response.status)), new Set([200]));
      assert.equal(new Set(responses.map((response) => response.text)).size, 1);
      assert.equal(responses.filter((response) => response.replayed === null).length, 1);
      assert.equal(responses.filter((response) => response.replayed === 'true').length, 49);
    } finally {
      await server.close();
    }
  });

  test('a transient upstream failure (IDEM-7, RETRY-3), when the model answers 503 after retries, then nothing is stored and the retry re-executes', async () => {
    upstream.setBehaviours([{ kind: 'status', status: 503, headers: { 'retry-after-ms': '1' } }]);
    const body = question();
    const failed = await ask('transient-503', body);
    assert.equal(failed.status, 503);
    assert.equal(failed.body.code, 'upstream_unavailable');
    assert.equal(failed.body.retryable, true);
    assert.ok(Number(failed.headers['retry-after']) >= 1);
    assert.equal(upstream.requests.length, 2, 'one attempt plus the one SDK retry');
    assert.equal(ctx.store.db.prepare('SELECT count(*) FROM idempotency_records WHERE scope LIKE ?').pluck().get('%transient-503%'), 0);

    upstream.setBehaviours([{ kind: 'answer', content: citeFirstChunk }]);
    const retried = await ask('transient-503', body);
    assert.equal(retried.status, 200);
    assert.equal(retried.headers['idempotent-replayed'], undefined);
    assert.equal(upstream.requests.length, 3);
  });

  test('a permanent 4xx after execution (IDEM-7), when the model output goes to review, then the 422 is stored and replayed without a second review item', async () => {
    upstream.setBehaviours([{ kind: 'answer', content: JSON.stringify({ answer: 'Sure!', confidence: 'high' }) }]);
    const body = question();
    const reviewsBefore = rowCount(ctx, 'reviews');
    const first = await ask('permanent-422', body);
    const second = await ask('permanent-422', body);
    assert.equal(first.status, 422);
    assert.equal(first.body.code, 'sent_to_review');
    assert.equal(second.status, 422);
    assert.equal(second.text, first.text);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.match(String(second.headers['content-type']), /^application\/problem\+json/);
    assert.equal(upstream.requests.length, 1);
    assert.equal(rowCount(ctx, 'reviews'), reviewsBefore + 1);
  });

  test('a record past its TTL (IDEM-8), when the key is reused after 24 h, then it re-executes; before that it replays', async () => {
    const body = question();
    const first = await ask('ttl-key', body);
    assert.equal(first.status, 200);
    clock.advance(23 * HOUR);
    const within = await ask('ttl-key', body);
    assert.equal(within.headers['idempotent-replayed'], 'true');
    assert.equal(upstream.requests.length, 1);
    clock.advance(HOUR + 1_000);
    const expired = await ask('ttl-key', body);
    assert.equal(expired.status, 200);
    assert.equal(expired.headers['idempotent-replayed'], undefined);
    assert.equal(upstream.requests.length, 2);
  });

  test('a replay (IDEM-9), when the key that stored it has been revoked, then it is refused with 401 rather than replayed', async () => {
    const tenant = await ctx.createKey(['tasks:*']);
    const body = question();
    assert.equal((await ask('revoked-replay', body, tenant.key)).status, 200);
    await ctx.store.keys.revoke(tenant.id, clock.now().toISOString());
    const replay = await ask('revoked-replay', body, tenant.key);
    assert.equal(replay.status, 401);
    assert.equal(replay.body.code, 'unauthenticated');
    assert.equal(replay.headers['idempotent-replayed'], undefined);
  });

  test('the stored response and the audit row, when the idempotency write fails, then neither is committed (one transaction)', async () => {
    ctx.store.db.exec(`CREATE TRIGGER fail_completion BEFORE UPDATE OF state ON idempotency_records
      WHEN NEW.state = 'completed' BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
    const body = question();
    try {
      const failed = await ask('atomic-write', body);
      assert.equal(failed.status, 503);
      assert.equal(failed.body.code, 'store_unavailable');
      assert.equal(taskAuditRows(ctx, failed.body.request_id), 0, 'the audit row written before the failure was rolled back');
      assert.equal(ctx.store.db.prepare('SELECT count(*) FROM idempotency_records WHERE scope LIKE ?').pluck().get('%atomic-write%'), 0, 'the claim was released');
    } finally {
      ctx.store.db.exec('DROP TRIGGER fail_completion');
    }
    const retried = await ask('atomic-write', body);
    assert.equal(retried.status, 200);
    assert.equal(taskAuditRows(ctx, retried.body.request_id), 1);
  });

  test('every completed record (IDEM-6), when compared with the audit trail, then has exactly one task audit row with the same request id and status', async () => {
    const records = ctx.store.db.prepare("SELECT response FROM idempotency_records WHERE state = 'completed'").pluck().all() as string[];
    assert.ok(records.length >= 8);
    for (const record of records) {
      const response = JSON.parse(record) as { status: number; body: { request_id: string } };
      const rows = ctx.store.db.prepare("SELECT status FROM audit_log WHERE action = 'task.run' AND request_id = ?").pluck().all(response.body.request_id);
      assert.deepEqual(rows, [response.status]);
    }
  });
});

describe('a duplicate of a request that is still running', () => {
  let upstream: MockUpstream;
  let ctx: TestContext;
  let clock: ManualClock;
  let key: string;
  let keyId: string;
  let model: GatedModel;

  before(async () => {
    upstream = await startMockUpstream([{ kind: 'answer', content: citeFirstChunk }]);
    clock = manualClock();
    model = gatedModel(createOpenAIModel({ apiKey: 'sk-test', baseURL: upstream.baseURL, model: 'mock-model', timeoutMs: 20_000, maxRetries: 0 }));
    ctx = await createTestContext({ clock: clock.now, idempotencyWaitMs: 0, model });
    ({ key, id: keyId } = await ctx.createKey(['tasks:*']));
  });
  after(async () => {
    model.open();
    await ctx.close();
    await upstream.close();
  });

  const ask = (idempotencyKey: string, body: string) =>
    request(ctx.app)
      .post('/v1/tasks/support.answer')
      .set({ authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': idempotencyKey })
      .send(body);

  test('a second request (IDEM-5), when the first still holds the claim, then 409 idempotency_request_in_progress with Retry-After and nothing executed', async () => {
    const body = JSON.stringify(envelope({ question: REFUND_QUESTION }));
    const original = ask('in-flight', body).then((response) => response);
    await model.entered(1);
    const duplicate = await ask('in-flight', body);
    assert.equal(duplicate.status, 409);
    assert.equal(duplicate.body.code, 'idempotency_request_in_progress');
    assert.equal(duplicate.body.retryable, true);
    assert.equal(duplicate.headers['retry-after'], '1');
    assert.match(String(duplicate.headers['content-type']), /^application\/problem\+json/);
    model.open();
    const first = await original;
    assert.equal(first.status, 200);
    assert.equal(upstream.requests.length, 1);
    const after = await ask('in-flight', body);
    assert.equal(after.headers['idempotent-replayed'], 'true');
  });

  test('an abandoned claim (IDEM-8), when older than twice the request deadline, then it is reclaimed instead of answering 409 forever', async () => {
    const body = JSON.stringify(envelope({ question: REFUND_QUESTION }));
    const route = '/v1/tasks/support.answer';
    // A claim left behind by a process that died: in flight, never completed, never released.
    const claim = await ctx.store.idempotency.claim({
      scope: idempotencyScope(keyId, 'POST', route, 'abandoned'),
      fingerprint: requestFingerprint('POST', route, Buffer.from(body)),
      token: 'the-dead-process',
      now: clock.now(),
      staleAfterMs: 60_000,
    });
    assert.equal(claim.kind, 'claimed');
    const blocked = await ask('abandoned', body);
    assert.equal(blocked.status, 409);
    clock.advance(59_000);
    assert.equal((await ask('abandoned', body)).status, 409, 'still within 2 × the 30 s deadline');
    clock.advance(2_000);
    const reclaimed = await ask('abandoned', body);
    assert.equal(reclaimed.status, 200, reclaimed.text);
    assert.equal(reclaimed.headers['idempotent-replayed'], undefined);
  });
});

describe('a duplicate of a request running in another process', () => {
  let ctx: TestContext;
  let key: string;
  let keyId: string;
  const waitMs = 300;

  before(async () => {
    ctx = await createTestContext({ idempotencyWaitMs: waitMs });
    ({ key, id: keyId } = await ctx.createKey(['tasks:*']));
  });
  after(async () => ctx.close());

  test('the wait (IDEM-5), when no local promise exists to wait on, then polls the store at a bounded rate and ends in 409', async () => {
    const body = JSON.stringify(envelope({ question: REFUND_QUESTION }));
    const route = '/v1/tasks/support.answer';
    const scope = idempotencyScope(keyId, 'POST', route, 'other-process');
    await ctx.store.idempotency.claim({ scope, fingerprint: requestFingerprint('POST', route, Buffer.from(body)), token: 'another-process', now: new Date(), staleAfterMs: 60_000 });
    const store = ctx.store.idempotency;
    const claim = store.claim.bind(store);
    let claims = 0;
    store.claim = async (request) => {
      claims += 1;
      return claim(request);
    };
    try {
      const response = await request(ctx.app)
        .post(route)
        .set({ authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': 'other-process' })
        .send(body);
      assert.equal(response.status, 409);
      assert.equal(response.body.code, 'idempotency_request_in_progress');
      // One claim per 50 ms poll at most (plus the first and the last): a spin would make thousands and starve the process.
      assert.ok(claims >= 2 && claims <= waitMs / 50 + 2, `claims: ${claims}`);
    } finally {
      store.claim = claim;
    }
  });
});
