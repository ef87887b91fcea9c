// Issue 17 item 4 on PostgreSQL + Redis: AIRLOCK_PROCESSES=2, the real entry point as a node:cluster primary with two
// workers on one database and one Redis, against a slow mock upstream (test/helpers/worker-pool.ts: every request on
// its own connection, and the worker it reached). The limits and the idempotency record must hold across the workers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/index.js';
import { createKeyAdmin } from '../../src/admin/keys.js';
import { answering, startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { createTestDatabase, requireEngines, type TestDatabase } from '../helpers/engines.js';
import { dataDirSecretBox } from '../helpers/context.js';
import { assertOneRateLimitAcrossWorkers, assertRetryReplayedOnOtherWorker, killStarted, poolEnv, send, startPool, type Pool } from '../helpers/worker-pool.js';

const engines = requireEngines();
const REQUESTS_PER_MINUTE = 6;
const QUESTION = 'How many business days until my refund is paid?';

let counter = 0;
const call = (key: string, headers: Record<string, string> = {}) => ({
  key,
  headers,
  body: { schema_version: '1.0', source: 'processes-redis', event_id: `evt_${(counter += 1)}`, timestamp: '2026-05-12T10:15:00Z', data: { question: QUESTION } },
});

describe('AIRLOCK_PROCESSES=2 on PostgreSQL + Redis (issue 17 item 4)', () => {
  let database: TestDatabase;
  let store: PostgresStore;
  let upstream: MockUpstream;
  let dataDir: string;
  let pool: Pool;

  const newKey = async (name: string): Promise<string> => {
    const keys = createKeyAdmin({ keys: store.keys, environment: 'development', clock: () => new Date(), random: randomBytes });
    return (await keys.create({ name, scopes: ['tasks:*'], require_signature: false })).key;
  };

  before(async () => {
    database = await createTestDatabase(engines.databaseUrl);
    dataDir = mkdtempSync(join(tmpdir(), 'airlock-processes-redis-'));
    // Same data dir, so the same generated at-rest key as the workers.
    store = await openPostgresStore({ url: database.url, poolSize: 2, secretBox: dataDirSecretBox(dataDir) });
    upstream = await startMockUpstream([{ kind: 'answer', content: answering(() => 'Refunds are paid within five business days.'), delayMs: 1_000 }]);
    pool = await startPool({ ...poolEnv(dataDir, upstream.baseURL, REQUESTS_PER_MINUTE), AIRLOCK_DATABASE_URL: database.url, AIRLOCK_REDIS_URL: engines.redisUrl });
  });

  after(async () => {
    killStarted();
    await upstream?.close();
    await store?.close();
    await database?.drop();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  test('RL-1 RL-2: one key sending twice its per-minute limit to both workers gets exactly the limit through', async () => {
    await assertOneRateLimitAcrossWorkers(pool, await newKey('rate'), REQUESTS_PER_MINUTE);
  });

  test('IDEM-5 IDEM-6: an idempotent retry that lands on the other worker gets the stored response, and the model is called once', async () => {
    const request = call(await newKey('idempotency'), { 'idempotency-key': `retry-${randomUUID()}` });
    await assertRetryReplayedOnOtherWorker(pool, request, () => upstream.requests.length);
  });

  test('LLM10-6: with a cap of one execution per key, two calls of one key running at once on the two workers get one 200 and one 429', async () => {
    const key = await newKey('concurrency');
    const [one, two] = await Promise.all([send(pool, '/v1/tasks/support.answer', call(key)), send(pool, '/v1/tasks/support.answer', call(key))]);
    assert.notEqual(one.worker, two.worker, 'the two calls ran on different workers');
    assert.deepEqual([one.status, two.status].sort(), [200, 429], `${one.body}\n${two.body}`);
  });
});
