// The typed client against a real app on a port, and its retry rules against a scripted local server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestContext, rowCount, type TestContext } from './helpers/context.js';
import { AirlockConnectionError, AirlockProblemError, AirlockResponseError, createAirlockClient } from '../src/index.js';

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const closeServer = async (server: Server): Promise<void> => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
};

describe('createAirlockClient against a real Airlock', () => {
  let ctx: TestContext;
  let server: Server;
  let baseUrl: string;
  let key: string;
  before(async () => {
    ctx = await createTestContext();
    server = createServer(ctx.app);
    baseUrl = await listen(server);
    key = (await ctx.createKey(['tasks:*'])).key;
  });
  after(async () => {
    await closeServer(server);
    await ctx.close();
  });

  test('runTask with parseOutput, when the corpus covers the question, then returns an untrusted result typed by the caller\'s parser, with citations', async () => {
    const client = createAirlockClient({ baseUrl: `${baseUrl}/`, apiKey: key });
    const Answer = z.object({ answer: z.string(), citations: z.array(z.string()), abstained: z.boolean() });
    const result = await client.runTask('support.answer', { question: 'How many business days until my refund is paid?' }, { parseOutput: (output) => Answer.parse(output) });
    assert.equal(result.trust, 'untrusted');
    assert.equal(result.status, 'ok');
    assert.equal(result.task, 'support.answer');
    assert.equal(result.schema_version, '1.1');
    assert.match(result.output.answer, /5 business days/);
    assert.equal(result.output.abstained, false);
    assert.deepEqual(result.citations.map((citation) => citation.chunk_id), result.output.citations);
    assert.equal(result.replayed, false);
    assert.equal(result.attempts, 1);
  });

  test('an Idempotency-Key, when the caller gives none, then one is generated and stored for every call', async () => {
    const client = createAirlockClient({ baseUrl, apiKey: key });
    const before = rowCount(ctx, 'idempotency_records');
    await client.runTask('support.answer', { question: 'When is the support team open?' });
    await client.runTask('support.answer', { question: 'When is the support team open?' });
    assert.equal(rowCount(ctx, 'idempotency_records'), before + 2);
  });

  test('an Idempotency-Key, when the caller passes its own twice with the same event, then the second call is a replay', async () => {
    const client = createAirlockClient({ baseUrl, apiKey: key });
    const options = { idempotencyKey: 'order-42-answer', eventId: 'order-42', timestamp: new Date('2026-05-12T10:15:00Z') };
    const first = await client.runTask('support.answer', { question: 'How do refunds work?' }, options);
    const second = await client.runTask('support.answer', { question: 'How do refunds work?' }, options);
    assert.equal(first.replayed, false);
    assert.equal(second.replayed, true);
    assert.equal(second.request_id, first.request_id);
    assert.equal(second.event_id, 'order-42');
  });

  test('a signing secret, when the key requires signatures, then the client signs and the call succeeds', async () => {
    const signed = await ctx.createKey(['tasks:*'], { signed: true });
    const client = createAirlockClient({ baseUrl, apiKey: signed.key, signingSecret: signed.signingSecret! });
    const result = await client.runTask('support.answer', { question: 'How many business days until my refund is paid?' });
    assert.equal(result.status, 'ok');
  });

  test('a signed key, when the client has no secret, then AirlockProblemError 401 signature_missing after one attempt', async () => {
    const signed = await ctx.createKey(['tasks:*'], { signed: true });
    const client = createAirlockClient({ baseUrl, apiKey: signed.key });
    await assert.rejects(client.runTask('support.answer', { question: 'How do refunds work?' }), (error: unknown) => {
      assert.ok(AirlockProblemError.isInstance(error));
      assert.equal(error.status, 401);
      assert.equal(error.code, 'signature_missing');
      assert.equal(error.attempts, 1);
      return true;
    });
  });

  test('a validation problem, when the data breaks the contract, then it is thrown typed with request id and not retried', async () => {
    const client = createAirlockClient({ baseUrl, apiKey: key });
    await assert.rejects(client.runTask('lead.classify', { name: 'Ada', email: 'not-an-email', message: 'hi', consent: true }), (error: unknown) => {
      assert.ok(error instanceof AirlockProblemError);
      assert.equal(error.code, 'validation_failed');
      assert.equal(error.retryable, false);
      assert.equal(error.attempts, 1);
      assert.match(error.requestId, /.+/);
      assert.ok(error.problem.errors?.some((fieldError) => fieldError.path === 'data.email'));
      return true;
    });
  });
});

interface Scripted {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

const okEnvelope = JSON.stringify({
  trust: 'untrusted',
  content_format: 'json',
  task: 'support.answer',
  status: 'ok',
  schema_version: '1.0',
  output_schema: { name: 'support.answer.output', version: '1.0' },
  output: { answer: 'Refunds take 5 business days.', citations: ['refunds#0'], confidence: 0.9, abstained: false },
  citations: [{ chunk_id: 'refunds#0', document_id: 'refunds', document_version: 1, collection: 'help', score: 0.8 }],
  checks: [],
  request_id: 'req-1',
  event_id: 'evt-1',
  model: { provider: 'offline', name: 'test' },
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});
const problem = (status: number, code: string, retryable: boolean): string =>
  JSON.stringify({ type: `urn:airlock:problem:${code}`, title: code, status, instance: 'urn:airlock:request:r', code, request_id: 'r', retryable });

describe('createAirlockClient retries', () => {
  let server: Server;
  let baseUrl: string;
  let script: Scripted[] = [];
  const seen: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  before(async () => {
    server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (part: Buffer) => parts.push(part));
      req.on('end', () => {
        seen.push({ headers: req.headers, body: Buffer.concat(parts).toString('utf8') });
        const next = script.length > 1 ? script.shift()! : script[0]!;
        res.writeHead(next.status, { 'content-type': next.status < 400 ? 'application/json' : 'application/problem+json', ...next.headers }).end(next.body);
      });
    });
    baseUrl = await listen(server);
  });
  after(async () => closeServer(server));

  const run = (steps: Scripted[], options: { maxRetries?: number } = {}) => {
    script = steps;
    seen.length = 0;
    const delays: number[] = [];
    const client = createAirlockClient({
      baseUrl,
      apiKey: 'ak_dev_test',
      random: () => 0,
      sleep: async (ms) => {
        delays.push(ms);
      },
      ...options,
    });
    return { client, delays };
  };

  test('a 503 problem, when followed by a 200, then the client retries once with the same Idempotency-Key and body after the backoff', async () => {
    const { client, delays } = run([{ status: 503, body: problem(503, 'upstream_unavailable', true) }, { status: 200, body: okEnvelope }]);
    const result = await client.runTask('support.answer', { question: 'When will my refund arrive?' });
    assert.equal(result.attempts, 2);
    assert.equal(seen.length, 2);
    assert.ok(String(seen[0]!.headers['idempotency-key']).length > 0);
    assert.equal(seen[1]!.headers['idempotency-key'], seen[0]!.headers['idempotency-key']);
    assert.equal(seen[1]!.body, seen[0]!.body);
    assert.deepEqual(delays, [500]);
  });

  test('a 409 in-progress problem with Retry-After, when retried, then the client waits what the server asked', async () => {
    const { client, delays } = run([{ status: 409, headers: { 'retry-after': '2' }, body: problem(409, 'idempotency_request_in_progress', true) }, { status: 200, body: okEnvelope }]);
    await client.runTask('support.answer', { question: 'When will my refund arrive?' });
    assert.deepEqual(delays, [2000]);
  });

  test('a 409 problem that says retryable false, when received, then it is thrown at once', async () => {
    const { client, delays } = run([{ status: 409, body: problem(409, 'request_replayed', false) }, { status: 200, body: okEnvelope }]);
    await assert.rejects(client.runTask('support.answer', { question: 'x' }), (error: unknown) => error instanceof AirlockProblemError && error.code === 'request_replayed' && error.attempts === 1);
    assert.deepEqual(delays, []);
  });

  test('a 503 whose x-should-retry is false, when received, then the header wins and nothing is retried', async () => {
    const { client } = run([{ status: 503, headers: { 'x-should-retry': 'false' }, body: problem(503, 'upstream_unavailable', true) }, { status: 200, body: okEnvelope }]);
    await assert.rejects(client.runTask('support.answer', { question: 'x' }), (error: unknown) => error instanceof AirlockProblemError && error.attempts === 1);
    assert.equal(seen.length, 1);
  });

  test('a 429 with a Retry-After of an hour, when received, then the client gives up instead of sleeping', async () => {
    const { client, delays } = run([{ status: 429, headers: { 'retry-after': '3600' }, body: problem(429, 'quota_exceeded', true) }]);
    await assert.rejects(client.runTask('support.answer', { question: 'x' }), (error: unknown) => error instanceof AirlockProblemError && error.code === 'quota_exceeded');
    assert.deepEqual(delays, []);
  });

  test('a proxy 502 page, when it persists, then the client retries with growing backoff and throws a synthesised http_502 problem', async () => {
    const { client, delays } = run([{ status: 502, body: '<html>bad gateway</html>' }], { maxRetries: 2 });
    await assert.rejects(client.runTask('support.answer', { question: 'x' }), (error: unknown) => error instanceof AirlockProblemError && error.code === 'http_502' && error.attempts === 3);
    assert.deepEqual(delays, [500, 1000]);
    assert.equal(seen.length, 3);
  });

  test('a 200 that is not a task envelope, when received, then AirlockResponseError and no retry', async () => {
    const { client } = run([{ status: 200, body: JSON.stringify({ hello: 'world' }) }]);
    await assert.rejects(client.runTask('support.answer', { question: 'x' }), AirlockResponseError);
    assert.equal(seen.length, 1);
  });

  test('a refused connection, when every attempt fails, then AirlockConnectionError after maxRetries + 1 attempts', async () => {
    const delays: number[] = [];
    const client = createAirlockClient({ baseUrl: 'http://127.0.0.1:9', apiKey: 'k', maxRetries: 1, random: () => 0, sleep: async (ms) => void delays.push(ms) });
    await assert.rejects(client.runTask('support.answer', { question: 'x' }), (error: unknown) => error instanceof AirlockConnectionError && error.attempts === 2);
    assert.deepEqual(delays, [500]);
  });
});
