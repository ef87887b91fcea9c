// The embedded store failing under a request (issue 12 B7): a database file another process holds locked past
// busy_timeout, or one that is gone, is 503 store_unavailable naming SQLite (retryable), never a 500.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import request from 'supertest';
import { createTestContext, envelope, type TestContext } from './helpers/context.js';

describe('SQLite unavailable (B7)', () => {
  let ctx: TestContext;
  let key: string;

  before(async () => {
    ctx = await createTestContext();
    key = (await ctx.createKey(['tasks:*'])).key;
  });
  after(async () => ctx.close());

  const taskCall = (idempotencyKey: string) =>
    request(ctx.app)
      .post('/v1/tasks/support.answer')
      .set('authorization', `Bearer ${key}`)
      .set('idempotency-key', idempotencyKey)
      .set('content-type', 'application/json')
      .send(JSON.stringify(envelope({ question: 'When is the support team open?' })));

  test('RETRY-1 B7: a task call, when another process holds the database locked past busy_timeout (SQLITE_BUSY), then 503 store_unavailable naming SQLite with Retry-After, and the next call after the lock works', async () => {
    const other = new Database(join(ctx.dir, 'airlock.db'));
    try {
      other.exec('BEGIN EXCLUSIVE');
      const response = await taskCall('busy-1');
      assert.equal(response.status, 503, response.text.slice(0, 300));
      assert.equal((response.body as { code: string }).code, 'store_unavailable');
      assert.match((response.body as { detail: string }).detail, /SQLite/);
      assert.equal((response.body as { retryable: boolean }).retryable, true);
      assert.ok(response.headers['retry-after'] !== undefined);
      other.exec('ROLLBACK');
    } finally {
      other.close();
    }
    assert.equal((await taskCall('busy-2')).status, 200);
  });
});
