// A child process serving the real app over HTTP on a SQLite file it shares with the test (crash-recovery tests).
// Configured by environment: AIRLOCK_CHILD_DIR (the data dir), AIRLOCK_CHILD_UPSTREAM (mock upstream base URL), and
// optionally AIRLOCK_CHILD_MAX_RETRIES and AIRLOCK_CHILD_DEADLINE_MS for the upstream provider.
// Prints "listening <port>" once ready. POST /__test/clock {"advance_ms": n} moves this process's clock forward,
// so the test can age an in-flight claim past the stale limit (IDEM-8) without waiting.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestContext } from './context.js';
import { createOpenAIModel } from '../../src/model/openai.js';

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
});

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
  server.close(() => void ctx.close().then(() => process.exit(0)));
});
