// SIG-7 / issue 12 B10: signing secrets are stored encrypted (AES-256-GCM under AIRLOCK_SECRET_KEY), on a real SQLite
// file read byte for byte, and still verify signatures; plaintext rows from before are migrated; the key rotates.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { BUNDLED_TASKS, createTestContext, envelope, type TestContext } from './helpers/context.js';
import { capture } from './helpers/capture.js';
import { tempDirs } from './helpers/boundary.js';
import { runCli } from '../src/cli/main.js';
import { loadConfig } from '../src/config.js';
import { createSecretBox, parseSecretKey } from '../src/security/secret-box.js';

const tempDir = tempDirs('airlock-at-rest-');

/** The database file and its WAL as text: what a stolen copy of the data dir would show. */
const rawDatabase = (dir: string): string =>
  ['airlock.db', 'airlock.db-wal'].map((name) => join(dir, name)).filter(existsSync).map((file) => readFileSync(file).toString('latin1')).join('');

async function signedTask(ctx: TestContext, key: string, secret: string) {
  const body = JSON.stringify(envelope({ question: 'When is the support team open?' }));
  const id = `msg_${randomUUID()}`;
  const at = new Date();
  return request(ctx.app)
    .post('/v1/tasks/support.answer')
    .set({
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(id, at, body),
    })
    .send(body);
}

async function cli(args: readonly string[], env: Record<string, string>) {
  const out = capture();
  const err = capture();
  const code = await runCli(args, { AIRLOCK_TASKS_DIR: BUNDLED_TASKS, ...env }, out.stream, err.stream);
  return { code, out: out.text(), err: err.text() };
}

describe('signing secrets at rest (SIG-7, issue 12 B10)', () => {
  test('SIG-7 B10: a signing secret issued by POST /admin/keys, when the database file is read, then it is not there, and a request signed with it is accepted', async () => {
    const ctx = await createTestContext({ dir: tempDir() });
    try {
      const admin = (await ctx.createKey(['admin'])).key;
      const created = await request(ctx.app).post('/admin/keys').set('authorization', `Bearer ${admin}`).send({ name: 'crm', scopes: ['tasks:*'], require_signature: true });
      assert.equal(created.status, 201, created.text);
      const secret = String(created.body.signing_secret);
      assert.match(secret, /^whsec_/);
      const rotated = await request(ctx.app).post(`/admin/keys/${created.body.id}/rotate-secret`).set('authorization', `Bearer ${admin}`).send({ overlap_hours: 1 });
      assert.equal(rotated.status, 201, rotated.text);

      const raw = rawDatabase(ctx.dir);
      for (const plaintext of [secret, String(rotated.body.signing_secret)]) {
        assert.ok(!raw.includes(plaintext.slice('whsec_'.length)), 'the signing secret is not readable in the database file');
      }
      assert.equal((await signedTask(ctx, String(created.body.key), secret)).status, 200, 'the older secret verifies during the overlap');
      assert.equal((await signedTask(ctx, String(created.body.key), String(rotated.body.signing_secret))).status, 200);
    } finally {
      await ctx.close();
    }
  });

  test('SIG-7 B10: signing secrets stored in plaintext by an earlier version, when `airlock keys reseal` runs, then they are encrypted in the file and still verify', async () => {
    const dir = tempDir();
    const ctx = await createTestContext({ dir });
    try {
      const signed = await ctx.createKey(['tasks:*'], { signed: true });
      const secret = signed.signingSecret ?? assert.fail('a signed key has a secret');
      // What the previous version wrote: the secret as it is.
      ctx.store.db.prepare('UPDATE api_keys SET signing_secrets = ? WHERE id = ?').run(JSON.stringify([{ secret, createdAt: new Date().toISOString(), expiresAt: null }]), signed.id);
      assert.ok(rawDatabase(dir).includes(secret.slice('whsec_'.length)), 'arranged: the plaintext row is in the file');
      assert.equal((await signedTask(ctx, signed.key, secret)).status, 200, 'a plaintext row still verifies before the migration');

      const resealed = await cli(['keys', 'reseal', '--json'], { AIRLOCK_DATA_DIR: dir });
      assert.equal(resealed.code, 0, resealed.err);
      assert.deepEqual(JSON.parse(resealed.out), { resealed: 1, webhook_endpoints: 0 });
      assert.ok(!rawDatabase(dir).includes(secret.slice('whsec_'.length)), 'no plaintext left in the file or its WAL');
      assert.equal((await signedTask(ctx, signed.key, secret)).status, 200);
    } finally {
      await ctx.close();
    }
  });

  test('SIG-7 B10: AIRLOCK_SECRET_KEY rotation, when the old key is AIRLOCK_SECRET_KEY_PREVIOUS and `airlock keys reseal` runs, then the new key alone verifies and the old key alone does not', async () => {
    const dir = tempDir();
    const oldKey = randomBytes(32).toString('base64');
    const newKey = randomBytes(32).toString('hex');
    const boxOf = (key: string, previous?: string) =>
      createSecretBox({ key: parseSecretKey(key), ...(previous === undefined ? {} : { previousKeys: [parseSecretKey(previous)] }), random: randomBytes });
    const first = await createTestContext({ dir, secretBox: boxOf(oldKey) });
    const signed = await first.createKey(['tasks:*'], { signed: true });
    const secret = signed.signingSecret ?? assert.fail('a signed key has a secret');
    // Issue 14: an outbound webhook endpoint's secret is sealed under the same key and resealed with it.
    const webhookSecret = `whsec_${randomBytes(32).toString('base64')}`;
    await first.store.webhooks.createEndpoint({ id: 'we_rotation', url: 'https://hooks.example.com/x', events: ['review.resolved'], keyId: null, task: null, secret: webhookSecret, createdAt: new Date().toISOString(), createdBy: 'test' });
    await first.close();

    const resealed = await cli(['keys', 'reseal', '--json'], { AIRLOCK_DATA_DIR: dir, AIRLOCK_SECRET_KEY: newKey, AIRLOCK_SECRET_KEY_PREVIOUS: oldKey });
    assert.equal(resealed.code, 0, resealed.err);
    assert.deepEqual(JSON.parse(resealed.out), { resealed: 1, webhook_endpoints: 1 });

    const onNewKey = await createTestContext({ dir, secretBox: boxOf(newKey), corpusDir: null });
    try {
      assert.equal((await signedTask(onNewKey, signed.key, secret)).status, 200);
      assert.equal((await onNewKey.store.webhooks.getEndpoint('we_rotation'))?.secret, webhookSecret);
    } finally {
      await onNewKey.close();
    }
    const onOldKey = await createTestContext({ dir, secretBox: boxOf(oldKey), corpusDir: null });
    try {
      const refused = await signedTask(onOldKey, signed.key, secret);
      assert.notEqual(refused.status, 200, 'the retired key opens nothing');
      assert.match(String(refused.headers['content-type']), /^application\/problem\+json/);
      await assert.rejects(onOldKey.store.webhooks.getEndpoint('we_rotation'), /SecretBoxError|does not verify|neither/);
    } finally {
      await onOldKey.close();
    }
  });

  test('SIG-7 B10: AIRLOCK_SECRET_KEY, when AIRLOCK_ENV=production and it is unset, then the configuration is refused; in development a key file is generated with mode 0600', async () => {
    assert.throws(() => loadConfig({ AIRLOCK_ENV: 'production' }), /AIRLOCK_SECRET_KEY: is required when AIRLOCK_ENV=production/);
    assert.throws(() => loadConfig({ AIRLOCK_SECRET_KEY: 'too-short' }), /AIRLOCK_SECRET_KEY/);
    assert.equal(loadConfig({ AIRLOCK_ENV: 'production', AIRLOCK_SECRET_KEY: randomBytes(32).toString('base64') }).AIRLOCK_ENV, 'production');

    const dir = tempDir();
    const listed = await cli(['keys', 'list', '--json'], { AIRLOCK_DATA_DIR: dir });
    assert.equal(listed.code, 0, listed.err);
    assert.equal(statSync(join(dir, 'secret.key')).mode & 0o777, 0o600);
  });

  test('SIG-7: a sealed value already opened, when moved to another record or altered, then it still does not open (opened values are remembered per exact value and context only, issue 17)', () => {
    const box = createSecretBox({ key: randomBytes(32), random: randomBytes });
    const sealed = box.seal('whsec_remembered', 'api_keys/key-a/signing_secrets');
    for (let i = 0; i < 2; i += 1) assert.equal(box.open(sealed, 'api_keys/key-a/signing_secrets'), 'whsec_remembered');
    assert.throws(() => box.open(sealed, 'api_keys/key-b/signing_secrets'), /does not verify/);
    const altered = `${sealed.slice(0, -2)}${sealed.endsWith('AA') ? 'AB' : 'AA'}`;
    assert.throws(() => box.open(altered, 'api_keys/key-a/signing_secrets'), /does not verify/);
    const otherBox = createSecretBox({ key: randomBytes(32), random: randomBytes });
    assert.throws(() => otherBox.open(sealed, 'api_keys/key-a/signing_secrets'), /neither AIRLOCK_SECRET_KEY/);
  });
});
