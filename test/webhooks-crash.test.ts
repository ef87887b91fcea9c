// Issue 14: the webhook outbox survives kill -9. A delivery written with the request's outcome and attempted once
// (the receiver answered 503) is still pending when its process dies; a new process on the same SQLite file sends
// it, and the receiver gets it exactly once more, under the same webhook-id, then nothing else.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { dataDirSecretBox, envelope } from './helpers/context.js';
import { startMockUpstream, type MockUpstream } from './helpers/mock-upstream.js';
import { spawnChildServer, type ChildServer } from './helpers/child-server.js';
import { citeFirstChunk, waitFor } from './helpers/boundary.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite/index.js';
import { CORPUS_MIGRATIONS } from '../src/store/sqlite/corpus-schema.js';
import { createKeyAdmin } from '../src/admin/keys.js';

describe('a webhook pending when its process is killed with SIGKILL', () => {
  let dir: string;
  let upstream: MockUpstream;
  let receiver: WebhookReceiver;
  let store: SqliteStore;
  const children: ChildServer[] = [];
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  let key: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-webhook-crash-'));
    upstream = await startMockUpstream([{ kind: 'answer', content: citeFirstChunk }]);
    receiver = await startWebhookReceiver([503]);
    store = openSqliteStore({ path: join(dir, 'airlock.db'), extraMigrations: CORPUS_MIGRATIONS, secretBox: dataDirSecretBox(dir) });
    const created = await createKeyAdmin({ keys: store.keys, environment: 'development', clock: () => new Date(), random: randomBytes }).create({ name: 'webhook-crash', scopes: ['tasks:*'] });
    key = created.key;
    await store.webhooks.createEndpoint({ id: 'we_crash', url: receiver.url, events: ['request.completed'], keyId: created.id, task: null, secret, createdAt: new Date().toISOString(), createdBy: 'test' });
  });
  after(async () => {
    await Promise.all(children.map((child) => child.kill('SIGKILL')));
    await store.close();
    await receiver.close();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const deliveryState = async () => (await store.webhooks.listDeliveries({ endpointId: 'we_crash', limit: 10 }))[0];

  test('kill -9 after a failed attempt, when a new process starts on the same database, then the delivery is sent exactly once more with the same webhook-id', async () => {
    const first = await spawnChildServer({ dir, upstreamBaseURL: upstream.baseURL, webhooks: true });
    children.push(first);
    const answered = await fetch(`${first.url}/v1/tasks/support.answer`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(envelope({ question: 'How many business days until my refund is paid?' })),
    });
    assert.equal(answered.status, 200, await answered.clone().text());
    await waitFor(async () => (await deliveryState())?.attempts === 1, 'the first attempt to be recorded');
    await first.kill('SIGKILL');
    const pending = await deliveryState();
    assert.deepEqual([pending?.state, pending?.lastStatus], ['pending', 503], 'the dead process left the delivery in the outbox');
    assert.equal(receiver.received.length, 1);

    const second = await spawnChildServer({ dir, upstreamBaseURL: upstream.baseURL, webhooks: true });
    children.push(second);
    await waitFor(async () => (await deliveryState())?.state === 'delivered', 'the new process to deliver it');
    // Long enough for a duplicate to show up if one were coming (several poll intervals and a retry delay).
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    assert.deepEqual(receiver.received.map((entry) => entry.answered), [503, 200]);
    assert.equal(receiver.received[0]!.headers['webhook-id'], receiver.received[1]!.headers['webhook-id']);
    const event = new Webhook(secret).verify(receiver.received[1]!.body, receiver.received[1]!.headers) as { type: string; data: { status: number } };
    assert.deepEqual([event.type, event.data.status], ['request.completed', 200]);
    assert.equal((await deliveryState())?.attempts, 2);
  });
});
