// /metrics: admin-scoped Prometheus text with request, guard, retrieval, upstream, replay, review and corpus series.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createTestContext, envelope, type TestContext } from './helpers/context.js';

describe('GET /metrics', () => {
  let ctx: TestContext;
  let admin: string;
  let caller: string;
  before(async () => {
    ctx = await createTestContext();
    admin = (await ctx.createKey(['admin'])).key;
    caller = (await ctx.createKey(['tasks:*'])).key;
  });
  after(async () => ctx.close());

  test('metrics, when fetched without the admin scope, then 401 or 403 and no series', async () => {
    assert.equal((await request(ctx.app).get('/metrics')).status, 401);
    const forbidden = await request(ctx.app).get('/metrics').set('authorization', `Bearer ${caller}`);
    assert.equal(forbidden.status, 403);
    assert.doesNotMatch(forbidden.text, /airlock_requests_total/);
  });

  test('metrics, after a task and an idempotent replay, then count them by task, status, rule and state', async () => {
    const send = () =>
      request(ctx.app)
        .post('/v1/tasks/support.answer')
        .set({ authorization: `Bearer ${caller}`, 'content-type': 'application/json', 'idempotency-key': 'metrics-1' })
        .send(JSON.stringify(envelope({ question: 'How many business days until my refund is paid?' }, { event_id: 'evt_metrics' })));
    assert.equal((await send()).status, 200);
    assert.equal((await send()).headers['idempotent-replayed'], 'true');
    const response = await request(ctx.app).get('/metrics').set('authorization', `Bearer ${admin}`);
    assert.equal(response.status, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain/);
    const text = response.text;
    assert.match(text, /airlock_requests_total\{route="\/v1\/tasks\/:task",task="support\.answer",status="200"\} 2/);
    assert.match(text, /airlock_guard_decisions_total\{rule="secrets",stage="input",result="pass"\} 1/);
    assert.match(text, /airlock_idempotent_replays_total\{task="support\.answer"\} 1/);
    assert.match(text, /airlock_retrieval_seconds_count 1/);
    assert.match(text, /airlock_review_queue_depth 0/);
    assert.match(text, /airlock_corpus_versions\{state="approved"\} 3/);
    assert.match(text, /airlock_index_generation \d+/);
  });
});
