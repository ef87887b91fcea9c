// Issue 14 items 2 and 3: signed outbound webhooks. Endpoints registered over /admin/webhooks and the CLI, events
// written to the outbox with the change that raised them, Standard Webhooks v1 signatures the reference library
// verifies, retries with backoff on 5xx/429/timeouts only, dead letters that are counted and redeliverable, and the
// SSRF guard (API7) at registration and at send time. A real receiver on loopback, the real app, a real SQLite file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { BUNDLED_TASKS, createTestContext, envelope, type TestContext } from './helpers/context.js';
import { startMockUpstream, type MockUpstream, offeredChunkIds, modelFor } from './helpers/mock-upstream.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';
import { capture } from './helpers/capture.js';
import { createDeliveryWorker, nextStep, type DeliveryWorker } from '../src/webhooks/worker.js';
import { sendWebhook } from '../src/webhooks/send.js';
import { runCli } from '../src/cli/main.js';

const INVALID = JSON.stringify({ answer: 'Sure, 5 days!', confidence: 'very high' });
const APPROVED_OUTPUT = { answer: 'Refunds are paid within 5 business days.', citations: [], confidence: 0.9, abstained: false };
const QUESTION = 'How many business days until my refund is paid?';
const ALLOW = new Set(['127.0.0.1']);
const SCHEDULE = { maxAttempts: 3, baseDelayMs: 1_000, maxDelayMs: 60_000 };

describe('outbound webhooks (issue 14)', () => {
  let upstream: MockUpstream;
  let ctx: TestContext;
  let receiver: WebhookReceiver;
  let adminKey: string;
  let worker: DeliveryWorker;
  // The app's and the worker's clock; moved forward to make a scheduled retry due without waiting for it.
  let offsetMs = 0;
  const clock = (): Date => new Date(Date.now() + offsetMs);

  before(async () => {
    upstream = await startMockUpstream([{ kind: 'answer', content: INVALID }]);
    ctx = await createTestContext({ model: modelFor(upstream), clock, webhookAllowHosts: ['127.0.0.1'] });
    receiver = await startWebhookReceiver();
    adminKey = (await ctx.createKey(['admin'])).key;
    worker = createDeliveryWorker({
      store: ctx.store.webhooks,
      send: (message) => sendWebhook(message, { allowHosts: ALLOW, timeoutMs: 2_000, clock }),
      clock,
      random: () => 0.5,
      newLeaseToken: randomUUID,
      // Driven by runOnce below; nothing may schedule itself behind the test's back.
      timers: { setTimeout: () => assert.fail('no timer expected'), clearTimeout: () => undefined },
      schedule: SCHEDULE,
      leaseMs: 30_000,
      pollMs: 1_000,
    });
  });
  after(async () => {
    await receiver.close();
    await ctx.close();
    await upstream.close();
  });

  const admin = () => ({ authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' });
  const register = (body: Record<string, unknown>) => request(ctx.app).post('/admin/webhooks').set(admin()).send(JSON.stringify(body));
  const ask = (key: string, answer: 'valid' | 'invalid') => {
    upstream.setBehaviours([
      answer === 'valid'
        ? { kind: 'answer', content: (body) => JSON.stringify({ answer: 'Within 5 business days.', citations: offeredChunkIds(body).slice(0, 1), confidence: 0.9, abstained: false }) }
        : { kind: 'answer', content: INVALID },
    ]);
    return request(ctx.app).post('/v1/tasks/support.answer').set({ authorization: `Bearer ${key}`, 'content-type': 'application/json' }).send(JSON.stringify(envelope({ question: QUESTION })));
  };
  /** A fresh key with its own endpoint, so one test's events never reach another's receiver. */
  const keyWithEndpoint = async (events: string[], url = receiver.url) => {
    const key = await ctx.createKey(['tasks:*']);
    const created = await register({ url, events, key_id: key.id });
    assert.equal(created.status, 201, created.text);
    return { key, endpoint: created.body as { id: string; secret: string } };
  };
  const deliveriesOf = async (endpointId: string) => ctx.store.webhooks.listDeliveries({ endpointId, limit: 50 });
  /** Runs the worker, then moves the clock past the longest retry delay so the next attempt is due. */
  const attemptRound = async (): Promise<void> => {
    await worker.runOnce();
    offsetMs += SCHEDULE.maxDelayMs + 1_000;
  };

  test('review.resolved, when an admin approves a review, then the receiver gets one delivery the standardwebhooks library verifies, carrying the approved output', async () => {
    const { key, endpoint } = await keyWithEndpoint(['review.resolved']);
    assert.match(endpoint.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    const problem = (await ask(key.key, 'invalid')).body as { review_id: string; request_id: string };
    const decided = await request(ctx.app).post(`/admin/reviews/${problem.review_id}/resolve`).set(admin()).send(JSON.stringify({ decision: 'approve', output: APPROVED_OUTPUT }));
    assert.equal(decided.status, 200, decided.text);
    const [queued] = await deliveriesOf(endpoint.id);
    assert.equal(queued?.state, 'pending', 'the delivery was in the outbox before anything was sent');

    const before = receiver.received.length;
    await worker.runOnce();
    const got = receiver.received.slice(before);
    assert.equal(got.length, 1);
    const verified = new Webhook(endpoint.secret).verify(got[0]!.body, got[0]!.headers) as { type: string; data: Record<string, unknown> };
    assert.equal(verified.type, 'review.resolved');
    assert.equal(verified.data['decision'], 'approved');
    assert.equal(verified.data['review_id'], problem.review_id);
    assert.equal(verified.data['result_url'], `/v1/results/${problem.request_id}`);
    assert.deepEqual((verified.data['result'] as { output: unknown }).output, APPROVED_OUTPUT);
    assert.equal((verified.data['result'] as { trust: string }).trust, 'untrusted');
    assert.throws(() => new Webhook(endpoint.secret).verify(got[0]!.body.replace('approved', 'rejected'), got[0]!.headers), 'a tampered body fails');
    assert.equal((await deliveriesOf(endpoint.id))[0]?.state, 'delivered');
  });

  test('request.completed, when the receiver answers 500, 500, then 200, then three attempts carry the same webhook-id and the delivery ends delivered', async () => {
    const { key, endpoint } = await keyWithEndpoint(['request.completed']);
    const answered = await ask(key.key, 'valid');
    assert.equal(answered.status, 200, answered.text);
    receiver.script([500, 500, 200]);
    const before = receiver.received.length;
    for (let round = 0; round < 4; round += 1) await attemptRound();

    const got = receiver.received.slice(before);
    assert.deepEqual(got.map((entry) => entry.answered), [500, 500, 200]);
    assert.equal(new Set(got.map((entry) => entry.headers['webhook-id'])).size, 1);
    assert.equal(JSON.parse(got[2]!.body).data.request_id, answered.body.request_id);
    const [delivery] = await deliveriesOf(endpoint.id);
    assert.deepEqual([delivery?.state, delivery?.attempts, delivery?.lastStatus], ['delivered', 3, 200]);
  });

  test('a 400 answer, when received, then it is not retried: dead-lettered after one attempt', async () => {
    const { key, endpoint } = await keyWithEndpoint(['request.completed']);
    assert.equal((await ask(key.key, 'valid')).status, 200);
    receiver.script([400, 200]);
    const before = receiver.received.length;
    for (let round = 0; round < 3; round += 1) await attemptRound();

    assert.equal(receiver.received.length - before, 1);
    const [delivery] = await deliveriesOf(endpoint.id);
    assert.deepEqual([delivery?.state, delivery?.attempts, delivery?.lastError], ['dead', 1, 'HTTP 400']);
  });

  test('410 Gone (Standard Webhooks), when the receiver answers it, then the endpoint is disabled, its other pending deliveries are dead-lettered, new events are not enqueued, and after enable they flow again', async () => {
    const { key, endpoint } = await keyWithEndpoint(['request.completed']);
    const before = receiver.received.length;
    // The first event's delivery fails once and waits for its retry; the second one's is answered 410.
    assert.equal((await ask(key.key, 'valid')).status, 200);
    receiver.script([500]);
    await worker.runOnce();
    assert.equal((await ask(key.key, 'valid')).status, 200);
    receiver.script([410, 200, 200]);
    await worker.runOnce();
    await attemptRound();
    await attemptRound();

    assert.deepEqual(receiver.received.slice(before).map((entry) => entry.answered), [500, 410], 'nothing is sent after the 410, not even the due retry');
    const dead = await deliveriesOf(endpoint.id);
    assert.deepEqual(dead.map((delivery) => delivery.state), ['dead', 'dead']);
    assert.deepEqual(dead.map((delivery) => delivery.lastError).sort(), ['HTTP 410', 'endpoint disabled: HTTP 410 Gone']);
    const abandoned = dead.find((delivery) => delivery.lastError?.startsWith('endpoint disabled'));
    const listed = (await request(ctx.app).get('/admin/webhooks').set(admin())).body as { endpoints: Array<{ id: string; disabled_reason: string | null; disabled_at: string | null }> };
    const shown = listed.endpoints.find((candidate) => candidate.id === endpoint.id);
    assert.equal(shown?.disabled_reason, 'HTTP 410 Gone');
    assert.notEqual(shown?.disabled_at, null);

    assert.equal((await ask(key.key, 'valid')).status, 200);
    assert.equal((await deliveriesOf(endpoint.id)).length, 2, 'a disabled endpoint gets no new deliveries');
    const refused = await request(ctx.app).post(`/admin/webhooks/deliveries/${abandoned!.id}/redeliver`).set(admin());
    assert.equal(refused.status, 409, refused.text);
    assert.equal(refused.body.code, 'state_conflict');

    const enabled = await request(ctx.app).post(`/admin/webhooks/${endpoint.id}/enable`).set(admin());
    assert.equal(enabled.status, 200, enabled.text);
    assert.equal(enabled.body.disabled_at, null);
    assert.equal((await request(ctx.app).post('/admin/webhooks/we_missing/enable').set(admin())).status, 404);
    assert.equal((await ask(key.key, 'valid')).status, 200);
    assert.equal((await request(ctx.app).post(`/admin/webhooks/deliveries/${abandoned!.id}/redeliver`).set(admin())).status, 200);
    await attemptRound();
    assert.deepEqual(receiver.received.slice(before).map((entry) => entry.answered), [500, 410, 200, 200], 'the new event and the redelivered dead letter are sent');
  });

  test('a 429 with Retry-After, when received, then the next attempt is scheduled exactly that far ahead', async () => {
    const { key, endpoint } = await keyWithEndpoint(['request.completed']);
    assert.equal((await ask(key.key, 'valid')).status, 200);
    receiver.script([{ status: 429, headers: { 'retry-after': '42' } }]);
    const started = clock().getTime();
    await worker.runOnce();
    const [delivery] = await deliveriesOf(endpoint.id);
    assert.equal(delivery?.state, 'pending');
    const delay = Date.parse(delivery!.nextAttemptAt) - started;
    assert.ok(delay >= 42_000 && delay < 44_000, `scheduled ${delay} ms ahead`);
    offsetMs += 60_000;
    await worker.runOnce();
  });

  test('a receiver failing every attempt, when the schedule is spent, then the delivery is dead, counted in /metrics, listed by the CLI, and redeliver sends it with the same webhook-id', async () => {
    const { key, endpoint } = await keyWithEndpoint(['request.completed']);
    assert.equal((await ask(key.key, 'valid')).status, 200);
    receiver.script([503, 503, 503, 503]);
    const before = receiver.received.length;
    for (let round = 0; round < 4; round += 1) await attemptRound();
    assert.equal(receiver.received.length - before, SCHEDULE.maxAttempts);
    const [dead] = await deliveriesOf(endpoint.id);
    assert.deepEqual([dead?.state, dead?.attempts], ['dead', SCHEDULE.maxAttempts]);

    const metrics = await request(ctx.app).get('/metrics').set(admin());
    const deadCount = Number(/airlock_webhook_deliveries\{state="dead"\} (\d+)/.exec(metrics.text)?.[1]);
    assert.equal(deadCount, (await ctx.store.webhooks.countByState()).dead);
    assert.ok(deadCount >= 1);

    const env = { AIRLOCK_DATA_DIR: ctx.dir, AIRLOCK_TASKS_DIR: BUNDLED_TASKS, AIRLOCK_BOOTSTRAP_CORPUS: 'false' };
    const listed = capture();
    assert.equal(await runCli(['webhooks', 'deliveries', '--state', 'dead', '--endpoint', endpoint.id, '--json'], env, listed.stream, capture().stream), 0);
    assert.deepEqual((JSON.parse(listed.text()) as Array<{ id: string }>).map((row) => row.id), [dead!.id]);
    const badState = capture();
    assert.equal(await runCli(['webhooks', 'deliveries', '--state', 'bogus'], env, capture().stream, badState.stream), 2, 'a bad flag value is a usage error');
    assert.match(badState.text(), /--state/);
    const redeliver = capture();
    const redeliverErr = capture();
    assert.equal(await runCli(['webhooks', 'redeliver', dead!.id, '--json'], env, redeliver.stream, redeliverErr.stream), 0, redeliverErr.text());
    assert.equal((JSON.parse(redeliver.text()) as { state: string }).state, 'pending');

    receiver.script([200]);
    await worker.runOnce();
    const last = receiver.received.at(-1)!;
    assert.equal(last.answered, 200);
    assert.equal(last.headers['webhook-id'], dead!.messageId);
    assert.equal((await ctx.store.webhooks.getDelivery(dead!.id))?.state, 'delivered');
    assert.equal((await request(ctx.app).post(`/admin/webhooks/deliveries/${dead!.id}/redeliver`).set(admin())).status, 409, 'only dead letters redeliver');
  });

  test('a redirect, when the receiver answers 302, then it is not followed and the delivery is dead-lettered', async () => {
    const { key, endpoint } = await keyWithEndpoint(['request.completed']);
    assert.equal((await ask(key.key, 'valid')).status, 200);
    receiver.script([{ status: 302, headers: { location: `${receiver.url}/elsewhere` } }]);
    const before = receiver.received.length;
    await worker.runOnce();
    assert.equal(receiver.received.length - before, 1, 'the Location was not requested');
    assert.equal((await deliveriesOf(endpoint.id))[0]?.state, 'dead');
  });

  test('registration (API7), when the URL points at 169.254.169.254, 10.0.0.1, localhost or uses plain http to a host not allowlisted, then 400 webhook_url_refused and nothing is stored; the CLI exits non-zero', async () => {
    const countBefore = (await ctx.store.webhooks.listEndpoints()).length;
    for (const url of ['https://169.254.169.254/latest/meta-data', 'https://10.0.0.1/hook', 'https://localhost:8443/hook', 'http://hooks.example.com/hook', 'https://[::1]/hook', 'https://user:pw@hooks.example.com/']) {
      const response = await register({ url, events: ['review.resolved'] });
      assert.equal(response.status, 400, `${url}: ${response.text}`);
      assert.equal(response.body.code, 'webhook_url_refused');
    }
    assert.equal((await ctx.store.webhooks.listEndpoints()).length, countBefore);

    const env = { AIRLOCK_DATA_DIR: ctx.dir, AIRLOCK_TASKS_DIR: BUNDLED_TASKS, AIRLOCK_BOOTSTRAP_CORPUS: 'false' };
    const err = capture();
    assert.equal(await runCli(['webhooks', 'create', '--url', 'https://169.254.169.254/', '--events', 'review.resolved', '--json'], env, capture().stream, err.stream), 1);
    assert.equal((JSON.parse(err.text()) as { error: string }).error, 'webhook_url_refused');
    assert.equal((await ctx.store.webhooks.listEndpoints()).length, countBefore);
  });

  test('send time (API7), when a stored endpoint points at a metadata address or at a name resolving to loopback that is not allowlisted, then nothing is sent and the delivery is dead-lettered as refused', async () => {
    // Rows written past the registration check, as an endpoint whose DNS changed after it was registered would be.
    const listener = createServer((_req, res) => res.writeHead(200).end());
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as AddressInfo).port;
    let hits = 0;
    listener.on('request', () => (hits += 1));
    try {
      for (const url of ['https://169.254.169.254/latest/meta-data', `https://localhost:${port}/hook`, 'https://10.0.0.1/hook']) {
        const id = `we_${randomUUID().replaceAll('-', '')}`;
        await ctx.store.webhooks.createEndpoint({ id, url, events: ['webhook.test'], keyId: null, task: null, secret: `whsec_${Buffer.alloc(32, 7).toString('base64')}`, createdAt: clock().toISOString(), createdBy: 'test' });
        await ctx.store.webhooks.enqueue([{ id: `dlv_${randomUUID()}`, messageId: `msg_${randomUUID().replaceAll('-', '')}`, endpointId: id, eventType: 'webhook.test', payload: '{}', createdAt: clock().toISOString() }]);
        await worker.runOnce();
        const [delivery] = await deliveriesOf(id);
        assert.equal(delivery?.state, 'dead', url);
        assert.match(delivery?.lastError ?? '', /^refused: /, url);
      }
      assert.equal(hits, 0);
    } finally {
      listener.closeAllConnections();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    }
  });

  test('a receiver that never answers, when the timeout passes, then the attempt is a timeout and is retried', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/hook`;
      const result = await sendWebhook({ url, messageId: 'msg_timeout', payload: '{}', secret: `whsec_${Buffer.alloc(32, 1).toString('base64')}` }, { allowHosts: ALLOW, timeoutMs: 200, clock });
      assert.deepEqual(result, { kind: 'timeout' });
      assert.equal(nextStep(result, 0, SCHEDULE, new Date(0), () => 0).state, 'pending');
      assert.equal(nextStep(result, SCHEDULE.maxAttempts - 1, SCHEDULE, new Date(0), () => 0).state, 'dead');
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  test('/admin/webhooks, when an endpoint is created, listed, tested and deleted, then the secret appears only in the create answer, is sealed at rest, and the test event verifies', async () => {
    // The reference library checks webhook-timestamp against the real time; earlier tests moved this clock ahead.
    offsetMs = 0;
    const created = await register({ url: receiver.url, events: ['review.resolved', 'request.completed'], task: 'support.answer' });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.headers['cache-control'], 'no-store');
    const { id, secret } = created.body as { id: string; secret: string };

    const listed = await request(ctx.app).get('/admin/webhooks').set(admin());
    assert.ok(listed.body.endpoints.some((endpoint: { id: string }) => endpoint.id === id));
    assert.ok(!listed.text.includes(secret) && !listed.text.includes('whsec_'));
    const raw = ctx.store.db.prepare('SELECT secret FROM webhook_endpoints WHERE id = ?').get(id) as { secret: string };
    assert.ok(!raw.secret.includes(secret.slice(6)), 'SIG-7: the stored secret is sealed');
    assert.ok(ctx.logs.every((line) => !line.includes(secret.slice(6))), 'the secret never reaches a log line');

    const before = receiver.received.length;
    receiver.script([200]);
    const tested = await request(ctx.app).post(`/admin/webhooks/${id}/test`).set(admin());
    assert.equal(tested.status, 200, tested.text);
    assert.equal(tested.body.delivered, true);
    const [ping] = receiver.received.slice(before);
    assert.equal((new Webhook(secret).verify(ping!.body, ping!.headers) as { type: string }).type, 'webhook.test');

    assert.equal((await request(ctx.app).post('/admin/webhooks').set({ authorization: `Bearer ${(await ctx.createKey(['tasks:*'])).key}`, 'content-type': 'application/json' }).send('{}')).status, 403);
    assert.equal((await request(ctx.app).delete(`/admin/webhooks/${id}`).set(admin())).status, 200);
    assert.equal((await request(ctx.app).delete(`/admin/webhooks/${id}`).set(admin())).status, 404);
  });

  test('the worker, when started and stopped, then it schedules its polls on the injected timers and leaves none behind', async () => {
    const scheduled = new Map<number, () => void>();
    let nextHandle = 0;
    const polling = createDeliveryWorker({
      store: { claimDue: async () => [], recordAttempt: async () => true },
      send: async () => ({ kind: 'timeout' }),
      clock,
      random: () => 0,
      newLeaseToken: randomUUID,
      timers: {
        setTimeout: (callback) => {
          scheduled.set(++nextHandle, callback);
          return nextHandle;
        },
        clearTimeout: (handle) => scheduled.delete(handle as number),
      },
      schedule: SCHEDULE,
      leaseMs: 1_000,
      pollMs: 500,
    });
    polling.start();
    assert.equal(scheduled.size, 1);
    const [first] = [...scheduled.entries()][0]!;
    scheduled.get(first)!();
    scheduled.delete(first);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(scheduled.size, 1, 'the next poll is scheduled after a run');
    await polling.stop();
    assert.equal(scheduled.size, 0, 'stop clears the pending poll');
  });
});
