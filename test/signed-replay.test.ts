// Replays of signed requests through the HTTP stack, against the real OpenAI-compatible mock upstream (SIG-5):
// B2, a captured request must not run again whatever Idempotency-Key it carries; B8, a request that failed
// transiently must leave its webhook-id free for the sender's retry, which keeps the id (Standard Webhooks).
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { createTestContext, envelope, type TestContext } from './helpers/context.js';
import { modelFor, startMockUpstream, type MockUpstream } from './helpers/mock-upstream.js';
import { citeFirstChunk, gatedModel, type GatedModel } from './helpers/boundary.js';

describe('signed request replays (SIG-5, B2, B8)', () => {
  let upstream: MockUpstream;
  let gated: GatedModel;
  let ctx: TestContext;
  let key: string;
  let secret: string;

  before(async () => {
    upstream = await startMockUpstream([{ kind: 'answer', content: citeFirstChunk }]);
    gated = gatedModel(modelFor(upstream));
    gated.open();
    ctx = await createTestContext({ model: gated, idempotencyWaitMs: 0 });
    const created = await ctx.createKey(['tasks:*'], { signed: true });
    key = created.key;
    secret = created.signingSecret ?? '';
  });
  after(async () => {
    await ctx.close();
    await upstream.close();
  });
  beforeEach(() => upstream.setBehaviours([{ kind: 'answer', content: citeFirstChunk }]));

  /** One signed message: the exact bytes and headers an eavesdropper could capture and send again. */
  function capturedMessage() {
    const id = `msg_${randomUUID()}`;
    const at = new Date();
    const body = JSON.stringify(envelope({ question: 'How many business days until my refund is paid?' }));
    const headers = {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(id, at, body),
    };
    return {
      send: (extra: Record<string, string> = {}) => request(ctx.app).post('/v1/tasks/support.answer').set({ ...headers, ...extra }).send(body),
    };
  }

  test('SIG-5 B2: a captured signed request, when sent again with new Idempotency-Keys or none, then 409 request_replayed and the model is not called again', async () => {
    const message = capturedMessage();
    const first = await message.send({ 'idempotency-key': `orig-${randomUUID()}` });
    assert.equal(first.status, 200, first.text);
    const calls = upstream.requests.length;
    for (const extra of [{ 'idempotency-key': `new-${randomUUID()}` }, { 'idempotency-key': `other-${randomUUID()}` }, {}]) {
      const replay = await message.send(extra);
      assert.equal(replay.status, 409, replay.text);
      assert.equal(replay.body.code, 'request_replayed');
      assert.equal(replay.body.retryable, false);
    }
    assert.equal(upstream.requests.length, calls, 'a replay never reaches the model');
  });

  test('SIG-5 B2: a captured request first sent without an Idempotency-Key, when replayed with one, then 409 request_replayed', async () => {
    const message = capturedMessage();
    assert.equal((await message.send()).status, 200);
    const calls = upstream.requests.length;
    const replay = await message.send({ 'idempotency-key': `new-${randomUUID()}` });
    assert.equal(replay.status, 409, replay.text);
    assert.equal(replay.body.code, 'request_replayed');
    assert.equal(upstream.requests.length, calls);
  });

  test('SIG-5 B2: two copies of one signed request in flight at once, when the first is still running, then the second is 409 signed_request_in_progress (retryable) and the model runs once', async () => {
    const held = gatedModel(modelFor(upstream));
    const heldCtx = await createTestContext({ model: held, idempotencyWaitMs: 0 });
    try {
      const created = await heldCtx.createKey(['tasks:*'], { signed: true });
      const id = `msg_${randomUUID()}`;
      const at = new Date();
      const body = JSON.stringify(envelope({ question: 'How many business days until my refund is paid?' }));
      const send = (idempotencyKey: string) =>
        request(heldCtx.app)
          .post('/v1/tasks/support.answer')
          .set({
            authorization: `Bearer ${created.key}`,
            'content-type': 'application/json',
            'webhook-id': id,
            'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
            'webhook-signature': new Webhook(created.signingSecret ?? '').sign(id, at, body),
            'idempotency-key': idempotencyKey,
          })
          .send(body)
          .then((response) => response);
      const calls = upstream.requests.length;
      const first = send('copy-1');
      await held.entered(1);
      // On a broken gateway the copy would reach the model and wait at the gate, so race it against that.
      const second = await Promise.race([send('copy-2'), held.entered(2).then(() => assert.fail('the copy reached the model'))]);
      assert.equal(second.status, 409, second.text);
      assert.equal(second.body.code, 'signed_request_in_progress');
      assert.equal(second.body.retryable, true);
      assert.equal(second.headers['retry-after'], '1');
      held.open();
      assert.equal((await first).status, 200);
      assert.equal(upstream.requests.length - calls, 1);
    } finally {
      held.open();
      await heldCtx.close();
    }
  });

  test('SIG-5 B8: a signed request that failed transiently (upstream 500 → 503), when retried with the same webhook-id, with or without an Idempotency-Key, then it runs; once final, a copy is a replay', async () => {
    upstream.setBehaviours([{ kind: 'status', status: 500 }, { kind: 'answer', content: citeFirstChunk }]);
    const message = capturedMessage();
    const failed = await message.send();
    assert.equal(failed.status, 503, failed.text);
    assert.equal(failed.body.retryable, true);
    const retry = await message.send();
    assert.equal(retry.status, 200, retry.text);
    const third = await message.send();
    assert.equal(third.status, 409);
    assert.equal(third.body.code, 'request_replayed');

    upstream.setBehaviours([{ kind: 'status', status: 503 }, { kind: 'answer', content: citeFirstChunk }]);
    const keyed = capturedMessage();
    const idempotencyKey = { 'idempotency-key': `b8-${randomUUID()}` };
    assert.equal((await keyed.send(idempotencyKey)).status, 503);
    const keyedRetry = await keyed.send(idempotencyKey);
    assert.equal(keyedRetry.status, 200, keyedRetry.text);
    assert.equal(keyedRetry.headers['idempotent-replayed'], undefined);
    const again = await keyed.send(idempotencyKey);
    assert.equal(again.status, 200, 'the same id and key replay the stored answer (SIG-5)');
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.text, keyedRetry.text);

    // A final refusal (400 validation) consumes the id like a success does.
    const id = `msg_${randomUUID()}`;
    const at = new Date();
    const body = JSON.stringify(envelope({ question: '' }));
    const headers = {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(id, at, body),
    };
    assert.equal((await request(ctx.app).post('/v1/tasks/support.answer').set(headers).send(body)).status, 400);
    const refusedAgain = await request(ctx.app).post('/v1/tasks/support.answer').set(headers).send(body);
    assert.equal(refusedAgain.status, 409);
    assert.equal(refusedAgain.body.code, 'request_replayed');
  });
});
