// The OpenAI provider against a real OpenAI-compatible HTTP server: the SDK's own timeouts and retries run.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createTestContext, envelope, rowCount, type TestContext } from './helpers/context.js';
import { startMockUpstream, type MockUpstream, modelFor } from './helpers/mock-upstream.js';

describe('support.answer through the OpenAI provider', () => {
  let upstream: MockUpstream;
  let ctx: TestContext;
  let key: string;
  let attempts = 0;

  before(async () => {
    upstream = await startMockUpstream();
    ctx = await createTestContext({
      model: modelFor(upstream, { timeoutMs: 400, maxRetries: 1, onAttempt: () => (attempts += 1) }),
    });
    key = (await ctx.createKey(['tasks:*'])).key;
  });
  after(async () => {
    await ctx.close();
    await upstream.close();
  });
  afterEach(() => {
    upstream.requests.length = 0;
    attempts = 0;
  });

  const ask = (question = 'How many business days until my refund is paid?') =>
    request(ctx.app)
      .post('/v1/tasks/support.answer')
      .set({ authorization: `Bearer ${key}`, 'content-type': 'application/json' })
      .send(JSON.stringify(envelope({ question })));

  /** A valid answer citing the first chunk id that the prompt offered, as a well-behaved model would. */
  const citeFirstChunk = (body: { messages: Array<{ content: string }> }): string => {
    const chunkId = /refunds#[\w-]+/.exec(body.messages.map((message) => message.content).join('\n'))?.[0] ?? 'missing';
    return JSON.stringify({ answer: 'Refunds are paid within 5 business days.', citations: [chunkId], confidence: 0.9, abstained: false });
  };

  test('a valid answer, when the upstream follows the schema, then is returned untrusted with its citation and usage', async () => {
    upstream.setBehaviours([{ kind: 'answer', content: citeFirstChunk }]);
    const response = await ask();
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.headers['airlock-trust'], 'untrusted');
    assert.deepEqual(response.body.model, { provider: 'openai', name: 'mock-model' });
    assert.equal(response.body.citations[0].document_id, 'refunds');
    assert.deepEqual(response.body.usage, { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150 });
    const sent = upstream.requests[0]!;
    assert.equal(sent.response_format?.type, 'json_schema');
    assert.equal(sent.response_format?.json_schema?.strict, true);
    assert.equal(sent.response_format?.json_schema?.name, 'support_answer_output');
    assert.equal(sent.response_format?.json_schema?.schema['additionalProperties'], false);
    assert.equal(sent.max_completion_tokens, 800);
    assert.equal(sent['logprobs'], undefined);
    assert.equal(sent['tools'], undefined, 'LLM06-1: no tools are offered to the model');
    // PI-1: retrieved text travels in the user message, never in the system message.
    assert.equal(sent.messages[0]!.role, 'system');
    assert.ok(!sent.messages[0]!.content.includes('original payment method'));
    assert.ok(sent.messages[1]!.content.includes('original'));
  });

  test('a schema-invalid answer (LLM05-3), when returned, then is a 422 sent_to_review with the raw output stored for review', async () => {
    upstream.setBehaviours([{ kind: 'answer', content: JSON.stringify({ answer: 'Sure!', confidence: 'high' }) }]);
    const before = rowCount(ctx, 'reviews');
    const response = await ask();
    assert.equal(response.status, 422);
    assert.equal(response.body.code, 'sent_to_review');
    assert.match(response.body.review_id, /^[0-9a-f-]{36}$/);
    assert.equal(rowCount(ctx, 'reviews'), before + 1);
    const review = await ctx.store.reviews.get(response.body.review_id);
    assert.equal(review?.rawOutput, JSON.stringify({ answer: 'Sure!', confidence: 'high' }));
    assert.ok(review?.reasons.some((reason) => reason.includes('output schema')));
    const audit = await ctx.store.audit.list({ requestId: response.body.request_id, limit: 5 });
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.decision, 'review');
    assert.equal(audit[0]!.status, 422);
  });

  test('an answer that is not JSON, when returned, then is never a success', async () => {
    upstream.setBehaviours([{ kind: 'answer', content: 'Refunds take 5 days, trust me.' }]);
    const response = await ask();
    assert.equal(response.status, 422);
    assert.equal(response.body.code, 'sent_to_review');
  });

  test('a citation of a chunk that was not retrieved (LLM09-1), when returned, then goes to review', async () => {
    upstream.setBehaviours([{ kind: 'answer', content: JSON.stringify({ answer: 'The margin is 38 percent.', citations: ['margins#0-deadbeef'], confidence: 1, abstained: false }) }]);
    const response = await ask();
    assert.equal(response.status, 422);
    assert.equal(response.body.code, 'sent_to_review');
    const review = await ctx.store.reviews.get(response.body.review_id);
    assert.ok(review?.reasons.some((reason) => reason.startsWith('citations_retrieved')));
  });

  test('an upstream 500, when followed by success, then is retried once by the SDK and succeeds (RETRY-2)', async () => {
    upstream.setBehaviours([{ kind: 'status', status: 500 }, { kind: 'answer', content: citeFirstChunk }]);
    const response = await ask();
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(upstream.requests.length, 2);
    assert.equal(attempts, 2);
  });

  test('an upstream that hangs, when the timeout passes on every attempt, then is a 504 upstream_timeout with Retry-After', async () => {
    upstream.setBehaviours([{ kind: 'hang' }]);
    const response = await ask();
    assert.equal(response.status, 504);
    assert.equal(response.body.code, 'upstream_timeout');
    assert.equal(response.body.retryable, true);
    assert.ok(Number(response.headers['retry-after']) > 0);
    assert.equal(upstream.requests.length, 2, 'one try plus one retry');
  });

  test('an upstream 400, when returned, then is a 502 upstream_rejected, not retried, without the upstream text', async () => {
    upstream.setBehaviours([{ kind: 'status', status: 400, body: { error: { message: 'secret upstream detail', type: 'invalid_request_error' } } }]);
    const response = await ask();
    assert.equal(response.status, 502);
    assert.equal(response.body.code, 'upstream_rejected');
    assert.equal(response.body.retryable, false);
    assert.equal(upstream.requests.length, 1);
    assert.ok(!JSON.stringify(response.body).includes('secret upstream detail'));
  });

  test('an upstream 429 on every attempt, when retries run out, then is a 503 upstream_unavailable', async () => {
    upstream.setBehaviours([{ kind: 'status', status: 429, headers: { 'retry-after-ms': '10' } }]);
    const response = await ask();
    assert.equal(response.status, 503);
    assert.equal(response.body.code, 'upstream_unavailable');
    assert.equal(upstream.requests.length, 2);
  });

  test('nothing relevant approved (LLM09-2), when asked, then abstains without calling the upstream', async () => {
    upstream.setBehaviours([{ kind: 'answer', content: citeFirstChunk }]);
    const response = await ask('Which colour is the delivery van of the roastery?');
    assert.equal(response.status, 200);
    assert.equal(response.body.status, 'abstained');
    assert.equal(upstream.requests.length, 0);
  });
});
