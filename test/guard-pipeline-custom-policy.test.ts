// Rules the bundled policies don't use (topic_allowlist) or can't trip past the output contract (field_limits with
// tighter limits), through the HTTP stack on an app built with edited copies of the bundled task folders.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Express } from 'express';
import { createTestContext, editedBundledTasks, envelope, type TestContext } from './helpers/context.js';
import { randomUUID } from 'node:crypto';
import { startMockUpstream, type ChatRequestBody, type MockUpstream, offeredChunkIds, modelFor } from './helpers/mock-upstream.js';

describe('rules from edited policies through the HTTP pipeline', () => {
  let upstream: MockUpstream;
  let ctx: TestContext;
  let app: Express;
  let key: string;

  before(async () => {
    upstream = await startMockUpstream();
    const model = modelFor(upstream);
    const tasksDir = editedBundledTasks({
      'support.answer': (spec) => {
        (spec['input_rules'] as unknown[]).push({ check: 'topic_allowlist', action: 'deny', config: { topics: { refunds: ['refund', 'return'], hours: ['opening hours', 'support hours'] } } });
      },
      'content.draft': (spec) => {
        const rules = spec['output_rules'] as Array<{ check: string; config?: unknown }>;
        const limits = rules.find((rule) => rule.check === 'field_limits');
        if (limits !== undefined) limits.config = { max_lengths: { title: 30, meta_description: 60 } };
      },
    });
    // The same wiring as every test context, on edited copies of the bundled task folders (loaded as at boot).
    ctx = await createTestContext({ model, tasksDir });
    app = ctx.app;
    key = (await ctx.createKey(['tasks:*'])).key;
  });
  after(async () => {
    await ctx.close();
    await upstream.close();
  });
  afterEach(() => {
    upstream.requests.length = 0;
  });

  const post = (task: string, data: Record<string, unknown>) =>
    request(app)
      .post(`/v1/tasks/${task}`)
      .set({ authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() })
      .send(JSON.stringify(envelope(data)));

  test('topic_allowlist, when the question touches none of the task topics, then 422 input_denied without an upstream call', async () => {
    upstream.setBehaviours([{ kind: 'answer', content: '{}' }]);
    const response = await post('support.answer', { question: 'Write me a poem about the French revolution.' });

    assert.equal(response.status, 422);
    assert.equal(response.body.code, 'input_denied');
    assert.ok(response.body.violations.some((reason: string) => reason.startsWith('topic_allowlist: off-topic')));
    assert.equal(upstream.requests.length, 0);
  });

  test('topic_allowlist, when the question is about an allowed topic, then it passes and the envelope says so', async () => {
    upstream.setBehaviours([
      { kind: 'answer', content: (body) => JSON.stringify({ answer: 'Within 5 business days.', citations: offeredChunkIds(body).slice(0, 1), confidence: 0.9, abstained: false }) },
    ]);
    const response = await post('support.answer', { question: 'How many business days until my refund is paid?' });

    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.checks.find((check: { name: string }) => check.name === 'topic_allowlist')?.result, 'pass');
  });

  const draftWith = (overrides: Record<string, unknown>) => (body: ChatRequestBody) =>
    JSON.stringify({
      title: 'Refunds',
      outline: ['Returns'],
      body_html: '<p>Refunds are paid within 5 business days.</p>',
      meta_description: 'Refund timing.',
      citations: offeredChunkIds(body).slice(0, 1),
      status: 'draft',
      ...overrides,
    });

  test('field_limits, when a draft title is longer than the policy limit but within the contract, then 422 sent_to_review', async () => {
    upstream.setBehaviours([{ kind: 'answer', content: draftWith({ title: 'Everything you ever wanted to know about refunds' }) }]);
    const response = await post('content.draft', { topic: 'How refunds work for returned parcels', audience: 'new customers', keywords: ['refund', 'returns'] });

    assert.equal(response.status, 422, response.text);
    assert.equal(response.body.code, 'sent_to_review');
    const review = await ctx.store.reviews.get(response.body.review_id);
    assert.ok(review?.reasons.some((reason) => reason === 'field_limits: title is longer than 30'));
  });

  test('field_limits, when every field is within the policy limits, then 200 and field_limits passes', async () => {
    upstream.setBehaviours([{ kind: 'answer', content: draftWith({}) }]);
    const response = await post('content.draft', { topic: 'How refunds work for returned parcels', audience: 'new customers', keywords: ['refund', 'returns'] });

    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.checks.find((check: { name: string }) => check.name === 'field_limits')?.result, 'pass');
  });
});
