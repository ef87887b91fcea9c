// Issue 14 item 1: the result of a request is addressable. GET /v1/results/{request_id} answers the envelope, the
// pending review, the approved output (marked reviewed, still untrusted) or the rejection; the 422 links to it, and
// an idempotent replay after the decision returns the decided result, never the stale 422.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createTestContext, envelope, type TestContext } from './helpers/context.js';
import { startMockUpstream, type MockUpstream, offeredChunkIds, modelFor } from './helpers/mock-upstream.js';

const INVALID = JSON.stringify({ answer: 'Sure, 5 days!', confidence: 'very high' });
const APPROVED_OUTPUT = { answer: 'Refunds are paid within 5 business days.', citations: [], confidence: 0.9, abstained: false };

describe('GET /v1/results/{request_id} (issue 14)', () => {
  let upstream: MockUpstream;
  let ctx: TestContext;
  let taskKey: string;
  let otherKey: string;
  let adminKey: string;

  before(async () => {
    upstream = await startMockUpstream([{ kind: 'answer', content: INVALID }]);
    ctx = await createTestContext({ model: modelFor(upstream) });
    taskKey = (await ctx.createKey(['tasks:*'])).key;
    otherKey = (await ctx.createKey(['tasks:*'])).key;
    adminKey = (await ctx.createKey(['admin'])).key;
  });
  after(async () => {
    await ctx.close();
    await upstream.close();
  });

  const headers = (key: string) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });
  const ask = (body: Record<string, unknown>, idempotencyKey: string) =>
    request(ctx.app).post('/v1/tasks/support.answer').set({ ...headers(taskKey), 'idempotency-key': idempotencyKey }).send(JSON.stringify(body));
  const result = (url: string, key = taskKey) => request(ctx.app).get(url).set(headers(key));
  const resolve = (id: string, body: unknown) => request(ctx.app).post(`/admin/reviews/${id}/resolve`).set(headers(adminKey)).send(JSON.stringify(body));

  /** A request whose answer fails the output schema; returns the 422, its body and how to replay it. */
  const sentToReview = async () => {
    const body = envelope({ question: 'How many business days until my refund is paid?' });
    const idempotencyKey = `review-${String(body['event_id'])}`;
    const response = await ask(body, idempotencyKey);
    assert.equal(response.status, 422, response.text);
    assert.equal(response.body.code, 'sent_to_review');
    return { problem: response.body as { review_id: string; request_id: string; result_url: string }, replay: () => ask(body, idempotencyKey) };
  };

  test('sent_to_review, when the 422 is returned, then it links to the result, which answers 202 pending_review with the review id to the same key and 404 to another', async () => {
    const { problem } = await sentToReview();
    assert.equal(problem.result_url, `/v1/results/${problem.request_id}`);

    const pending = await result(problem.result_url);
    assert.equal(pending.status, 202, pending.text);
    assert.equal(pending.body.status, 'pending_review');
    assert.equal(pending.body.review_id, problem.review_id);
    assert.equal(pending.body.request_id, problem.request_id);
    assert.ok(Number(pending.headers['retry-after']) > 0);

    const stranger = await result(problem.result_url, otherKey);
    assert.equal(stranger.status, 404);
    assert.equal(stranger.body.code, 'not_found');
    assert.equal((await result(problem.result_url, adminKey)).status, 202, 'an admin sees every result');
  });

  test('review approved, when the result is fetched and the original Idempotency-Key replayed, then both return the approved output marked reviewed by whom and when, still untrusted', async () => {
    const { problem, replay } = await sentToReview();
    const decision = await resolve(problem.review_id, { decision: 'approve', output: APPROVED_OUTPUT });
    assert.equal(decision.status, 200, decision.text);

    for (const response of [await result(problem.result_url), await replay()]) {
      assert.equal(response.status, 200, response.text);
      assert.equal(response.headers['airlock-task-version'], '1', 'the version that ran the request still names it');
      assert.equal(response.headers['airlock-trust'], 'untrusted');
      assert.equal(response.body.trust, 'untrusted');
      assert.equal(response.body.status, 'ok');
      assert.equal(response.body.request_id, problem.request_id);
      assert.deepEqual(response.body.output, APPROVED_OUTPUT);
      assert.deepEqual(response.body.review, {
        id: problem.review_id,
        decision: 'approved',
        reviewed_by: decision.body.resolved_by,
        reviewed_at: decision.body.resolved_at,
      });
    }
    assert.equal((await replay()).headers['idempotent-replayed'], 'true');
  });

  test('review rejected, when the result is fetched and the original Idempotency-Key replayed, then both return the review_rejected problem, not sent_to_review', async () => {
    const { problem, replay } = await sentToReview();
    assert.equal((await resolve(problem.review_id, { decision: 'reject', note: 'wrong policy' })).status, 200);

    for (const response of [await result(problem.result_url), await replay()]) {
      assert.equal(response.status, 422, response.text);
      assert.match(String(response.headers['content-type']), /application\/problem\+json/);
      assert.equal(response.body.code, 'review_rejected');
      assert.equal(response.body.review_id, problem.review_id);
      assert.equal(response.body.request_id, problem.request_id);
      assert.ok(!JSON.stringify(response.body).includes('wrong policy'), 'the reviewer note stays internal');
    }
  });

  test('a request answered at once, when its result is fetched, then the same envelope comes back; an unknown request id is 404', async () => {
    upstream.setBehaviours([{ kind: 'answer', content: (body) => JSON.stringify({ answer: 'Within 5 business days.', citations: offeredChunkIds(body).slice(0, 1), confidence: 0.9, abstained: false }) }]);
    const answered = await ask(envelope({ question: 'How many business days until my refund is paid?' }), 'done-1');
    upstream.setBehaviours([{ kind: 'answer', content: INVALID }]);
    assert.equal(answered.status, 200, answered.text);

    const fetched = await result(`/v1/results/${answered.body.request_id}`);
    assert.equal(fetched.status, 200);
    assert.deepEqual(fetched.body, answered.body);
    assert.equal(fetched.headers['airlock-trust'], 'untrusted');
    assert.equal((await result('/v1/results/no-such-request')).status, 404);
  });
});
