// Signed requests (SIG-1..SIG-8) through the HTTP stack, signed by the `standardwebhooks` npm package: a real client
// implementation nobody here wrote, so a shared misreading of the spec cannot pass on both sides.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { createTestContext, envelope, rowCount, type TestContext } from './helpers/context.js';
import { manualClock, type ManualClock } from './helpers/boundary.js';

const HOUR = 3_600_000;

describe('signed requests with Standard Webhooks v1', () => {
  let ctx: TestContext;
  let clock: ManualClock;
  let key: string;
  let keyId: string;
  let secret: string;
  let adminKey: string;

  before(async () => {
    clock = manualClock();
    ctx = await createTestContext({ clock: clock.now });
    const created = await ctx.createKey(['tasks:*'], { signed: true });
    assert.ok(created.signingSecret !== undefined && created.signingSecret.startsWith('whsec_'));
    ({ key, id: keyId } = created);
    secret = created.signingSecret;
    adminKey = (await ctx.createKey(['admin'])).key;
  });
  after(async () => ctx.close());

  interface Signing {
    readonly secret?: string;
    readonly id?: string;
    readonly at?: Date;
    /** Bytes actually sent, when they should differ from the signed ones. */
    readonly sent?: string;
    readonly task?: string;
    readonly headers?: Record<string, string>;
  }

  /** Signs `body` as the standardwebhooks library would and posts it; returns the response and the webhook id used. */
  async function signedPost(body: string, signing: Signing = {}) {
    const id = signing.id ?? `msg_${randomUUID()}`;
    const at = signing.at ?? clock.now();
    const signature = new Webhook(signing.secret ?? secret).sign(id, at, body);
    const response = await request(ctx.app)
      .post(`/v1/tasks/${signing.task ?? 'support.answer'}`)
      .set({
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': signature,
        ...signing.headers,
      })
      .send(signing.sent ?? body);
    return { response, id };
  }
  const question = (): string => JSON.stringify(envelope({ question: 'When is the support team open?' }));
  const otherSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

  test('a request signed by the standardwebhooks library (SIG-1, SIG-2), when the secret and timestamp are right, then answers 200', async () => {
    const { response } = await signedPost(question());
    assert.equal(response.status, 200, response.text);
  });

  test('a signature made with another secret (SIG-3), when verified, then 401 signature_invalid', async () => {
    const { response } = await signedPost(question(), { secret: otherSecret() });
    assert.equal(response.status, 401);
    assert.equal(response.body.code, 'signature_invalid');
    assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  });

  test('timestamps (SIG-4), when 301 s in the past or future, then 401 signature_timestamp_out_of_tolerance; 299 s either way pass', async () => {
    for (const skewSeconds of [-301, 301]) {
      const { response } = await signedPost(question(), { at: new Date(clock.now().getTime() + skewSeconds * 1000) });
      assert.equal(response.status, 401, `skew ${skewSeconds}`);
      assert.equal(response.body.code, 'signature_timestamp_out_of_tolerance');
    }
    for (const skewSeconds of [-299, 299]) {
      const { response } = await signedPost(question(), { at: new Date(clock.now().getTime() + skewSeconds * 1000) });
      assert.equal(response.status, 200, `skew ${skewSeconds}`);
    }
  });

  test('a replayed webhook-id (SIG-5), when sent again, also to another route, then 409 request_replayed', async () => {
    const body = question();
    const first = await signedPost(body);
    assert.equal(first.response.status, 200);
    const again = await signedPost(body, { id: first.id });
    assert.equal(again.response.status, 409);
    assert.equal(again.response.body.code, 'request_replayed');
    const lead = JSON.stringify(envelope({ name: 'Ada', email: 'ada@example.test', message: 'A quote please', consent: true }));
    const elsewhere = await signedPost(lead, { id: first.id, task: 'lead.classify', headers: {} });
    assert.equal(elsewhere.response.status, 409, 'the route is not signed, so the id is de-duplicated per key across routes');
    assert.equal(elsewhere.response.body.code, 'request_replayed');
  });

  test('a tampered body (SIG-2), when one space is added after signing, then 401 signature_invalid', async () => {
    const body = question();
    const { response } = await signedPost(body, { sent: body.replace(':', ': ') });
    assert.equal(response.status, 401);
    assert.equal(response.body.code, 'signature_invalid');
  });

  test('an unsigned request (SIG-1), when the key requires signatures, then 401 signature_missing', async () => {
    const response = await request(ctx.app)
      .post('/v1/tasks/support.answer')
      .set({ authorization: `Bearer ${key}`, 'content-type': 'application/json' })
      .send(question());
    assert.equal(response.status, 401);
    assert.equal(response.body.code, 'signature_missing');
    assert.match(String(response.headers['www-authenticate']), /^Bearer/);
  });

  test('each signature failure, when rejected, then has its own problem code and type', async () => {
    const codes = new Map<string, string>();
    const collect = (response: request.Response): void => void codes.set(response.body.code, response.body.type);
    collect((await signedPost(question(), { secret: otherSecret() })).response);
    collect((await signedPost(question(), { at: new Date(clock.now().getTime() - 301_000) })).response);
    const replayed = await signedPost(question());
    collect((await signedPost(question(), { id: replayed.id })).response);
    collect((await request(ctx.app).post('/v1/tasks/support.answer').set({ authorization: `Bearer ${key}`, 'content-type': 'application/json' }).send(question())));
    assert.deepEqual([...codes.keys()].sort(), ['request_replayed', 'signature_invalid', 'signature_missing', 'signature_timestamp_out_of_tolerance']);
    assert.equal(new Set(codes.values()).size, 4);
  });

  test('a badly signed request with an Idempotency-Key (SIG-8), when rejected, then burns no key and stores nothing', async () => {
    const before = { idempotency: rowCount(ctx, 'idempotency_records'), reviews: rowCount(ctx, 'reviews') };
    const body = question();
    const bad = await signedPost(body, { secret: otherSecret(), headers: { 'idempotency-key': 'sig-8' } });
    assert.equal(bad.response.status, 401);
    assert.deepEqual({ idempotency: rowCount(ctx, 'idempotency_records'), reviews: rowCount(ctx, 'reviews') }, before);
    const good = await signedPost(body, { headers: { 'idempotency-key': 'sig-8' } });
    assert.equal(good.response.status, 200, 'the key is still free for the properly signed request');
    assert.equal(good.response.headers['idempotent-replayed'], undefined);
  });

  test('a signed retry with an Idempotency-Key (SIG-5), when the webhook-id repeats, then takes the idempotent replay path', async () => {
    const body = question();
    const first = await signedPost(body, { headers: { 'idempotency-key': 'sig-retry' } });
    assert.equal(first.response.status, 200);
    const retry = await signedPost(body, { id: first.id, headers: { 'idempotency-key': 'sig-retry' } });
    assert.equal(retry.response.status, 200);
    assert.equal(retry.response.headers['idempotent-replayed'], 'true');
    assert.equal(retry.response.text, first.response.text);
  });

  test('secret rotation (SIG-7), when a new secret is issued with a 1 h overlap, then both verify until the overlap ends and only the new one after', async () => {
    const old = secret;
    const rotated = await request(ctx.app)
      .post(`/admin/keys/${keyId}/rotate-secret`)
      .set({ authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' })
      .send(JSON.stringify({ overlap_hours: 1 }));
    assert.equal(rotated.status, 201, rotated.text);
    const fresh = rotated.body.signing_secret as string;
    assert.match(fresh, /^whsec_/);
    assert.notEqual(fresh, old);
    assert.equal(rotated.headers['cache-control'], 'no-store');

    assert.equal((await signedPost(question(), { secret: old })).response.status, 200, 'old secret within the overlap');
    assert.equal((await signedPost(question(), { secret: fresh })).response.status, 200, 'new secret within the overlap');
    clock.advance(HOUR + 1_000);
    const expired = await signedPost(question(), { secret: old });
    assert.equal(expired.response.status, 401, 'old secret after the overlap');
    assert.equal(expired.response.body.code, 'signature_invalid');
    assert.equal((await signedPost(question(), { secret: fresh })).response.status, 200, 'new secret after the overlap');
    secret = fresh;
  });

  test('a multi-signature header (SIG-3), when old and new secrets both sign during rotation, then passes', async () => {
    const body = question();
    const id = `msg_${randomUUID()}`;
    const at = clock.now();
    const signatures = [new Webhook(otherSecret()).sign(id, at, body), 'v2,bm9wZQ==', new Webhook(secret).sign(id, at, body)].join(' ');
    const response = await request(ctx.app)
      .post('/v1/tasks/support.answer')
      .set({ authorization: `Bearer ${key}`, 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signatures })
      .send(body);
    assert.equal(response.status, 200, response.text);
  });
});
