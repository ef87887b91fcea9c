// Issue 14 item 2: the console's Webhooks screen in Chromium: register an endpoint (its secret shown once), send a
// signed test event, see a dead letter and redeliver it, delete the endpoint.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Page } from 'playwright-core';
import { createTestContext, envelope, type TestContext } from './helpers/context.js';
import { openConsoleBrowser, type ConsoleBrowser } from './helpers/browser.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';
import { createDeliveryWorker } from '../src/webhooks/worker.js';
import { sendWebhook } from '../src/webhooks/send.js';

describe('the console Webhooks screen (issue 14 item 2)', () => {
  let ctx: TestContext;
  let ui: ConsoleBrowser;
  let page: Page;
  let receiver: WebhookReceiver;
  let adminKey: string;

  before(async () => {
    ctx = await createTestContext({ webhookAllowHosts: ['127.0.0.1'] });
    // Every answer is a 400: the test event reports it, and a delivery is dead-lettered at once (no retry on 4xx).
    receiver = await startWebhookReceiver(Array.from({ length: 10 }, () => 400));
    adminKey = (await ctx.createKey(['admin'])).key;
    ui = await openConsoleBrowser(ctx);
    page = ui.page;
  });
  after(async () => {
    await ui?.close();
    await receiver.close();
    await ctx.close();
  });

  /** One pass of the delivery worker, driven by the test (no timers). */
  const sendDueDeliveries = () =>
    createDeliveryWorker({
      store: ctx.store.webhooks,
      send: (message) => sendWebhook(message, { allowHosts: new Set(['127.0.0.1']), timeoutMs: 2_000, clock: () => new Date() }),
      clock: () => new Date(),
      random: () => 0.5,
      newLeaseToken: randomUUID,
      timers: { setTimeout: () => assert.fail('no timer expected'), clearTimeout: () => undefined },
      schedule: { maxAttempts: 3, baseDelayMs: 1_000, maxDelayMs: 60_000 },
      leaseMs: 30_000,
      pollMs: 1_000,
    }).runOnce();

  /** A task call answered 200 (a request.completed event), then one worker pass. */
  const answerThenSendDeliveries = async () => {
    const { key } = await ctx.createKey(['tasks:*']);
    const asked = await request(ctx.app)
      .post('/v1/tasks/support.answer')
      .set({ authorization: `Bearer ${key}`, 'content-type': 'application/json' })
      .send(JSON.stringify(envelope({ question: 'How many business days until my refund is paid?' })));
    assert.equal(asked.status, 200);
    await sendDueDeliveries();
  };

  test('an endpoint, when registered, tested, dead-lettered, redelivered and deleted from the console, then each step reaches the store', async () => {
    await ui.signIn(adminKey);
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByLabel('URL').fill(receiver.url);
    await page.getByLabel('request.completed').check();
    await page.getByRole('button', { name: 'Register endpoint' }).click();
    await page.locator('#status').getByText(`Registered ${receiver.url}.`).waitFor();
    assert.match((await page.locator('#webhook-secret-values code').textContent()) ?? '', /^whsec_/);
    const [endpoint] = await ctx.store.webhooks.listEndpoints();
    assert.deepEqual([...(endpoint?.events ?? [])].sort(), ['request.completed', 'review.resolved']);

    await page.getByRole('button', { name: 'Send test' }).click();
    await page.locator('#status').getByText(`Test event not delivered to ${receiver.url} (HTTP 400).`).waitFor();

    await answerThenSendDeliveries();

    await page.reload();
    const dead = page.locator('#delivery-rows tr').filter({ hasText: 'request.completed' });
    await dead.getByText('dead').waitFor();
    await ui.shot('webhooks');
    await dead.getByRole('button', { name: /^Redeliver / }).click();
    await page.locator('#status').getByText(/is back in the outbox\.$/).waitFor();
    const deliveries = await ctx.store.webhooks.listDeliveries({ limit: 10 });
    assert.ok(deliveries.some((delivery) => delivery.eventType === 'request.completed' && delivery.state === 'pending'), JSON.stringify(deliveries.map((d) => d.state)));

    await page.getByRole('button', { name: 'Delete' }).click();
    await page.locator('#status').getByText(`Deleted the endpoint ${receiver.url}.`).waitFor();
    assert.deepEqual(await ctx.store.webhooks.listEndpoints(), []);
  });

  test('an endpoint whose receiver answered 410 Gone, when shown, then it is marked disabled with the reason, and Enable sends to it again', async () => {
    const gone = await startWebhookReceiver([410]);
    try {
      const created = await request(ctx.app)
        .post('/admin/webhooks')
        .set({ authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' })
        .send(JSON.stringify({ url: gone.url, events: ['request.completed'] }));
      assert.equal(created.status, 201, created.text);
      await answerThenSendDeliveries();

      await page.reload();
      const row = page.locator(`#webhook-rows tr[data-endpoint="${created.body.id}"]`);
      await row.getByText('disabled').waitFor();
      await row.getByText('HTTP 410 Gone').waitFor();
      await row.getByRole('button', { name: 'Enable' }).click();
      await page.locator('#status').getByText(/^Enabled /).waitFor();
      assert.equal((await ctx.store.webhooks.getEndpoint(created.body.id))?.disabledAt, null);
      // The status line is written before the list is fetched again; the row loses its Enable button when it is redrawn.
      await row.getByRole('button', { name: 'Enable' }).waitFor({ state: 'detached' });
      assert.equal(await row.getByText('HTTP 410 Gone').count(), 0, 'the disabled reason goes with it');
    } finally {
      await gone.close();
    }
  });
});
