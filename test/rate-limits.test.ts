// Rate limits through the HTTP stack (RL-1..RL-3, LLM10-5): 429 problems with Retry-After and the IETF draft-10
// RateLimit-Policy / RateLimit fields, checked with a structured-fields parser rather than string matching.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { parseList, type BareItem, type Item } from 'structured-headers';
import { createTestContext, envelope, type TestContext } from './helpers/context.js';
import { startMockUpstream, type MockUpstream } from './helpers/mock-upstream.js';
import { citeFirstChunk } from './helpers/boundary.js';
import { createOpenAIModel } from '../src/model/openai.js';
import { loadConfig } from '../src/config.js';

interface PolicyItem {
  readonly name: BareItem;
  readonly params: ReadonlyMap<string, BareItem>;
}

/** Parses an SF List of Items (RFC 9651); throws on anything that is not one, as a strict client would. */
function items(header: unknown): PolicyItem[] {
  assert.equal(typeof header, 'string', 'header present');
  return parseList(header as string).map((member) => {
    assert.ok(!Array.isArray(member[0]), 'an Item, not an Inner List');
    const [name, params] = member as Item;
    return { name, params };
  });
}
const byName = (list: readonly PolicyItem[], name: string): PolicyItem => {
  const found = list.find((item) => item.name === name);
  assert.ok(found !== undefined, `policy ${name} listed`);
  return found;
};
const remaining = (response: request.Response, policy: string): number => Number(byName(items(response.headers['ratelimit']), policy).params.get('r'));

describe('per-key request limits', () => {
  let ctx: TestContext;
  let key: string;
  before(async () => {
    ctx = await createTestContext({ requestsPerMinute: 3 });
    key = (await ctx.createKey(['tasks:*'])).key;
  });
  after(async () => ctx.close());

  const ask = (task = 'support.answer', apiKey = key) =>
    request(ctx.app)
      .post(`/v1/tasks/${task}`)
      .set({ authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' })
      .send(JSON.stringify(envelope({ question: 'When is the support team open?' })));

  test('every metered response (RL-2), when successful, then carries RateLimit-Policy and RateLimit as SF Lists with stable names and no pk', async () => {
    const response = await ask();
    assert.equal(response.status, 200);
    const policies = items(response.headers['ratelimit-policy']);
    assert.deepEqual(policies.map((policy) => policy.name), ['per-key-task-minute', 'per-key-tokens-day']);
    const perMinute = byName(policies, 'per-key-task-minute');
    assert.equal(perMinute.params.get('q'), 3);
    assert.equal(perMinute.params.get('w'), 60);
    const limits = items(response.headers['ratelimit']);
    for (const limit of limits) {
      assert.equal(typeof limit.params.get('r'), 'number');
      assert.equal(typeof limit.params.get('t'), 'number');
      assert.equal(limit.params.has('pk'), false, 'no partition key that could leak the API key');
    }
    assert.equal(remaining(response, 'per-key-task-minute'), 2);
  });

  test('401 floods (RL-3), when sent with bad keys from the same client, then do not reduce the valid key’s remaining r', async () => {
    const other = await ctx.createKey(['tasks:*']);
    const before = remaining(await ask('lead.classify', other.key), 'per-key-task-minute');
    // The last character changed to one it is not (a fixed replacement was the valid key itself when the key ended in it).
    const wrongLast = ['A', 'B', 'C'].filter((char) => char !== other.key.at(-1));
    for (let i = 0; i < 20; i += 1) {
      const bad = await ask('lead.classify', `${other.key.slice(0, -1)}${wrongLast[i % 2]}`);
      assert.equal(bad.status, 401);
      assert.equal(bad.headers['ratelimit'], undefined, 'failed authentications reveal nothing about any key’s quota');
    }
    const after = await ask('lead.classify', other.key);
    assert.equal(remaining(after, 'per-key-task-minute'), before - 1, 'only the valid request itself was counted');
  });

  test('exceeding requestsPerMinute (RL-1), when the fourth request arrives, then 429 rate_limited with Retry-After ≥ t, no-store and violated-policies', async () => {
    const limited = await ctx.createKey(['tasks:*']);
    for (let i = 0; i < 3; i += 1) assert.equal((await ask('support.answer', limited.key)).status, 200);
    const response = await ask('support.answer', limited.key);
    assert.equal(response.status, 429);
    assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
    assert.equal(response.body.code, 'rate_limited');
    assert.equal(response.body.status, 429);
    assert.equal(response.body.retryable, true);
    assert.deepEqual(response.body['violated-policies'], ['per-key-task-minute']);
    assert.equal(response.headers['cache-control'], 'no-store');
    const limit = byName(items(response.headers['ratelimit']), 'per-key-task-minute');
    assert.equal(limit.params.get('r'), 0);
    const t = Number(limit.params.get('t'));
    const retryAfter = response.headers['retry-after'];
    assert.match(String(retryAfter), /^\d+$/, 'delay-seconds, an integer');
    assert.ok(Number(retryAfter) >= t && t > 0, `Retry-After ${String(retryAfter)} ≥ t ${t}`);
    items(response.headers['ratelimit-policy']);

    const otherTask = await ask('lead.classify', limited.key);
    assert.notEqual(otherTask.status, 429, 'the limit is per key and task');
  });
});

describe('the daily token budget (LLM10-5)', () => {
  let upstream: MockUpstream;
  let ctx: TestContext;
  let key: string;
  before(async () => {
    // The mock reports the whole budget as one call's usage: the call's reservation fits, its settled usage spends it all.
    upstream = await startMockUpstream([{ kind: 'answer', content: citeFirstChunk, totalTokens: 5_000 }]);
    ctx = await createTestContext({
      tokensPerDay: 5_000,
      model: createOpenAIModel({ apiKey: 'sk-test', baseURL: upstream.baseURL, model: 'mock-model', timeoutMs: 20_000, maxRetries: 0 }),
    });
    key = (await ctx.createKey(['tasks:*'])).key;
  });
  after(async () => {
    await ctx.close();
    await upstream.close();
  });

  const ask = () =>
    request(ctx.app)
      .post('/v1/tasks/support.answer')
      .set({ authorization: `Bearer ${key}`, 'content-type': 'application/json' })
      .send(JSON.stringify(envelope({ question: 'How many business days until my refund is paid?' })));

  test('a key over its token budget, when it calls again, then 429 quota_exceeded naming the token policy, and the model is not called', async () => {
    const first = await ask();
    assert.equal(first.status, 200, first.text);
    assert.equal(upstream.requests.length, 1);
    const response = await ask();
    assert.equal(response.status, 429);
    assert.equal(response.body.code, 'quota_exceeded');
    assert.deepEqual(response.body['violated-policies'], ['per-key-tokens-day']);
    assert.equal(response.headers['cache-control'], 'no-store');
    const tokens = byName(items(response.headers['ratelimit']), 'per-key-tokens-day');
    assert.equal(tokens.params.get('r'), 0);
    assert.ok(Number(response.headers['retry-after']) >= Number(tokens.params.get('t')));
    const policy = byName(items(response.headers['ratelimit-policy']), 'per-key-tokens-day');
    assert.equal(policy.params.get('q'), 5_000);
    assert.equal(policy.params.get('qu'), 'tokens');
    assert.equal(upstream.requests.length, 1);
  });
});

describe('the pre-auth limit on failed authentications (RL-3, API2)', () => {
  let ctx: TestContext;
  let key: string;
  before(async () => {
    ctx = await createTestContext({ authFailuresPerMinutePerIp: 3 });
    key = (await ctx.createKey(['tasks:*'])).key;
  });
  after(async () => ctx.close());

  const ask = (authorization: string) =>
    request(ctx.app)
      .post('/v1/tasks/support.answer')
      .set({ authorization, 'content-type': 'application/json' })
      .send(JSON.stringify(envelope({ question: 'When is the support team open?' })));

  test('auth failures from one address, when over the limit, then get 429 before any key is checked, even with a valid key', async () => {
    for (let attempt = 0; attempt < 3; attempt += 1) assert.equal((await ask('Bearer ak_dev_0000000000000000_guess')).status, 401);
    const blocked = await ask('Bearer ak_dev_0000000000000000_guess');
    assert.equal(blocked.status, 429);
    assert.equal(blocked.body.code, 'rate_limited');
    assert.deepEqual(blocked.body['violated-policies'], ['per-ip-auth-failures-minute']);
    assert.ok(Number(blocked.headers['retry-after']) >= 1);
    const withValidKey = await ask(`Bearer ${key}`);
    assert.equal(withValidKey.status, 429, 'the address is locked out until the window passes');
  });
});

describe('clients behind the shipped reverse proxy (RL-3, issue 12 "also found")', () => {
  const failures = 3;
  const bad = (ctx: TestContext, forwardedFor: string) =>
    request(ctx.app).get('/v1/models').set('authorization', 'Bearer not-a-key').set('x-forwarded-for', forwardedFor);

  test('RL-3: with AIRLOCK_TRUST_PROXY naming the proxy, when one client behind it exhausts its auth failures, then another client behind the same proxy is still only told 401', async () => {
    // supertest connects from loopback, so loopback plays the proxy's address.
    const ctx = await createTestContext({ authFailuresPerMinutePerIp: failures, trustProxy: ['127.0.0.1', '::1'] });
    try {
      for (let attempt = 0; attempt < failures; attempt += 1) assert.equal((await bad(ctx, '203.0.113.7')).status, 401);
      assert.equal((await bad(ctx, '203.0.113.7')).status, 429, 'the noisy client is locked out');
      assert.equal((await bad(ctx, '198.51.100.20')).status, 401, 'a second client behind the proxy keeps its own count');
    } finally {
      await ctx.close();
    }
  });

  test('RL-3: without AIRLOCK_TRUST_PROXY, when a client rotates X-Forwarded-For, then the header is ignored and the client is locked out all the same', async () => {
    const ctx = await createTestContext({ authFailuresPerMinutePerIp: failures });
    try {
      for (let attempt = 0; attempt < failures; attempt += 1) assert.equal((await bad(ctx, `203.0.113.${attempt}`)).status, 401);
      assert.equal((await bad(ctx, '198.51.100.99')).status, 429, 'a spoofed X-Forwarded-For does not evade the limit');
    } finally {
      await ctx.close();
    }
  });

  test('AIRLOCK_TRUST_PROXY, when set to something that is not an address or CIDR block, then configuration fails naming the variable', () => {
    assert.deepEqual(loadConfig({ AIRLOCK_TRUST_PROXY: '172.28.0.10, fd00::/8' }).AIRLOCK_TRUST_PROXY, ['172.28.0.10', 'fd00::/8']);
    for (const value of ['nginx', '10.0.0.0/33', '10.0.0.1/8/1', ' , ']) assert.throws(() => loadConfig({ AIRLOCK_TRUST_PROXY: value }), /AIRLOCK_TRUST_PROXY/);
  });
});
