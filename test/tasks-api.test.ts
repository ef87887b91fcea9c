// The task API end to end through the real HTTP stack, SQLite file, sqlite-vec and the offline provider.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createTestContext, envelope, rowCount, type TestContext } from './helpers/context.js';
import { TaskResponse } from '../src/contracts/task-response.js';
import { modelFor, offeredChunkIds, startMockUpstream, type MockUpstream } from './helpers/mock-upstream.js';

const PROBLEM_TYPE = /^application\/problem\+json/;

describe('POST /v1/tasks/{task} with the offline provider', () => {
  let ctx: TestContext;
  let key: string;
  before(async () => {
    ctx = await createTestContext();
    key = (await ctx.createKey(['tasks:*'])).key;
  });
  after(async () => ctx.close());

  const post = (task: string, body: unknown, headers: Record<string, string> = {}) =>
    request(ctx.app)
      .post(`/v1/tasks/${task}`)
      .set({ authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers })
      .send(typeof body === 'string' ? body : JSON.stringify(body));

  test('support.answer, when the corpus covers the question, then answers with citations of retrieved approved chunks', async () => {
    const response = await post('support.answer', envelope({ question: 'How many business days until my refund is paid?' }));
    assert.equal(response.status, 200);
    assert.equal(response.headers['airlock-trust'], 'untrusted');
    assert.equal(response.headers['x-content-type-options'], 'nosniff');
    const body = TaskResponse.parse(response.body);
    assert.equal(body.trust, 'untrusted');
    assert.equal(body.status, 'ok');
    const output = body.output as { answer: string; citations: string[]; abstained: boolean };
    assert.equal(output.abstained, false);
    assert.match(output.answer, /5 business days/);
    assert.ok(output.citations.length > 0);
    assert.deepEqual(body.citations.map((citation) => citation.chunk_id), output.citations);
    for (const citation of body.citations) {
      assert.equal(citation.document_id, 'refunds');
      assert.equal(citation.collection, 'help');
      assert.equal(citation.document_version, 1);
    }
    assert.deepEqual(body.output_schema, { name: 'support.answer.output', version: '1.0' });
    assert.ok(body.checks.some((check) => check.name === 'citations_retrieved' && check.result === 'pass'));
    assert.equal(body.request_id, response.headers['x-request-id']);
  });

  test('support.answer, when nothing relevant is approved, then abstains without inventing an answer (LLM09-2)', async () => {
    const response = await post('support.answer', envelope({ question: 'Which colour is the delivery van of the roastery?' }));
    assert.equal(response.status, 200);
    assert.equal(response.body.status, 'abstained');
    assert.deepEqual(response.body.output, { answer: '', citations: [], confidence: 0, abstained: true });
    assert.deepEqual(response.body.citations, []);
  });

  test('support.answer, when the only matching text is in a collection outside the policy, then it is never retrieved (LLM08-1)', async () => {
    const response = await post('support.answer', envelope({ question: 'What is the wholesale margin percentage?' }));
    assert.equal(response.status, 200);
    assert.ok(!JSON.stringify(response.body).includes('38 percent'));
    assert.ok(response.body.citations.every((citation: { collection: string }) => citation.collection !== 'internal'));
  });

  test('the audit trail, when a task succeeds, then holds one row with key id, task, chunks and model but no key', async () => {
    const response = await post('support.answer', envelope({ question: 'When is the support team open?' }));
    assert.equal(response.status, 200);
    const rows = await ctx.store.audit.list({ requestId: response.body.request_id, limit: 10 });
    assert.equal(rows.length, 1);
    const row = rows[0]!;
    assert.equal(row.task, 'support.answer');
    assert.equal(row.decision, 'allowed');
    assert.equal(row.status, 200);
    assert.equal(row.model, 'airlock-extractive-1');
    assert.deepEqual([...row.chunkIds].sort(), [...new Set(response.body.citations.map((c: { chunk_id: string }) => c.chunk_id))].sort().filter((id) => row.chunkIds.includes(id as string)));
    assert.ok(row.chunkIds.length > 0);
    assert.ok(!JSON.stringify(row).includes(key));
  });
});

// lead.classify and content.draft need a real model (the offline provider fills only grounded answers): the mock
// upstream plays it, and the tasks' own output schemas and guard rules judge what it says.
describe('POST /v1/tasks/{task} with an upstream model for the tasks the offline provider cannot fill (issue 18 item 5)', () => {
  let ctx: TestContext;
  let key: string;
  let upstream: MockUpstream;
  before(async () => {
    upstream = await startMockUpstream([
      {
        kind: 'answer',
        content: (request) =>
          request.response_format?.json_schema?.name === 'lead_classify_output'
            ? JSON.stringify({ score: 80, category: 'sales', next_action: 'book_demo', reasons: ['A company of 40 asks for a quote'] })
            : JSON.stringify({ title: 'How refunds work', outline: ['Introduction'], body_html: '<p>Refunds are paid in 5 business days.</p>', meta_description: 'Refunds explained.', citations: offeredChunkIds(request).slice(0, 1), status: 'draft' }),
      },
    ]);
    ctx = await createTestContext({ model: modelFor(upstream) });
    key = (await ctx.createKey(['tasks:*'])).key;
  });
  after(async () => {
    await ctx.close();
    await upstream.close();
  });

  const post = (task: string, body: unknown, headers: Record<string, string> = {}) =>
    request(ctx.app)
      .post(`/v1/tasks/${task}`)
      .set({ authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers })
      .send(typeof body === 'string' ? body : JSON.stringify(body));

  test('lead.classify, when given a sales enquiry with an idempotency key, then returns schema-valid enums and reasons', async () => {
    const response = await post(
      'lead.classify',
      envelope({ name: 'Ada', email: 'ada@example.test', company: 'Analytical Ltd', message: 'We are 40 employees and want a quote for an office plan', consent: true }),
      { 'idempotency-key': 'lead-1' },
    );
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.output.category, 'sales');
    assert.ok(['book_demo', 'send_pricing'].includes(response.body.output.next_action));
    assert.ok(response.body.output.score >= 0 && response.body.output.score <= 100);
  });

  test('content.draft, when asked for a draft, then returns a draft with allowed HTML and field limits', async () => {
    const response = await post('content.draft', envelope({ topic: 'How refunds work for returned parcels', audience: 'new customers', keywords: ['refund', 'returns'] }), {
      'idempotency-key': 'draft-1',
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.output.status, 'draft');
    assert.ok(response.body.output.title.length <= 70);
    assert.ok(response.body.output.meta_description.length <= 160);
    assert.doesNotMatch(response.body.output.body_html, /<script|javascript:/i);
  });

});

describe('bad input never reaches the pipeline and never yields a 500 (PD-1)', () => {
  let ctx: TestContext;
  let key: string;
  let narrowKey: string;
  before(async () => {
    ctx = await createTestContext({ bodyLimitBytes: 2048 });
    key = (await ctx.createKey(['tasks:*'])).key;
    narrowKey = (await ctx.createKey(['tasks:lead.classify'])).key;
  });
  after(async () => ctx.close());

  const cases: Array<{ name: string; status: number; code: string; send: () => request.Test }> = [];
  const auth = () => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });
  const good = () => JSON.stringify(envelope({ question: 'When are you open?' }));
  cases.push(
    { name: 'no Authorization header', status: 401, code: 'unauthenticated', send: () => request(ctx.app).post('/v1/tasks/support.answer').type('application/json').send(good()) },
    { name: 'a malformed key', status: 401, code: 'unauthenticated', send: () => request(ctx.app).post('/v1/tasks/support.answer').set({ ...auth(), authorization: 'Bearer nope' }).send(good()) },
    {
      name: 'a well-formed key nobody issued',
      status: 401,
      code: 'unauthenticated',
      send: () => request(ctx.app).post('/v1/tasks/support.answer').set({ ...auth(), authorization: `Bearer ak_dev_0123456789abcdef_${'A'.repeat(43)}` }).send(good()),
    },
    { name: 'a key without the task scope', status: 403, code: 'forbidden_scope', send: () => request(ctx.app).post('/v1/tasks/support.answer').set({ ...auth(), authorization: `Bearer ${narrowKey}` }).send(good()) },
    { name: 'an unknown task', status: 404, code: 'unknown_task', send: () => request(ctx.app).post('/v1/tasks/order.refund').set(auth()).send(good()) },
    { name: 'malformed JSON', status: 400, code: 'malformed_json', send: () => request(ctx.app).post('/v1/tasks/support.answer').set(auth()).send('{"schema_version": "1.0",') },
    { name: 'a body over the limit', status: 413, code: 'payload_too_large', send: () => request(ctx.app).post('/v1/tasks/support.answer').set(auth()).send(JSON.stringify(envelope({ question: 'x'.repeat(4000) }))) },
    { name: 'a non-JSON media type', status: 415, code: 'unsupported_media_type', send: () => request(ctx.app).post('/v1/tasks/support.answer').set({ ...auth(), 'content-type': 'text/plain' }).send(good()) },
    { name: 'an unknown envelope field', status: 400, code: 'validation_failed', send: () => request(ctx.app).post('/v1/tasks/support.answer').set(auth()).send(JSON.stringify(envelope({ question: 'When are you open?' }, { tenant_id: 'other' }))) },
    { name: 'an unknown data field', status: 400, code: 'validation_failed', send: () => request(ctx.app).post('/v1/tasks/support.answer').set(auth()).send(JSON.stringify(envelope({ question: 'When?', status: 'approved' }))) },
    { name: 'a wrong type', status: 400, code: 'validation_failed', send: () => request(ctx.app).post('/v1/tasks/support.answer').set(auth()).send(JSON.stringify(envelope({ question: 42 }))) },
    {
      name: 'an unknown enum value',
      status: 400,
      code: 'validation_failed',
      send: () => request(ctx.app).post('/v1/tasks/support.answer').set(auth()).send(JSON.stringify(envelope({ question: 'When are you open?', locale: 'tlh' }, { schema_version: '1.1' }))),
    },
    { name: 'an unsupported schema_version', status: 400, code: 'unsupported_schema_version', send: () => request(ctx.app).post('/v1/tasks/support.answer').set(auth()).send(JSON.stringify(envelope({ question: 'When?' }, { schema_version: '9.9' }))) },
    { name: 'a JSON array body', status: 400, code: 'validation_failed', send: () => request(ctx.app).post('/v1/tasks/support.answer').set(auth()).send('[1,2]') },
    { name: 'an empty body', status: 400, code: 'validation_failed', send: () => request(ctx.app).post('/v1/tasks/support.answer').set({ authorization: `Bearer ${key}` }) },
    { name: 'a GET on the task route', status: 405, code: 'method_not_allowed', send: () => request(ctx.app).get('/v1/tasks/support.answer').set(auth()) },
    { name: 'an unknown route', status: 404, code: 'not_found', send: () => request(ctx.app).get('/v2/anything') },
    { name: 'a missing Idempotency-Key where the policy requires one (IDEM-2)', status: 400, code: 'idempotency_key_missing', send: () => request(ctx.app).post('/v1/tasks/content.draft').set(auth()).send(JSON.stringify(envelope({ topic: 'Refunds', audience: 'customers', keywords: [] }))) },
    { name: 'an Idempotency-Key of 256 characters (IDEM-1)', status: 400, code: 'idempotency_key_invalid', send: () => request(ctx.app).post('/v1/tasks/support.answer').set({ ...auth(), 'idempotency-key': 'k'.repeat(256) }).send(good()) },
  );

  for (const testCase of cases) {
    test(`the task route, when sent ${testCase.name}, then answers ${testCase.status} ${testCase.code} as problem+json and writes nothing but audit`, async () => {
      const before = { reviews: rowCount(ctx, 'reviews'), idempotency: rowCount(ctx, 'idempotency_records'), keys: rowCount(ctx, 'api_keys') };
      const response = await testCase.send();
      assert.equal(response.status, testCase.status);
      assert.match(String(response.headers['content-type']), PROBLEM_TYPE);
      assert.equal(response.body.status, testCase.status);
      assert.equal(response.body.code, testCase.code);
      assert.equal(response.body.type, `urn:airlock:problem:${testCase.code.replaceAll('_', '-')}`);
      assert.equal(response.body.request_id, response.headers['x-request-id']);
      assert.equal(typeof response.body.retryable, 'boolean');
      assert.ok(!JSON.stringify(response.body).includes('at '), 'no stack trace');
      if (testCase.status === 401) assert.match(String(response.headers['www-authenticate']), /^Bearer/);
      if (testCase.code === 'validation_failed' && testCase.name.includes('field')) {
        assert.ok(Array.isArray(response.body.errors) && response.body.errors.length > 0);
        for (const error of response.body.errors) assert.deepEqual(Object.keys(error).sort(), ['message', 'path', 'pointer']);
      }
      assert.deepEqual({ reviews: rowCount(ctx, 'reviews'), idempotency: rowCount(ctx, 'idempotency_records'), keys: rowCount(ctx, 'api_keys') }, before);
    });
  }

  test('a validation problem, when fields are wrong, then lists each path under data', async () => {
    const response = await request(ctx.app)
      .post('/v1/tasks/lead.classify')
      .set({ ...auth(), 'idempotency-key': 'v-1' })
      .send(JSON.stringify(envelope({ name: 'A', email: 'not-an-email', message: 'hi', consent: 'yes', extra: 1 })));
    assert.equal(response.status, 400);
    const paths = response.body.errors.map((error: { path: string }) => error.path).sort();
    assert.deepEqual(paths, ['data.consent', 'data.email', 'data.extra']);
    // Issue 18: an unknown field is named by its own JSON pointer, not folded into its parent.
    assert.deepEqual(response.body.errors.find((error: { path: string }) => error.path === 'data.extra'), { path: 'data.extra', pointer: '/data/extra', message: 'unknown field' });
  });

  test('a request id, when the caller sends a safe one, then it is kept; an unsafe one is replaced', async () => {
    const kept = await request(ctx.app).get('/healthz').set('x-request-id', 'n8n-exec-42');
    assert.equal(kept.headers['x-request-id'], 'n8n-exec-42');
    const replaced = await request(ctx.app).get('/healthz').set('x-request-id', 'bad id with spaces <script>');
    assert.notEqual(replaced.headers['x-request-id'], 'bad id with spaces <script>');
    assert.match(String(replaced.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });

  test('a failed request, when rejected before the pipeline, then still leaves one audit row without the key', async () => {
    const response = await request(ctx.app).post('/v1/tasks/order.refund').set(auth()).send(good());
    const rows = await ctx.store.audit.list({ requestId: response.body.request_id, limit: 5 });
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.status, 404);
    assert.equal(rows[0]!.code, 'unknown_task');
    assert.ok(!JSON.stringify(rows).includes(key));
  });

  test('the logs (LLM02-1), after good and bad requests, then never contain key material, bodies or personal data', async () => {
    await request(ctx.app).post('/v1/tasks/support.answer').set(auth()).send(good());
    await request(ctx.app).post('/v1/tasks/support.answer').set({ ...auth(), authorization: `Bearer ${key}x` }).send(good());
    await request(ctx.app)
      .post('/v1/tasks/lead.classify')
      .set({ ...auth(), 'idempotency-key': 'pii-1' })
      .send(JSON.stringify(envelope({ name: 'Grace Hopper', email: 'grace.hopper@example.test', message: 'Call me on +31 6 1234 5678 about a quote', consent: true })));
    const text = ctx.logs.join('');
    assert.ok(ctx.logs.length > 0);
    assert.ok(!text.includes(key.slice(-20)), 'no key secret in logs');
    assert.ok(!text.includes('Bearer'), 'no authorization header in logs');
    assert.ok(!text.includes('grace.hopper@example.test'), 'no e-mail in logs');
    assert.ok(!text.includes('1234 5678'), 'no phone number in logs');
    assert.ok(!text.includes('Grace Hopper'), 'no names in logs');
    for (const line of ctx.logs) assert.ok(JSON.parse(line).request_id !== undefined || JSON.parse(line).msg !== 'request');
  });
});

describe('health, readiness and the OpenAPI document', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(async () => ctx.close());

  test('healthz and readyz, when the database is open, then both answer 200', async () => {
    assert.equal((await request(ctx.app).get('/healthz')).status, 200);
    const ready = await request(ctx.app).get('/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.status, 'ready');
  });

  test('openapi.json, when fetched, then documents the task route with the task folders\' schemas', async () => {
    const response = await request(ctx.app).get('/openapi.json');
    assert.equal(response.status, 200);
    assert.equal(response.body.openapi, '3.1.0');
    const schemas = response.body.components.schemas;
    assert.equal(schemas.TaskRequestEnvelope.additionalProperties, false);
    assert.deepEqual(schemas['support.answer.output_1.0'].required.sort(), ['abstained', 'answer', 'citations', 'confidence']);
    assert.deepEqual(schemas['lead.classify.input_1.1'].properties.phone.type, 'string');
    assert.ok(response.body.paths['/v1/tasks/{task}'].post.responses['422']);
  });
});
