// Rules the bundled policies don't use (topic_allowlist) or can't trip past the output contract (field_limits with
// tighter limits), through the HTTP stack on an app built with edited copies of the bundled policy files.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Express } from 'express';
import { BUNDLED_POLICIES, createTestContext, editedPolicy, envelope, type TestContext } from './helpers/context.js';
import { startMockUpstream, type ChatRequestBody, type MockUpstream, offeredChunkIds, modelFor } from './helpers/mock-upstream.js';
import { createApp } from '../src/app.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { createCheckRegistry } from '../src/guard/registry.js';
import { loadPolicies, type PolicySet } from '../src/policies.js';
import { createRateLimits } from '../src/security/rate-limit.js';


describe('rules from edited policies through the HTTP pipeline', () => {
  let upstream: MockUpstream;
  let ctx: TestContext;
  let app: Express;
  let key: string;

  before(async () => {
    upstream = await startMockUpstream();
    const model = modelFor(upstream);
    ctx = await createTestContext({ model });
    key = (await ctx.createKey(['tasks:*'])).key;
    const checks = createCheckRegistry();
    const policies = new Map(loadPolicies(BUNDLED_POLICIES, checks));
    policies.set(
      'support.answer',
      editedPolicy('support.answer', (policy) => {
        (policy['input_rules'] as unknown[]).push({ check: 'topic_allowlist', action: 'deny', config: { topics: { refunds: ['refund', 'return'], hours: ['opening hours', 'support hours'] } } });
      }),
    );
    policies.set(
      'content.draft',
      editedPolicy('content.draft', (policy) => {
        const rules = policy['output_rules'] as Array<{ check: string; config?: unknown }>;
        const limits = rules.find((rule) => rule.check === 'field_limits');
        if (limits !== undefined) limits.config = { max_lengths: { title: 30, meta_description: 60 } };
      }),
    );
    // The same wiring as the test context, with the edited policies; the store and corpus are shared.
    app = createApp({
      environment: 'development',
      version: 'test',
      bodyLimitBytes: 64 * 1024,
      uploadLimitBytes: 256 * 1024,
      idempotencyTtlMs: 3_600_000,
      idempotencyWaitMs: 5_000,
      requestDeadlineMs: 30_000,
      store: ctx.store,
      corpus: ctx.corpus,
      retriever: ctx.corpus.retriever,
      model,
      policies: policies as PolicySet,
      checks,
      limits: createRateLimits({ requestsPerMinute: 10_000, tokensPerDay: 10_000_000, authFailuresPerMinutePerIp: 10_000, random: () => 0 }),
      logger: createLogger({ level: 'silent' }),
      metrics: createMetrics(),
      clock: () => new Date(),
      newId: randomUUID,
      random: randomBytes,
    });
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
