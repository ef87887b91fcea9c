// Issue 12 B12 (API4 unrestricted resource consumption, RL-3): bounded growth. Unauthenticated floods are audited as
// counted summaries; the retention job purges old audit rows, expired idempotency records with their stored bodies
// and expired replay ids, from the server's timer and from `airlock maintenance purge`. Real SQLite files throughout.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { BUNDLED_TASKS, createTestContext, envelope, rowCount } from './helpers/context.js';
import { manualClock, tempDirs } from './helpers/boundary.js';
import { capture } from './helpers/capture.js';
import { runCli } from '../src/cli/main.js';
import { scheduleRetention, type RetentionTimers } from '../src/retention.js';

const DAY = 86_400_000;
const tempDir = tempDirs('airlock-retention-');

const question = (): string => JSON.stringify(envelope({ question: 'When is the support team open?' }));

describe('bounded growth (issue 12 B12)', () => {
  test('API4 B12: 300 unauthenticated requests from one address within a minute, when audited, then one row counts all 300 and the request metric still counts each', async () => {
    const clock = manualClock(new Date('2026-06-01T10:00:05Z'));
    const ctx = await createTestContext({ clock: clock.now, dir: tempDir(), corpusDir: null });
    try {
      const admin = (await ctx.createKey(['admin'])).key;
      const before = rowCount(ctx, 'audit_log');
      for (let i = 0; i < 300; i += 1) {
        const response = await request(ctx.app).post('/v1/tasks/support.answer').set({ authorization: `Bearer ak_dev_nobody_${i}`, 'content-type': 'application/json' }).send(question());
        assert.equal(response.status, 401);
      }
      assert.equal(rowCount(ctx, 'audit_log') - before, 1, 'one summary row, not one row per request');
      const [summary] = await ctx.store.audit.list({ limit: 1 });
      assert.equal(summary?.action, 'auth.failures');
      assert.equal(summary?.detail['count'], 300);
      assert.match(String(summary?.source), /127\.0\.0\.1$/, 'the source address');

      clock.advance(60_000);
      await request(ctx.app).post('/v1/tasks/support.answer').set({ authorization: 'Bearer nonsense', 'content-type': 'application/json' }).send(question());
      assert.equal(rowCount(ctx, 'audit_log') - before, 2, 'the next window starts a new row');

      const metrics = await request(ctx.app).get('/metrics').set('authorization', `Bearer ${admin}`);
      const unauthenticated = /airlock_requests_total\{route="\/v1\/tasks\/:task",task="[^"]*",status="401"\} (\d+)/.exec(metrics.text);
      assert.equal(Number(unauthenticated?.[1]), 301, 'the metric counts every failure');
    } finally {
      await ctx.close();
    }
  });

  test('API4 B12: `airlock maintenance purge`, when run, then deletes audit rows past AIRLOCK_AUDIT_RETENTION_DAYS, expired idempotency records with their stored bodies and expired replay ids, and keeps the rest', async () => {
    const dir = tempDir();
    const clock = manualClock(new Date(Date.now() - 200 * DAY));
    const ctx = await createTestContext({ clock: clock.now, dir });
    try {
      const signed = await ctx.createKey(['tasks:*'], { signed: true });
      const secret = signed.signingSecret ?? assert.fail('a signed key has a secret');
      // 200 days ago: a signed, idempotent task call (audit row, stored response, replay id).
      const body = question();
      const webhookId = `msg_${randomUUID()}`;
      const done = await request(ctx.app)
        .post('/v1/tasks/support.answer')
        .set({
          authorization: `Bearer ${signed.key}`,
          'content-type': 'application/json',
          'idempotency-key': randomUUID(),
          'webhook-id': webhookId,
          'webhook-timestamp': String(Math.floor(clock.now().getTime() / 1000)),
          'webhook-signature': new Webhook(secret).sign(webhookId, clock.now(), body),
        })
        .send(body);
      assert.equal(done.status, 200, done.text);
      // Yesterday: a call whose record is still within the 24 h TTL and whose audit row is recent.
      clock.advance(Date.now() - DAY / 2 - clock.now().getTime());
      const recent = await request(ctx.app).post('/v1/tasks/support.answer').set({ authorization: `Bearer ${signed.key}`, 'content-type': 'application/json', 'idempotency-key': randomUUID(), 'webhook-id': `msg_${randomUUID()}`, 'webhook-timestamp': String(Math.floor(clock.now().getTime() / 1000)) }).send(body);
      assert.equal(recent.status, 401, 'unsigned, so refused: a recent audit row of its own');
      assert.equal(rowCount(ctx, 'idempotency_records'), 1);
      assert.equal(rowCount(ctx, 'task_results'), 1);
      assert.equal(rowCount(ctx, 'webhook_ids'), 1);
      const auditBefore = rowCount(ctx, 'audit_log');

      const out = capture();
      const err = capture();
      const code = await runCli(['maintenance', 'purge', '--json'], { AIRLOCK_DATA_DIR: dir, AIRLOCK_TASKS_DIR: BUNDLED_TASKS, AIRLOCK_AUDIT_RETENTION_DAYS: '90' }, out.stream, err.stream);
      assert.equal(code, 0, err.text());
      const purged = JSON.parse(out.text()) as Record<string, number>;
      assert.deepEqual(purged, { auditRows: purged['auditRows'], idempotencyRecords: 1, taskResults: 1, replayIds: 1, webhookDeliveries: 0 });
      assert.ok((purged['auditRows'] ?? 0) >= 1);
      assert.equal(rowCount(ctx, 'idempotency_records'), 0, 'the stored response body is gone');
      assert.equal(rowCount(ctx, 'task_results'), 0, 'so is the addressable result');
      assert.equal(rowCount(ctx, 'webhook_ids'), 0);
      assert.equal(rowCount(ctx, 'audit_log'), auditBefore - (purged['auditRows'] ?? 0));
      assert.ok((await ctx.store.audit.list({ limit: 100 })).every((row) => Date.parse(row.at) > Date.now() - 90 * DAY), 'only rows inside the retention remain');
      assert.ok(rowCount(ctx, 'audit_log') >= 1, 'recent rows are kept');
    } finally {
      await ctx.close();
    }
  });

  test("API4 B12: the server's retention schedule, when its timer fires, then purges as of the injected clock; its timer is unref'd, and stop() clears it after the run in progress", async () => {
    const clock = manualClock(new Date('2026-06-01T00:00:00Z'));
    const ctx = await createTestContext({ clock: clock.now, dir: tempDir(), corpusDir: null });
    try {
      await ctx.store.audit.append({
        id: randomUUID(), requestId: 'req-old', at: new Date('2026-01-01T00:00:00Z').toISOString(), keyId: null, action: 'POST /x', task: null,
        eventId: null, source: null, decision: 'error', status: 400, code: 'validation_failed', chunkIds: [], model: null, latencyMs: 1, detail: {},
      });
      let tick: (() => void) | undefined;
      let unrefs = 0;
      let cleared = 0;
      const timers: RetentionTimers = {
        setInterval(callback, ms) {
          assert.equal(ms, 3_600_000);
          tick = callback;
          return { unref: () => (unrefs += 1) };
        },
        clearInterval: () => {
          cleared += 1;
        },
      };
      const results: unknown[] = [];
      const schedule = scheduleRetention({
        store: ctx.store,
        policy: { auditRetentionMs: 90 * DAY },
        intervalMs: 3_600_000,
        clock: clock.now,
        onPurged: (counts) => results.push(counts),
        onError: (error) => results.push(error),
        timers,
      });
      assert.equal(unrefs, 1, 'the timer never keeps the process alive');
      assert.equal(rowCount(ctx, 'audit_log'), 1);
      tick?.();
      await schedule.stop();
      assert.equal(cleared, 1);
      assert.deepEqual(results, [{ auditRows: 1, idempotencyRecords: 0, taskResults: 0, replayIds: 0, webhookDeliveries: 0 }]);
      assert.equal(rowCount(ctx, 'audit_log'), 0);
    } finally {
      await ctx.close();
    }
  });
});
