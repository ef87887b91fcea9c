// The OpenAI-compatible endpoint driven by the real `openai` SDK, pointed at Airlock by baseURL only, over a real port.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import OpenAI from 'openai';
import request from 'supertest';
import { createTestContext, rowCount, type TestContext } from './helpers/context.js';

interface AirlockExtension {
  trust: string;
  status: string;
  task: string;
  citations: Array<{ chunk_id: string; document_id: string; collection: string }>;
  checks: Array<{ name: string; result: string }>;
  request_id: string;
  event_id: string;
}

const listen = async (ctx: TestContext): Promise<{ server: Server; baseURL: string }> => {
  const server = ctx.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return { server, baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` };
};

describe('POST /v1/chat/completions through the openai SDK', () => {
  let ctx: TestContext;
  let server: Server;
  let baseURL: string;
  let key: string;
  let client: OpenAI;
  before(async () => {
    ctx = await createTestContext({ requestsPerMinute: 30 });
    ({ server, baseURL } = await listen(ctx));
    key = (await ctx.createKey(['tasks:*'])).key;
    client = new OpenAI({ apiKey: key, baseURL, maxRetries: 0 });
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await ctx.close();
  });

  test('support.answer, when asked in plain text, then replies with a chat completion whose content is the task JSON and citations in airlock', async () => {
    const { data: completion, response } = await client.chat.completions
      .create({ model: 'airlock:support.answer', messages: [{ role: 'user', content: 'How many business days until my refund is paid?' }] })
      .withResponse();
    assert.equal(response.headers.get('airlock-trust'), 'untrusted');
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.model, 'airlock:support.answer');
    assert.equal(completion.choices.length, 1);
    assert.equal(completion.choices[0]!.finish_reason, 'stop');
    const output = JSON.parse(completion.choices[0]!.message.content ?? '') as { answer: string; citations: string[]; abstained: boolean };
    assert.match(output.answer, /5 business days/);
    const airlock = (completion as unknown as { airlock: AirlockExtension }).airlock;
    assert.equal(airlock.trust, 'untrusted');
    assert.equal(airlock.status, 'ok');
    assert.deepEqual(airlock.citations.map((citation) => citation.chunk_id), output.citations);
    assert.ok(airlock.citations.every((citation) => citation.document_id === 'refunds'));
    assert.equal(airlock.request_id, response.headers.get('x-request-id'));
    assert.equal(completion.id, `chatcmpl-${airlock.request_id}`);
    assert.ok(completion.usage !== undefined);
  });

  test('the audit trail, when a compat call succeeds, then holds one task.run row with source openai-compat', async () => {
    const { response } = await client.chat.completions
      .create({ model: 'airlock:support.answer', messages: [{ role: 'user', content: 'When is the support team open?' }] })
      .withResponse();
    const rows = await ctx.store.audit.list({ requestId: response.headers.get('x-request-id') ?? '', limit: 5 });
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.action, 'task.run');
    assert.equal(rows[0]!.source, 'openai-compat');
    assert.equal(rows[0]!.task, 'support.answer');
    assert.match(String(rows[0]!.eventId), /^oai-/);
  });

  test('support.answer, when the user message is {"data": {...}}, then the data object is the task input', async () => {
    const data = { question: 'How many business days until my refund is paid?', locale: 'en' };
    const completion = await client.chat.completions.create({ model: 'airlock:support.answer', messages: [{ role: 'user', content: JSON.stringify({ data }) }], metadata: { schema_version: '1.1' } });
    const output = JSON.parse(completion.choices[0]!.message.content ?? '') as { answer: string };
    assert.match(output.answer, /5 business days/);
  });

  test('support.answer, when the user message is the bare data object after an assistant turn, then it is the task input too', async () => {
    const data = { question: 'How many business days until my refund is paid?' };
    const completion = await client.chat.completions.create({ model: 'airlock:support.answer', messages: [{ role: 'assistant', content: 'How can I help?' }, { role: 'user', content: JSON.stringify(data) }] });
    assert.match(JSON.parse(completion.choices[0]!.message.content ?? '{}').answer, /5 business days/);
  });

  test('an Idempotency-Key, when the same request is sent twice, then the second reply is replayed and the task runs once', async () => {
    const body = { model: 'airlock:support.answer', messages: [{ role: 'user' as const, content: 'How do refunds work?' }] };
    const first = await client.chat.completions.create(body, { headers: { 'Idempotency-Key': 'compat-replay-1' } }).withResponse();
    const runsBefore = (await ctx.store.audit.list({ task: 'support.answer', limit: 500 })).filter((row) => row.action === 'task.run').length;
    const second = await client.chat.completions.create(body, { headers: { 'Idempotency-Key': 'compat-replay-1' } }).withResponse();
    assert.equal(second.response.headers.get('idempotent-replayed'), 'true');
    assert.equal(first.response.headers.get('idempotent-replayed'), null);
    assert.equal(second.data.id, first.data.id);
    assert.equal(second.data.choices[0]!.message.content, first.data.choices[0]!.message.content);
    const runsAfter = (await ctx.store.audit.list({ task: 'support.answer', limit: 500 })).filter((row) => row.action === 'task.run').length;
    assert.equal(runsAfter, runsBefore, 'a replay does not run the pipeline again');
  });

  test('an Idempotency-Key, when reused with a different body, then the SDK sees 422 idempotency_key_reused', async () => {
    await client.chat.completions.create({ model: 'airlock:support.answer', messages: [{ role: 'user', content: 'When are you open?' }] }, { headers: { 'Idempotency-Key': 'compat-reuse-1' } });
    await assert.rejects(
      client.chat.completions.create({ model: 'airlock:support.answer', messages: [{ role: 'user', content: 'Do you ship abroad?' }] }, { headers: { 'Idempotency-Key': 'compat-reuse-1' } }),
      (error: unknown) => error instanceof OpenAI.APIError && error.status === 422 && error.code === 'idempotency_key_reused',
    );
  });

  test('another model, when requested, then the SDK sees a 404 model_not_found in OpenAI error shape', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
      (error: unknown) => error instanceof OpenAI.NotFoundError && error.code === 'model_not_found' && error.param === 'model' && error.type === 'invalid_request_error',
    );
  });

  const refused: Array<[string, Record<string, unknown>]> = [
    ['stream: true', { stream: true }],
    ['tools', { tools: [{ type: 'function', function: { name: 'refund', parameters: { type: 'object', properties: {} } } }] }],
    ['functions', { functions: [{ name: 'refund', parameters: {} }] }],
    ['logprobs', { logprobs: true }],
    ['n: 2', { n: 2 }],
  ];
  for (const [name, extra] of refused) {
    test(`a request, when it asks for ${name} (LLM06-1, LLM10-4), then it is refused with 400 naming the parameter and runs nothing`, async () => {
      const audits = (await ctx.store.audit.list({ limit: 500 })).filter((row) => row.action === 'task.run').length;
      const response = await request(ctx.app)
        .post('/v1/chat/completions')
        .set({ authorization: `Bearer ${key}`, 'content-type': 'application/json' })
        .send(JSON.stringify({ model: 'airlock:support.answer', messages: [{ role: 'user', content: 'When are you open?' }], ...extra }));
      assert.equal(response.status, 400);
      assert.equal(response.body.error.type, 'invalid_request_error');
      assert.equal(response.body.error.code, 'validation_failed');
      assert.equal(response.body.error.param, Object.keys(extra)[0]);
      assert.equal(response.headers['x-should-retry'], 'false');
      assert.equal((await ctx.store.audit.list({ limit: 500 })).filter((row) => row.action === 'task.run').length, audits);
    });
  }

  test('the SDK stream option, when used, then the SDK receives a 400 error rather than a stream', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'airlock:support.answer', messages: [{ role: 'user', content: 'hi' }], stream: true }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === 'stream',
    );
  });

  test('a bad API key, when used by the SDK, then it sees 401 authentication_error in OpenAI shape', async () => {
    const stranger = new OpenAI({ apiKey: 'sk-not-an-airlock-key', baseURL, maxRetries: 0 });
    await assert.rejects(
      stranger.chat.completions.create({ model: 'airlock:support.answer', messages: [{ role: 'user', content: 'hi' }] }),
      (error: unknown) => error instanceof OpenAI.AuthenticationError && error.type === 'authentication_error' && error.code === 'unauthenticated',
    );
  });

  test('a task the key may not call, when requested, then 403 permission_error and the task is not listed in /v1/models', async () => {
    const narrow = new OpenAI({ apiKey: (await ctx.createKey(['tasks:lead.classify'])).key, baseURL, maxRetries: 0 });
    await assert.rejects(
      narrow.chat.completions.create({ model: 'airlock:support.answer', messages: [{ role: 'user', content: 'When are you open?' }] }),
      (error: unknown) => error instanceof OpenAI.PermissionDeniedError && error.code === 'forbidden_scope',
    );
    const models = await narrow.models.list();
    assert.deepEqual(models.data.map((model) => model.id), ['airlock:lead.classify']);
  });

  test('GET /v1/models, when the key may call every task, then lists each task as airlock:<task>', async () => {
    const models = await client.models.list();
    assert.deepEqual(models.data.map((model) => model.id).sort(), ['airlock:content.draft', 'airlock:lead.classify', 'airlock:support.answer']);
    assert.ok(models.data.every((model) => model.owned_by === 'airlock' && model.object === 'model'));
    assert.equal((await client.models.retrieve('airlock:lead.classify')).id, 'airlock:lead.classify');
  });

  test('a schema-invalid task input, when sent as plain text to lead.classify, then 400 with the missing field as param', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'airlock:lead.classify', messages: [{ role: 'user', content: 'I want a quote' }] }, { headers: { 'Idempotency-Key': 'compat-lead-3' } }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && error.code === 'validation_failed' && error.param === 'data',
    );
  });

  test('content.draft, when called without an Idempotency-Key its policy requires, then 400 idempotency_key_missing', async () => {
    const before = rowCount(ctx, 'idempotency_records');
    await assert.rejects(
      client.chat.completions.create({ model: 'airlock:content.draft', messages: [{ role: 'user', content: JSON.stringify({ topic: 'Refunds', audience: 'customers', keywords: [] }) }] }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && error.code === 'idempotency_key_missing',
    );
    assert.equal(rowCount(ctx, 'idempotency_records'), before);
  });
});

describe('the compat endpoint under the per-key rate limit', () => {
  let ctx: TestContext;
  let key: string;
  before(async () => {
    ctx = await createTestContext({ requestsPerMinute: 1 });
    key = (await ctx.createKey(['tasks:*'])).key;
  });
  after(async () => ctx.close());

  test('a second call in the same minute, when the limit is one, then 429 rate_limit_error with Retry-After and x-should-retry true', async () => {
    const send = () =>
      request(ctx.app)
        .post('/v1/chat/completions')
        .set({ authorization: `Bearer ${key}`, 'content-type': 'application/json' })
        .send(JSON.stringify({ model: 'airlock:support.answer', messages: [{ role: 'user', content: 'When are you open?' }] }));
    assert.equal((await send()).status, 200);
    const limited = await send();
    assert.equal(limited.status, 429);
    assert.equal(limited.body.error.type, 'rate_limit_error');
    assert.equal(limited.body.error.code, 'rate_limited');
    assert.equal(limited.body.airlock.retryable, true);
    assert.equal(limited.headers['x-should-retry'], 'true');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
  });
});
