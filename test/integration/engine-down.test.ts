// Engines going away mid-run (issue 12 B7): Redis killed, PostgreSQL cut off. Task calls must fail closed and fast
// with 503 store_unavailable (never 500, never a silent fallback to per-process limits), and /readyz must name the
// engine that is down. Redis is a redis-server of this test's own; PostgreSQL sits behind a TCP forwarder the test
// cuts, which is what a crashed server looks like from Airlock: open connections reset, new ones refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { Express } from 'express';
import { createTestDatabase, requireEngines, type TestDatabase } from '../helpers/engines.js';
import { loadConfig } from '../../src/config.js';
import { appDepsFromRuntime, openRuntime, type Runtime } from '../../src/runtime.js';
import { createApp } from '../../src/app.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { createKeyAdmin } from '../../src/admin/keys.js';
import { ingestPath } from '../../src/corpus/files.js';
import { FIXTURE_CORPUS } from '../helpers/context.js';

const engines = requireEngines();
const ROOT = join(import.meta.dirname, '..', '..');
/** Fast failure: a task call with an engine down is answered within this, not after reconnect waits. */
const BOUND_MS = 3_000;

const freePort = async (): Promise<number> => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
};

async function startRedis(port: number): Promise<{ url: string; process: ChildProcess }> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', () => reject(new Error(`redis-server exited: ${output}`)));
  });
  return { url: `redis://127.0.0.1:${port}`, process: child };
}

/** A TCP forwarder to `target`; cut() closes it and resets every connection through it. */
async function startForwarder(target: { host: string; port: number }): Promise<{ port: number; cut(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = connect(target.port, target.host);
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    async cut() {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.resetAndDestroy();
      await closed;
    },
  };
}

describe('engine down (issue 12 B7)', () => {
  let database: TestDatabase;
  let forwarder: Awaited<ReturnType<typeof startForwarder>>;
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let redisPort: number;
  let runtime: Runtime;
  let app: Express;
  let key: string;
  let dataDir: string;
  let event = 0;

  before(async () => {
    database = await createTestDatabase(engines.databaseUrl);
    const direct = new URL(database.url);
    forwarder = await startForwarder({ host: direct.hostname, port: Number(direct.port) });
    const forwarded = new URL(database.url);
    forwarded.host = `127.0.0.1:${forwarder.port}`;
    redisPort = await freePort();
    redis = await startRedis(redisPort);
    dataDir = mkdtempSync(join(tmpdir(), 'airlock-engine-down-'));
    const config = loadConfig({
      AIRLOCK_DATA_DIR: dataDir,
      AIRLOCK_DATABASE_URL: forwarded.toString(),
      AIRLOCK_REDIS_URL: redis.url,
      AIRLOCK_TASKS_DIR: join(ROOT, 'tasks'),
      AIRLOCK_LOG_LEVEL: 'silent',
    });
    runtime = await openRuntime(config);
    await ingestPath(runtime.corpus, FIXTURE_CORPUS, { approve: true, actor: 'test' });
    app = createApp(appDepsFromRuntime(runtime, { logger: createLogger({ level: 'silent' }), metrics: createMetrics(), version: 'test' }));
    key = (await createKeyAdmin({ keys: runtime.store.keys, environment: 'development', clock: runtime.clock, random: randomBytes }).create({ name: 'b7', scopes: ['tasks:*'], require_signature: false })).key;
  });
  after(async () => {
    redis.process.kill('SIGKILL');
    await runtime.close().catch(() => undefined);
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const taskCall = () => {
    event += 1;
    return request(app)
      .post('/v1/tasks/support.answer')
      .set('authorization', `Bearer ${key}`)
      .set('content-type', 'application/json')
      .set('idempotency-key', `b7-${event}`)
      .send(JSON.stringify({ schema_version: '1.0', source: 'test', event_id: `evt_b7_${event}`, timestamp: '2026-05-12T10:15:00Z', data: { question: 'When is the support team open?' } }));
  };

  const assertStoreUnavailable = async (engine: string): Promise<void> => {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const started = performance.now();
      const response = await taskCall();
      const elapsed = performance.now() - started;
      assert.equal(response.status, 503, response.text.slice(0, 300));
      assert.equal((response.body as { code: string }).code, 'store_unavailable');
      assert.equal((response.body as { retryable: boolean }).retryable, true);
      assert.ok(response.headers['retry-after'] !== undefined, 'a transient failure carries Retry-After (RETRY-1)');
      assert.ok(elapsed < BOUND_MS, `answered after ${Math.round(elapsed)} ms`);
    }
    const ready = await request(app).get('/readyz');
    assert.equal(ready.status, 503);
    assert.match((ready.body as { detail: string }).detail, new RegExp(engine));
  };

  test('RETRY-1 RL-3 B7: Redis, when killed mid-run, then task calls answer 503 store_unavailable within the bound (no per-process fallback) and /readyz names Redis, not the database', async () => {
    assert.equal((await taskCall()).status, 200);
    assert.equal((await request(app).get('/readyz')).status, 200);
    redis.process.kill('SIGKILL');
    await once(redis.process, 'exit');
    await assertStoreUnavailable('Redis');
    const ready = await request(app).get('/readyz');
    assert.doesNotMatch((ready.body as { detail: string }).detail, /PostgreSQL|database/);
  });

  test('RETRY-1 B7: PostgreSQL, when cut off mid-run, then task calls answer 503 store_unavailable, not 500, and /readyz names PostgreSQL', async () => {
    // Redis comes back on its port first, so only PostgreSQL is missing; the client reconnects by itself.
    redis = await startRedis(redisPort);
    const backBy = Date.now() + 15_000;
    while ((await request(app).get('/readyz')).status !== 200) {
      assert.ok(Date.now() < backBy, 'Airlock did not recover after Redis came back');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal((await taskCall()).status, 200);
    await forwarder.cut();
    await assertStoreUnavailable('PostgreSQL');
  });
});
