// API keys at the boundary (API2): environment binding, expiry, revocation, rotation with an overlap, the admin
// routes' scope check and secret-free listings, and the CLI that prints a key once and stores only its hash.
import { after, before, describe, test } from 'node:test';
import { capture } from './helpers/capture.js';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { BUNDLED_TASKS, createTestContext, dataDirSecretBox, envelope, type TestContext } from './helpers/context.js';
import { manualClock, type ManualClock } from './helpers/boundary.js';
import { runCli } from '../src/cli/main.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';

const HOUR = 3_600_000;

describe('API keys on a production server', () => {
  let ctx: TestContext;
  let clock: ManualClock;
  let adminKey: string;

  before(async () => {
    clock = manualClock();
    ctx = await createTestContext({ environment: 'production', clock: clock.now });
    adminKey = (await ctx.createKey(['admin'])).key;
  });
  after(async () => ctx.close());

  const ask = (apiKey: string) =>
    request(ctx.app)
      .post('/v1/tasks/support.answer')
      .set({ authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' })
      .send(JSON.stringify(envelope({ question: 'When is the support team open?' })));
  const admin = (method: 'get' | 'post', path: string, apiKey = adminKey, body?: unknown) => {
    const call = request(ctx.app)[method](path).set({ authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' });
    return body === undefined ? call : call.send(JSON.stringify(body));
  };
  const assertUnauthenticated = (response: request.Response, detail: RegExp): void => {
    assert.equal(response.status, 401);
    assert.equal(response.body.code, 'unauthenticated');
    assert.match(response.body.detail, detail);
    assert.match(String(response.headers['www-authenticate']), /^Bearer/);
  };

  test('a production key, when used on the production server, then works', async () => {
    const { key } = await ctx.createKey(['tasks:*']);
    assert.match(key, /^ak_prod_/);
    assert.equal((await ask(key)).status, 200);
  });

  test('the Authorization scheme, when spelled in another case, then still authenticates (RFC 9110 §11.1); other schemes do not', async () => {
    const { key } = await ctx.createKey(['tasks:*']);
    for (const header of [`bearer ${key}`, `BEARER ${key}`, `Bearer  ${key}`]) {
      const response = await request(ctx.app)
        .post('/v1/tasks/support.answer')
        .set({ authorization: header, 'content-type': 'application/json' })
        .send(JSON.stringify(envelope({ question: 'When is the support team open?' })));
      assert.equal(response.status, 200, header.slice(0, 8));
    }
    for (const header of [`Basic ${key}`, key, `Bearer ${key} extra`, `Bearer${key}`]) {
      const response = await request(ctx.app)
        .post('/v1/tasks/support.answer')
        .set({ authorization: header, 'content-type': 'application/json' })
        .send(JSON.stringify(envelope({ question: 'When is the support team open?' })));
      assert.equal(response.status, 401, header.slice(0, 8));
    }
  });

  test('a staging key (API2), when used on a production server, then 401', async () => {
    const { key } = await ctx.createKey(['tasks:*'], { environment: 'staging' });
    assert.match(key, /^ak_stg_/);
    assertUnauthenticated(await ask(key), /staging/);
  });

  test('an expired key, when used after its expiry, then 401', async () => {
    const { key } = await ctx.createKey(['tasks:*'], { expiresAt: new Date(clock.now().getTime() + HOUR).toISOString() });
    assert.equal((await ask(key)).status, 200);
    clock.advance(HOUR);
    assertUnauthenticated(await ask(key), /expired/);
  });

  test('a revoked key, when used after /admin/keys/{id}/revoke, then 401; revoking twice is a 409', async () => {
    const { key, id } = await ctx.createKey(['tasks:*']);
    assert.equal((await ask(key)).status, 200);
    const revoked = await admin('post', `/admin/keys/${id}/revoke`);
    assert.equal(revoked.status, 200);
    assert.equal(typeof revoked.body.revoked_at, 'string');
    assertUnauthenticated(await ask(key), /revoked/);
    const again = await admin('post', `/admin/keys/${id}/revoke`);
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'state_conflict');
  });

  test('key rotation, when done with a 2 h overlap, then both keys work during it and only the new one after', async () => {
    const old = await ctx.createKey(['tasks:*']);
    const rotated = await admin('post', `/admin/keys/${old.id}/rotate`, adminKey, { overlap_hours: 2 });
    assert.equal(rotated.status, 201, rotated.text);
    assert.equal(rotated.headers['cache-control'], 'no-store');
    const fresh = rotated.body.key as string;
    assert.notEqual(fresh, old.key);
    assert.equal(rotated.body.previous.id, old.id);
    assert.equal((await ask(old.key)).status, 200, 'old key during the overlap');
    assert.equal((await ask(fresh)).status, 200, 'new key during the overlap');
    clock.advance(2 * HOUR + 1_000);
    assertUnauthenticated(await ask(old.key), /expired/);
    assert.equal((await ask(fresh)).status, 200, 'new key after the overlap');
  });

  test('API2 B11: key rotation, when the key expires in 1 h, then the new key expires at the same instant and stops working then (or at a new expires_at given with the rotation)', async () => {
    const expiresAt = new Date(clock.now().getTime() + HOUR).toISOString();
    const old = await ctx.createKey(['tasks:*'], { expiresAt });
    const rotated = await admin('post', `/admin/keys/${old.id}/rotate`, adminKey, { overlap_hours: 24 });
    assert.equal(rotated.status, 201, rotated.text);
    assert.equal(rotated.body.record.expires_at, expiresAt, 'the expiry is kept, not dropped');
    assert.equal(rotated.body.previous.expires_at, expiresAt, 'the overlap never extends the old key');
    const later = new Date(clock.now().getTime() + 48 * HOUR).toISOString();
    const extended = await admin('post', `/admin/keys/${rotated.body.id}/rotate`, adminKey, { overlap_hours: 0, expires_at: later });
    assert.equal(extended.status, 201, extended.text);
    assert.equal(extended.body.record.expires_at, later);
    clock.advance(HOUR + 1_000);
    assertUnauthenticated(await ask(rotated.body.key as string), /expired/);
    assert.equal((await ask(extended.body.key as string)).status, 200);
  });

  test('API2 B11: key rotation, when the key has expired or was revoked, then 409 state_conflict and no key is created', async () => {
    const expired = await ctx.createKey(['tasks:*'], { expiresAt: new Date(clock.now().getTime() + 1_000).toISOString() });
    const revoked = await ctx.createKey(['tasks:*']);
    assert.equal((await admin('post', `/admin/keys/${revoked.id}/revoke`)).status, 200);
    clock.advance(2_000);
    const before = (await ctx.store.keys.list()).length;
    for (const [id, detail] of [[expired.id, /expired/], [revoked.id, /revoked/]] as const) {
      for (const action of ['rotate', 'rotate-secret']) {
        const response = await admin('post', `/admin/keys/${id}/${action}`, adminKey, { overlap_hours: 1 });
        assert.equal(response.status, 409, `${action} ${response.text}`);
        assert.equal(response.body.code, 'state_conflict');
        assert.match(response.body.detail, detail);
        assert.equal(response.body.key, undefined);
      }
    }
    assert.equal((await ctx.store.keys.list()).length, before, 'no key was created');
  });

  test('the /admin/keys routes, when called with a key lacking the admin scope, then 403 and nothing changes', async () => {
    const { key, id } = await ctx.createKey(['tasks:*']);
    const before = await ctx.store.keys.list();
    const attempts = [
      await admin('get', '/admin/keys', key),
      await admin('post', '/admin/keys', key, { name: 'sneaky', scopes: ['admin'] }),
      await admin('post', `/admin/keys/${id}/revoke`, key),
      await admin('post', `/admin/keys/${id}/rotate`, key, { overlap_hours: 1 }),
      await admin('post', `/admin/keys/${id}/rotate-secret`, key, { overlap_hours: 1 }),
    ];
    for (const response of attempts) {
      assert.equal(response.status, 403);
      assert.equal(response.body.code, 'forbidden_scope');
      assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
    }
    assert.deepEqual((await ctx.store.keys.list()).map((record) => ({ ...record, lastUsedAt: null })), before.map((record) => ({ ...record, lastUsedAt: null })));
  });

  test('key creation and listing, when done by an admin, then the key and signing secret are shown once and listings hold neither hashes nor secrets', async () => {
    const created = await admin('post', '/admin/keys', adminKey, { name: 'wordpress', scopes: ['tasks:content.draft'], require_signature: true });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.headers['cache-control'], 'no-store');
    assert.match(created.body.key, /^ak_prod_/);
    assert.match(created.body.signing_secret, /^whsec_/);
    const record = await ctx.store.keys.findById(created.body.id);
    assert.ok(record !== undefined);
    assert.equal(record.secretHash, createHash('sha256').update(created.body.key).digest('hex'));

    const listing = await admin('get', '/admin/keys');
    assert.equal(listing.status, 200);
    const text = listing.text;
    const all = await ctx.store.keys.list();
    assert.ok(all.length >= 2);
    for (const stored of all) {
      assert.ok(!text.includes(stored.secretHash), 'no hash in the listing');
      for (const secret of stored.signingSecrets) assert.ok(!text.includes(secret.secret), 'no signing secret in the listing');
    }
    assert.ok(!text.includes(created.body.key));
    assert.doesNotMatch(text, /whsec_|ak_prod_/);
    const listed = (listing.body.keys as Array<Record<string, unknown>>).find((key) => key['id'] === created.body.id);
    assert.equal(listed?.['signing_secrets'], 1, 'only a count of signing secrets');
    assert.ok(!('secret_hash' in (listed ?? {})) && !('secretHash' in (listed ?? {})));
  });
});

describe('the airlock keys CLI', () => {
  let dir: string;
  const env = (): Record<string, string> => ({ AIRLOCK_DATA_DIR: dir, AIRLOCK_TASKS_DIR: BUNDLED_TASKS, AIRLOCK_ENV: 'staging' });
  const cli = async (args: readonly string[]) => {
    const out = capture();
    const err = capture();
    const code = await runCli(args, env(), out.stream, err.stream);
    return { code, out: out.text(), err: err.text() };
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('keys create --json, when run, then prints {id, key} once and the database holds only the hash', async () => {
    const created = await cli(['keys', 'create', '--name', 'n8n', '--scopes', 'tasks:support.answer,collections:help', '--json']);
    assert.equal(created.code, 0, created.err);
    const printed = JSON.parse(created.out) as { id: string; key: string };
    assert.deepEqual(Object.keys(printed).sort(), ['id', 'key']);
    assert.match(printed.key, new RegExp(`^ak_stg_${printed.id}_`));

    const store = openSqliteStore({ path: join(dir, 'airlock.db'), secretBox: dataDirSecretBox(dir) });
    try {
      const row = store.db.prepare('SELECT * FROM api_keys WHERE id = ?').get(printed.id) as Record<string, unknown>;
      assert.equal(row['secret_hash'], createHash('sha256').update(printed.key).digest('hex'));
      assert.equal(row['environment'], 'staging');
      assert.deepEqual(JSON.parse(String(row['scopes'])), ['tasks:support.answer', 'collections:help']);
      const secretPart = printed.key.split('_').slice(3).join('_');
      assert.ok(!JSON.stringify(row).includes(secretPart), 'the key itself is not stored');
    } finally {
      await store.close();
    }

    const listed = await cli(['keys', 'list', '--json']);
    assert.equal(listed.code, 0, listed.err);
    assert.ok(!listed.out.includes(createHash('sha256').update(printed.key).digest('hex')), 'listing holds no hash');
    assert.ok(!listed.out.includes(printed.key));
    assert.equal((JSON.parse(listed.out) as Array<{ id: string }>)[0]?.id, printed.id);
  });

  test('keys create, when the scope is malformed, then fails without storing a key', async () => {
    const before = await cli(['keys', 'list', '--json']);
    const failed = await cli(['keys', 'create', '--name', 'bad', '--scopes', 'everything', '--json']);
    assert.notEqual(failed.code, 0);
    assert.equal(failed.out, '');
    const after = await cli(['keys', 'list', '--json']);
    assert.equal((JSON.parse(after.out) as unknown[]).length, (JSON.parse(before.out) as unknown[]).length);
  });
});
