// The review queue end to end (LLM05-3): a schema-invalid answer becomes a review item, admins list, inspect and
// resolve it over /admin/reviews and the CLI, every resolution is audited, and the queue depth is right.
import { after, before, describe, test } from 'node:test';
import { capture } from './helpers/capture.js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { BUNDLED_TASKS, createTestContext, loadBundledTasks, envelope, type TestContext } from './helpers/context.js';
import { startMockUpstream, type MockUpstream, offeredChunkIds, modelFor } from './helpers/mock-upstream.js';
import { createReviewAdmin } from '../src/admin/reviews.js';
import { createCheckRegistry } from '../src/guard/registry.js';
import { runCli } from '../src/cli/main.js';
import type { ReviewRecord } from '../src/store/types.js';

const QUESTION = 'How many business days until my refund is paid?';
const INVALID = JSON.stringify({ answer: 'Sure, 5 days!', confidence: 'very high' });


describe('review queue lifecycle', () => {
  let upstream: MockUpstream;
  let ctx: TestContext;
  let taskKey: string;
  let admin: { id: string; key: string };

  before(async () => {
    upstream = await startMockUpstream([{ kind: 'answer', content: INVALID }]);
    ctx = await createTestContext({
      model: modelFor(upstream),
    });
    taskKey = (await ctx.createKey(['tasks:*'])).key;
    admin = await ctx.createKey(['admin']);
  });
  after(async () => {
    await ctx.close();
    await upstream.close();
  });

  /** Sends a question whose model answer fails the output schema; returns the 422 body. */
  const invalidAnswer = async (): Promise<{ review_id: string; request_id: string }> => {
    const response = await request(ctx.app)
      .post('/v1/tasks/support.answer')
      .set({ authorization: `Bearer ${taskKey}`, 'content-type': 'application/json' })
      .send(JSON.stringify(envelope({ question: QUESTION })));
    assert.equal(response.status, 422, response.text);
    assert.equal(response.body.code, 'sent_to_review');
    return response.body;
  };
  const asAdmin = (key = admin.key) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });
  const resolve = (id: string, body: unknown, key = admin.key) =>
    request(ctx.app).post(`/admin/reviews/${id}/resolve`).set(asAdmin(key)).send(JSON.stringify(body));

  test('a schema-invalid answer (LLM05-3, LLM01-2), when sent to review, then the item holds task, request id, reasons, redacted input, raw output and chunk ids', async () => {
    const problem = await invalidAnswer();
    const response = await request(ctx.app).get(`/admin/reviews/${problem.review_id}`).set(asAdmin());

    assert.equal(response.status, 200);
    const item = response.body;
    assert.equal(item.task, 'support.answer');
    assert.equal(item.request_id, problem.request_id);
    assert.equal(item.state, 'open');
    assert.ok(item.reasons.includes('model output failed the output schema'));
    assert.ok(item.reasons.some((reason: string) => reason.startsWith('output.')), 'the failing fields are named');
    assert.deepEqual(item.input, { question: QUESTION });
    assert.equal(item.raw_output, INVALID);
    assert.ok(item.chunk_ids.length > 0 && item.chunk_ids.every((id: string) => typeof id === 'string'));
  });

  test('/admin/reviews, when called without the admin scope, then 403 for list, inspect and resolve', async () => {
    const problem = await invalidAnswer();
    for (const response of [
      await request(ctx.app).get('/admin/reviews').set(asAdmin(taskKey)),
      await request(ctx.app).get(`/admin/reviews/${problem.review_id}`).set(asAdmin(taskKey)),
      await resolve(problem.review_id, { decision: 'reject' }, taskKey),
    ]) {
      assert.equal(response.status, 403);
      assert.ok(!JSON.stringify(response.body).includes(INVALID));
    }
    assert.equal((await ctx.store.reviews.get(problem.review_id))?.state, 'open');
  });

  test('/admin/reviews, when listed with state=open, then the new item is there and the open count matches the store', async () => {
    const problem = await invalidAnswer();
    const response = await request(ctx.app).get('/admin/reviews?state=open').set(asAdmin());

    assert.equal(response.status, 200);
    assert.ok(response.body.reviews.some((item: { id: string }) => item.id === problem.review_id));
    assert.ok(response.body.reviews.every((item: { state: string }) => item.state === 'open'));
    assert.equal(response.body.open, await ctx.store.reviews.countOpen());
  });

  test('resolve approve, when the edited output fails the task output schema, then 400 with field errors and the item stays open', async () => {
    const problem = await invalidAnswer();
    const response = await resolve(problem.review_id, { decision: 'approve', output: { answer: 'Five days.', confidence: 2 } });

    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'validation_failed');
    const paths = response.body.errors.map((error: { path: string }) => error.path);
    assert.ok(paths.includes('output.confidence') && paths.includes('output.citations'), JSON.stringify(paths));
    assert.equal((await ctx.store.reviews.get(problem.review_id))?.state, 'open');
  });

  test('resolve approve, when the edited output is valid, then 200 approved with the output kept and one review.approve audit row; a second resolve is 409 state_conflict', async () => {
    const problem = await invalidAnswer();
    const output = { answer: 'Refunds are paid within 5 business days.', citations: [], confidence: 0.9, abstained: false };
    const response = await resolve(problem.review_id, { decision: 'approve', output, note: 'checked against the refunds article' });

    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.state, 'approved');
    assert.deepEqual(response.body.resolution.output, output);
    assert.equal(response.body.resolved_by, admin.id);
    const audit = (await ctx.store.audit.list({ limit: 500 })).filter((row) => row.action === 'review.approve' && row.detail['review_id'] === problem.review_id);
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.keyId, admin.id);

    const again = await resolve(problem.review_id, { decision: 'reject' });
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'state_conflict');
    assert.equal((await ctx.store.reviews.get(problem.review_id))?.state, 'approved');
  });

  test('resolve reject, when the item is open, then 200 rejected and one review.reject audit row; rejecting again is 409', async () => {
    const problem = await invalidAnswer();
    const response = await resolve(problem.review_id, { decision: 'reject', note: 'model ignored the schema' });

    assert.equal(response.status, 200);
    assert.equal(response.body.state, 'rejected');
    const audit = (await ctx.store.audit.list({ limit: 500 })).filter((row) => row.action === 'review.reject' && row.detail['review_id'] === problem.review_id);
    assert.equal(audit.length, 1);
    assert.equal((await resolve(problem.review_id, { decision: 'reject' })).status, 409);
  });

  test('createReviewAdmin().depth(), when items are added and resolved, then it counts exactly the open ones', async () => {
    const reviews = createReviewAdmin({
      store: ctx.store,
      tasks: loadBundledTasks(),
      clock: () => new Date(),
      newId: randomUUID,
      resultTtlMs: 3_600_000,
    });
    const openAtStart = (await ctx.store.reviews.list({ state: 'open', limit: 500 })).length;
    assert.equal(await reviews.depth(), openAtStart);

    const created = [await invalidAnswer(), await invalidAnswer(), await invalidAnswer()];
    assert.equal(await reviews.depth(), openAtStart + 3);
    await reviews.resolve(created[0]!.review_id, { decision: 'reject', by: 'test' });
    await reviews.resolve(created[1]!.review_id, { decision: 'approve', output: { answer: 'x', citations: [], confidence: 0, abstained: true }, by: 'test' });
    assert.equal(await reviews.depth(), openAtStart + 1);
    await assert.rejects(reviews.resolve(created[0]!.review_id, { decision: 'reject', by: 'test' }), { code: 'state_conflict' });
    assert.equal(await reviews.depth(), openAtStart + 1, 'a refused resolution changes nothing');
  });

  test('airlock reviews list --json and reviews resolve ID --reject, when run in-process on the same data dir, then list the item and reject it with an audit row', async () => {
    const problem = await invalidAnswer();
    const env = { AIRLOCK_DATA_DIR: ctx.dir, AIRLOCK_TASKS_DIR: BUNDLED_TASKS, AIRLOCK_BOOTSTRAP_CORPUS: 'false' };

    const listOut = capture();
    const listErr = capture();
    assert.equal(await runCli(['reviews', 'list', '--state', 'open', '--json'], env, listOut.stream, listErr.stream), 0, listErr.text());
    const listed = JSON.parse(listOut.text()) as Array<{ id: string; state: string; raw_output: string }>;
    const item = listed.find((entry) => entry.id === problem.review_id);
    assert.equal(item?.state, 'open');
    assert.equal(item?.raw_output, INVALID);

    const resolveOut = capture();
    const resolveErr = capture();
    assert.equal(await runCli(['reviews', 'resolve', problem.review_id, '--reject', '--note', 'spam', '--json'], env, resolveOut.stream, resolveErr.stream), 0, resolveErr.text());
    assert.equal((JSON.parse(resolveOut.text()) as ReviewRecord & { state: string }).state, 'rejected');
    assert.equal((await ctx.store.reviews.get(problem.review_id))?.state, 'rejected');
    const audit = (await ctx.store.audit.list({ limit: 500 })).filter((row) => row.action === 'review.reject' && row.detail['review_id'] === problem.review_id);
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.keyId, 'cli');

    const againErr = capture();
    assert.equal(await runCli(['reviews', 'resolve', problem.review_id, '--reject'], env, capture().stream, againErr.stream), 1);
    assert.match(againErr.text(), /already rejected/);
  });

  test('a valid answer, when it passes every check, then no review item is created', async () => {
    upstream.setBehaviours([{ kind: 'answer', content: (body) => JSON.stringify({ answer: 'Within 5 business days.', citations: offeredChunkIds(body).slice(0, 1), confidence: 0.9, abstained: false }) }]);
    const before = await ctx.store.reviews.countOpen();
    const response = await request(ctx.app)
      .post('/v1/tasks/support.answer')
      .set({ authorization: `Bearer ${taskKey}`, 'content-type': 'application/json' })
      .send(JSON.stringify(envelope({ question: QUESTION })));
    upstream.setBehaviours([{ kind: 'answer', content: INVALID }]);

    assert.equal(response.status, 200, response.text);
    assert.equal(await ctx.store.reviews.countOpen(), before);
  });
});
