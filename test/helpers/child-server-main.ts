// A child process serving the real app over HTTP on a SQLite file it shares with the test (crash-recovery tests).
// Configured by environment: AIRLOCK_CHILD_DIR (the data dir), AIRLOCK_CHILD_UPSTREAM (mock upstream base URL), and
// optionally AIRLOCK_CHILD_MAX_RETRIES and AIRLOCK_CHILD_DEADLINE_MS for the upstream provider, and
// AIRLOCK_CHILD_LIMITS_IN_FILE=1 to keep rate limits and slots in the SQLite file as the embedded server does.
// Prints "listening <port>" once ready. POST /__test/clock {"advance_ms": n} moves this process's clock forward,
// so the test can age an in-flight claim past the stale limit (IDEM-8) without waiting. With AIRLOCK_CHILD_WEBHOOKS=1
// it also runs the webhook delivery worker (http to 127.0.0.1 allowed, retries 1.5 s apart, polled every 100 ms).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestContext } from './context.js';
import { createOpenAIModel } from '../../src/model/openai.js';
import { randomUUID } from 'node:crypto';
import { createDeliveryWorker } from '../../src/webhooks/worker.js';
import { sendWebhook } from '../../src/webhooks/send.js';

const dir = process.env['AIRLOCK_CHILD_DIR'];
const upstream = process.env['AIRLOCK_CHILD_UPSTREAM'];
if (dir === undefined || upstream === undefined) throw new Error('AIRLOCK_CHILD_DIR and AIRLOCK_CHILD_UPSTREAM are required');

let offsetMs = 0;
const ctx = await createTestContext({
  dir,
  clock: () => new Date(Date.now() + offsetMs),
  idempotencyWaitMs: 0,
  model: createOpenAIModel({
    apiKey: 'sk-test',
    baseURL: upstream,
    model: 'mock-model',
    timeoutMs: 60_000,
    maxRetries: Number(process.env['AIRLOCK_CHILD_MAX_RETRIES'] ?? 0),
    ...(process.env['AIRLOCK_CHILD_DEADLINE_MS'] === undefined ? {} : { deadlineMs: Number(process.env['AIRLOCK_CHILD_DEADLINE_MS']) }),
  }),
  webhookAllowHosts: ['127.0.0.1'],
  limitsInFile: process.env['AIRLOCK_CHILD_LIMITS_IN_FILE'] === '1',
});

const clock = (): Date => new Date(Date.now() + offsetMs);
const allowHosts = new Set(['127.0.0.1']);
const worker =
  process.env['AIRLOCK_CHILD_WEBHOOKS'] === '1'
    ? createDeliveryWorker({
        store: ctx.store.webhooks,
        send: (message) => sendWebhook(message, { allowHosts, timeoutMs: 1_000, clock }),
        clock,
        random: Math.random,
        newLeaseToken: randomUUID,
        timers: { setTimeout: (callback, ms) => setTimeout(callback, ms), clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout) },
        schedule: { maxAttempts: 5, baseDelayMs: 1_500, maxDelayMs: 5_000 },
        leaseMs: 5_000,
        pollMs: 100,
      })
    : undefined;
worker?.start();

const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/__test/clock') {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      offsetMs += Number((JSON.parse(Buffer.concat(parts).toString('utf8')) as { advance_ms: number }).advance_ms);
      res.writeHead(204).end();
    });
    return;
  }
  ctx.app(req, res);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => void (worker?.stop() ?? Promise.resolve()).then(() => ctx.close()).then(() => process.exit(0)));
});
