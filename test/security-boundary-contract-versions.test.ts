// Contract versions served side by side: the envelope's schema_version picks the task's input schema, the response
// says which version answered, and an unknown version is a 400 naming the supported ones.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createTestContext, envelope, rowCount, type TestContext } from './helpers/context.js';

describe('schema_version 1.0 and 1.1 side by side', () => {
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
      .send(JSON.stringify(body));

  test('a 1.0 envelope, when sent, then is answered by the 1.0 contract and says so, in the response and the audit row', async () => {
    const response = await post('support.answer', envelope({ question: 'When is the support team open?' }));
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.schema_version, '1.0');
    const [audit] = await ctx.store.audit.list({ requestId: response.body.request_id, limit: 1 });
    assert.equal(audit?.detail['schema_version'], '1.0');
  });

  test('a 1.1 envelope, when it uses the field 1.1 added (locale), then is accepted and answered as 1.1', async () => {
    const response = await post('support.answer', envelope({ question: 'When is the support team open?', locale: 'de' }, { schema_version: '1.1' }));
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.schema_version, '1.1');
    const [audit] = await ctx.store.audit.list({ requestId: response.body.request_id, limit: 1 });
    assert.equal(audit?.detail['schema_version'], '1.1');
  });

  test('a 1.1 envelope, when it omits the optional field, then is still valid 1.1', async () => {
    const response = await post('support.answer', envelope({ question: 'When is the support team open?' }, { schema_version: '1.1' }));
    assert.equal(response.status, 200);
    assert.equal(response.body.schema_version, '1.1');
  });

  test('a 1.0 envelope, when it carries the 1.1-only field, then 400 validation_failed with the field\'s JSON pointer', async () => {
    const response = await post('support.answer', envelope({ question: 'When is the support team open?', locale: 'de' }));
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'validation_failed');
    assert.deepEqual(response.body.errors, [{ path: 'data.locale', pointer: '/data/locale', message: 'unknown field' }]);
  });

  test('lead.classify 1.1, when it sends the phone field 1.1 added, then its 1.1 schema accepts it where 1.0 refuses it', async () => {
    const lead = { name: 'Ada', email: 'ada@example.test', message: 'A quote for 40 people please', consent: true, phone: '+31 20 123 4567' };
    const on10 = await post('lead.classify', envelope(lead), { 'idempotency-key': 'lead-v10' });
    assert.equal(on10.status, 400);
    assert.deepEqual(on10.body.errors, [{ path: 'data.phone', pointer: '/data/phone', message: 'unknown field' }]);
    // Past validation; with no upstream configured the offline provider cannot fill a lead, so the answer is 503.
    const on11 = await post('lead.classify', envelope(lead, { schema_version: '1.1' }), { 'idempotency-key': 'lead-v11' });
    assert.equal(on11.status, 503, on11.text);
    assert.equal(on11.body.code, 'model_not_configured');
  });

  for (const version of ['2.0', '1.2', '1', '']) {
    test(`an unknown schema_version "${version}", when sent, then 400 unsupported_schema_version naming 1.0 and 1.1, before any claim`, async () => {
      const before = rowCount(ctx, 'idempotency_records');
      const response = await post('support.answer', envelope({ question: 'When is the support team open?' }, { schema_version: version }), { 'idempotency-key': `v-${version}` });
      assert.equal(response.status, 400);
      assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
      assert.equal(response.body.code, 'unsupported_schema_version');
      assert.deepEqual(response.body.supported_versions, ['1.0', '1.1']);
      assert.match(response.body.detail, /1\.0, 1\.1/);
      assert.equal(rowCount(ctx, 'idempotency_records'), before, 'a rejected version burns no idempotency key');
    });
  }
});
