// Bad input never changes state: fast-check throws random envelopes, headers and bodies at every endpoint and checks
// that nothing answers 5xx, every 4xx is problem+json whose `status` matches, and no table but audit_log gains rows.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { createTestContext, rowCount, type TestContext } from './helpers/context.js';

const PRINTABLE = fc.string({ unit: 'grapheme-ascii', maxLength: 80 });
const VALID_DATA = { question: 'When is the support team open?' };
const VALID_ENVELOPE = { schema_version: '1.0', source: 'fuzz', event_id: 'evt_fuzz', timestamp: '2026-05-12T10:15:00Z', data: VALID_DATA };

interface FuzzRequest {
  readonly method: 'get' | 'post' | 'put' | 'delete' | 'patch';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string | Buffer | undefined;
  /** Whether valid Standard Webhooks headers were added for the signing key's secret. */
  readonly signed: boolean;
}

/** Envelopes that are each wrong in at least one way, so no generated call is a legitimate one. */
const brokenEnvelope: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom('schema_version', 'source', 'event_id', 'timestamp', 'data').map((field) => {
    const { [field as keyof typeof VALID_ENVELOPE]: _dropped, ...rest } = VALID_ENVELOPE;
    return rest;
  }),
  PRINTABLE.filter((version) => version !== '1.0' && version !== '1.1').map((schema_version) => ({ ...VALID_ENVELOPE, schema_version })),
  fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.jsonValue(), { maxLength: 3 })).map((data) => ({ ...VALID_ENVELOPE, data })),
  fc
    .record({ key: fc.string({ minLength: 1, maxLength: 20 }).filter((key) => !['question', 'locale'].includes(key)), value: fc.jsonValue() })
    .map(({ key, value }) => ({ ...VALID_ENVELOPE, data: { ...VALID_DATA, [key]: value } })),
  fc.record({ key: fc.string({ minLength: 1, maxLength: 20 }).filter((key) => !(key in VALID_ENVELOPE)), value: fc.jsonValue() }).map(({ key, value }) => ({ ...VALID_ENVELOPE, [key]: value })),
  fc.constantFrom('', ' ', '../etc', 'a b', 'x'.repeat(200), 'é', '\u0000').map((event_id) => ({ ...VALID_ENVELOPE, event_id })),
  fc.constantFrom('yesterday', '2026-13-45T99:00:00Z', '', '1715508900', '2026-05-12').map((timestamp) => ({ ...VALID_ENVELOPE, timestamp })),
  fc.constantFrom(' ', '', 'x'.repeat(2001)).map((question) => ({ ...VALID_ENVELOPE, data: { question } })),
);

const body: fc.Arbitrary<string | Buffer | undefined> = fc.oneof(
  brokenEnvelope.map((value) => JSON.stringify(value)),
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc.constantFrom(undefined, '', '{', 'null', '[]', '{"schema_version":"1.0",', '\uFEFF{}'),
);

const id = fc.oneof(fc.constantFrom('00000000deadbeef', 'no-such-doc', 'refunds-x', '..', '%2e%2e', 'x'.repeat(300)), fc.stringMatching(/^[a-z0-9-]{1,20}$/));
const version = fc.oneof(fc.constantFrom('1', '0', '-1', 'x', '99999999999999999999'), fc.integer({ min: 2, max: 50 }).map(String));
const query = fc.oneof(fc.constant(''), fc.constantFrom('?limit=0', '?limit=x', '?decision=nope', '?from=1&to=x', '?state=open', '?request_id=' + 'x'.repeat(200), '?collection=%00'));

const endpoint: fc.Arbitrary<{ method: FuzzRequest['method']; path: string }> = fc.oneof(
  {
    // The task routes get most of the traffic: they are the public surface.
    arbitrary: fc.record({
      method: fc.constant('post' as const),
      path: fc.oneof(
        { arbitrary: fc.constantFrom('support.answer', 'lead.classify', 'content.draft'), weight: 6 },
        { arbitrary: fc.constantFrom('order.refund', '..%2fadmin', 'a'.repeat(300), '%E0%A4%A', '%ZZ'), weight: 1 },
      ).map((task) => `/v1/tasks/${task}`),
    }),
    weight: 10,
  },
  fc.record({ method: fc.constantFrom('get' as const, 'put' as const, 'delete' as const, 'patch' as const), path: fc.constant('/v1/tasks/support.answer') }),
  fc.record({ method: fc.constantFrom('get' as const, 'post' as const), path: fc.constantFrom('/healthz', '/readyz', '/openapi.json') }),
  fc.record({ method: fc.constantFrom('get' as const, 'post' as const), path: query.map((q) => `/admin/keys${q}`) }),
  fc.record({ method: fc.constant('post' as const), path: fc.tuple(id, fc.constantFrom('revoke', 'rotate', 'rotate-secret')).map(([key, action]) => `/admin/keys/${key}/${action}`) }),
  fc.record({ method: fc.constantFrom('get' as const, 'post' as const), path: query.map((q) => `/admin/corpus/documents${q}`) }),
  fc.record({
    method: fc.constantFrom('get' as const, 'post' as const, 'delete' as const),
    path: fc
      .tuple(id, version, query, fc.constantFrom('', '/approve', '/retire', '/diff', '/versions/V', '/versions/V/chunks'))
      .map(([doc, v, q, suffix]) => `/admin/corpus/documents/${doc}${suffix.replace('V', v)}${q}`),
  }),
  fc.record({ method: fc.constantFrom('get' as const, 'post' as const), path: fc.tuple(id, fc.constantFrom('', '/resolve'), query).map(([review, suffix, q]) => `/admin/reviews/${review}${suffix}${q}`) }),
  fc.record({ method: fc.constant('get' as const), path: query.map((q) => `/admin/reviews${q}`) }),
  fc.record({ method: fc.constant('get' as const), path: query.map((q) => `/admin/audit${q}`) }),
  fc.record({ method: fc.constantFrom('get' as const, 'post' as const), path: fc.stringMatching(/^\/[a-z0-9/._-]{0,40}$/) }),
);

describe('random requests at every endpoint', () => {
  let ctx: TestContext;
  let keys: { tasks: string; admin: string; signed: string; staging: string; narrow: string };
  let signingSecret: string;
  let tables: string[];

  before(async () => {
    ctx = await createTestContext();
    const signed = await ctx.createKey(['tasks:*'], { signed: true });
    signingSecret = signed.signingSecret ?? '';
    keys = {
      tasks: (await ctx.createKey(['tasks:*'])).key,
      admin: (await ctx.createKey(['admin', 'tasks:*'])).key,
      signed: signed.key,
      staging: (await ctx.createKey(['tasks:*'], { environment: 'staging' })).key,
      narrow: (await ctx.createKey(['tasks:lead.classify'])).key,
    };
    tables = ctx.store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
    assert.ok(tables.includes('audit_log') && tables.includes('idempotency_records') && tables.includes('webhook_ids'));
  });
  after(async () => ctx.close());

  const counts = (): Record<string, number> =>
    Object.fromEntries(tables.filter((table) => table !== 'audit_log').map((table) => [table, ctx.store.db.prepare(`SELECT count(*) FROM "${table}"`).pluck().get() as number]));

  /** Mostly a real key, so most requests get past authentication and exercise parsing and validation. */
  const authorization: () => fc.Arbitrary<string | undefined> = () =>
    fc.oneof(
      { arbitrary: fc.constantFrom(keys.tasks, keys.admin, keys.narrow).map((key) => `Bearer ${key}`), weight: 12 },
      { arbitrary: fc.constantFrom(keys.signed, keys.staging).map((key) => `Bearer ${key}`), weight: 2 },
      { arbitrary: fc.constant(undefined), weight: 1 },
      {
        arbitrary: fc
          .constantFrom(...Object.values(keys))
          .chain((key) =>
            fc.constantFrom(`bearer ${key}`, `Bearer  ${key}`, `Bearer ${key}x`, `Bearer ${key.slice(0, -1)}`, `Basic ${Buffer.from(`${key}:`).toString('base64')}`, key, `Bearer ${key.toUpperCase()}`),
          ),
        weight: 2,
      },
      { arbitrary: PRINTABLE.map((junk) => `Bearer ${junk}`), weight: 1 },
      { arbitrary: PRINTABLE, weight: 1 },
    );
  /** Present now and then: any webhook-* header makes the request a signed one, which junk never passes. */
  const rarely = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
    fc.oneof({ arbitrary: fc.constant(undefined), weight: 20 }, { arbitrary, weight: 1 });

  const headers = (): fc.Arbitrary<Record<string, string>> =>
    fc
      .record({
        authorization: authorization(),
        'content-type': fc.oneof(
          { arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8'), weight: 6 },
          {
            arbitrary: fc.constantFrom('application/json; charset=latin1', 'text/plain', 'multipart/form-data; boundary=x', 'application/problem+json', 'application/x-www-form-urlencoded', ''),
            weight: 2,
          },
          { arbitrary: fc.constant(undefined), weight: 1 },
        ),
        'idempotency-key': fc.oneof(fc.constant(undefined), PRINTABLE, fc.constantFrom('"quoted"', '"unterminated', '"a\\"b"', 'k'.repeat(256), 'with space', '')),
        'webhook-id': rarely(fc.oneof(PRINTABLE, fc.constantFrom('msg_1', 'a.b', 'x'.repeat(300)))),
        'webhook-timestamp': rarely(fc.oneof(PRINTABLE, fc.constantFrom(String(Math.floor(Date.now() / 1000)), '0', '-1', '99999999999', '1e9'))),
        'webhook-signature': rarely(fc.oneof(PRINTABLE, fc.constantFrom('v1,', 'v1,AAAA', 'v1a,abc', 'v1,' + 'A'.repeat(2000), 'v2,x v1,y'))),
        'x-request-id': rarely(PRINTABLE),
        'content-encoding': rarely(fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'compress')),
      })
      .map((record) => Object.fromEntries(Object.entries(record).filter((entry): entry is [string, string] => entry[1] !== undefined)));

  /** Occasionally a correctly signed webhook header set for a body that is still bad, so signing never makes junk pass. */
  const maybeSign = (fuzz: FuzzRequest, sign: boolean): FuzzRequest => {
    if (!sign || fuzz.body === undefined) return fuzz;
    const msgId = `msg_${randomBytes(8).toString('hex')}`;
    const at = new Date();
    return {
      ...fuzz,
      signed: true,
      headers: {
        ...fuzz.headers,
        'webhook-id': msgId,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': new Webhook(signingSecret).sign(msgId, at, fuzz.body),
      },
    };
  };

  test('any endpoint, when sent random envelopes, headers and bodies, then never 5xx, 4xx are matching problem+json, and only audit_log grows', async () => {
    const fuzzRequest = fc
      .record({ endpoint, headers: headers(), body, sign: fc.boolean() })
      .map(({ endpoint: target, headers: sent, body: payload, sign }) => maybeSign({ method: target.method, path: target.path, headers: sent, body: payload, signed: false }, sign));
    const statuses = new Map<number, number>();

    await fc.assert(
      fc.asyncProperty(fuzzRequest, async (fuzz) => {
        const before = counts();
        let call = request(ctx.app)[fuzz.method](fuzz.path);
        for (const [name, value] of Object.entries(fuzz.headers)) call = call.set(name, value);
        const response = fuzz.body === undefined ? await call : await call.send(fuzz.body);
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);

        assert.ok(response.status < 500, `${fuzz.method.toUpperCase()} ${fuzz.path} answered ${response.status}: ${response.text.slice(0, 300)}`);
        if (response.status >= 400) {
          assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
          const problem = JSON.parse(response.text) as { status: unknown; code: unknown; type: unknown };
          assert.equal(problem.status, response.status);
          assert.equal(typeof problem.code, 'string');
          assert.match(String(problem.type), /^urn:airlock:problem:/);
        } else {
          // Only reads succeed: every generated write is wrong somewhere.
          assert.equal(fuzz.method, 'get', `${fuzz.path} accepted a write: ${response.status}`);
        }
        const afterCounts = counts();
        // A request correctly signed for the signing key has its webhook-id remembered (SIG-5) before the body is
        // parsed: that row is the replay defence doing its job, so it is the one allowed exception.
        const authenticSignature = fuzz.signed && /^bearer +(\S+) *$/i.exec(fuzz.headers['authorization'] ?? '')?.[1] === keys.signed;
        const newIds = (afterCounts['webhook_ids'] ?? 0) - (before['webhook_ids'] ?? 0);
        assert.ok(newIds === 0 || (authenticSignature && newIds === 1), `webhook_ids grew by ${newIds}`);
        assert.deepEqual({ ...afterCounts, webhook_ids: 0 }, { ...before, webhook_ids: 0 });
      }),
      { numRuns: 300, seed: Number(process.env['FUZZ_SEED'] ?? 20_260_512) },
    );
    if (process.env["FUZZ_VERBOSE"]) console.log(JSON.stringify([...statuses].sort()));
    // The generator reached past authentication into validation, and beyond the happy 401.
    assert.ok([...statuses.keys()].some((status) => status === 400 || status === 404 || status === 415), JSON.stringify([...statuses]));
  });
});

describe('bad input the fuzzer found (issue 12 B9)', () => {
  let ctx: TestContext;
  let key: string;

  before(async () => {
    ctx = await createTestContext({ authFailuresPerMinutePerIp: 3 });
    key = (await ctx.createKey(['admin', 'tasks:*'])).key;
  });
  after(async () => ctx.close());

  const assertProblem = (response: request.Response, status: number, code: string): void => {
    assert.equal(response.status, status, response.text.slice(0, 300));
    const body = JSON.parse(response.text) as { status?: number; code?: string; error?: { code: string }; airlock?: { status: number; code: string } };
    // The OpenAI-compatible routes answer in OpenAI's error shape, with the problem's status and code beside it.
    assert.equal(body.code ?? body.airlock?.code, code);
    assert.equal(body.status ?? body.airlock?.status, status);
  };

  test('PD-1 B9: a path that is not valid percent-encoding, when sent to a task, model or admin route, then a 400 malformed_path problem, not a router 500', async () => {
    for (const [method, path] of [['post', '/v1/tasks/%E0%A4%A'], ['get', '/v1/models/%ZZ'], ['post', '/admin/keys/%E0/revoke'], ['get', '/admin/corpus/documents/%E0%A4%A']] as const) {
      const response = await request(ctx.app)[method](path).set('authorization', `Bearer ${key}`).set('content-type', 'application/json');
      assertProblem(response, 400, 'malformed_path');
    }
  });

  test('PD-1 B9: a body labelled gzip, deflate or br that is not, when sent to a task or chat route, then a 400 malformed_encoding problem and no row but audit', async () => {
    const auditBefore = rowCount(ctx, 'audit_log');
    for (const path of ['/v1/tasks/support.answer', '/v1/chat/completions', '/admin/keys']) {
      for (const encoding of ['gzip', 'deflate', 'br']) {
        const response = await request(ctx.app).post(path).set('authorization', `Bearer ${key}`).set('content-type', 'application/json').set('content-encoding', encoding).send('{"not":"compressed"}');
        assertProblem(response, 400, 'malformed_encoding');
      }
    }
    assert.equal(rowCount(ctx, 'idempotency_records'), 0);
    assert.ok(rowCount(ctx, 'audit_log') >= auditBefore);
  });

  test('PD-1 B9: a chat text part without its text, when sent, then a 400 validation_failed problem naming messages, not a ZodError 500', async () => {
    for (const content of [[{ type: 'text' }], [{ type: 'text', text: 42 }], [{ type: 'text', text: 'hi' }, { type: 'text', text: null }]]) {
      const response = await request(ctx.app)
        .post('/v1/chat/completions')
        .set('authorization', `Bearer ${key}`)
        .set('content-type', 'application/json')
        .send(JSON.stringify({ model: 'airlock:support.answer', messages: [{ role: 'user', content }] }));
      assertProblem(response, 400, 'validation_failed');
      assert.equal((JSON.parse(response.text) as { error: { param: string } }).error.param, 'messages');
    }
  });

  test('RL-3 B9: a body with a bad content-encoding, when sent without a valid key, then it is a counted 401, and once the address is locked out even a valid key gets 429 before the body is decoded', async () => {
    for (const path of ['/v1/tasks/support.answer', '/v1/chat/completions', '/admin/keys']) {
      const response = await request(ctx.app).post(path).set('authorization', 'Bearer nope').set('content-type', 'application/json').set('content-encoding', 'br').send('{"not":"compressed"}');
      assertProblem(response, 401, 'unauthenticated');
    }
    for (const path of ['/v1/tasks/support.answer', '/v1/chat/completions', '/admin/keys']) {
      const response = await request(ctx.app).post(path).set('authorization', `Bearer ${key}`).set('content-type', 'application/json').set('content-encoding', 'gzip').send('{"not":"compressed"}');
      assertProblem(response, 429, 'rate_limited');
    }
  });
});
