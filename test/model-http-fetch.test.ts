// The node:http transport under the OpenAI SDK (src/model/http-fetch.ts), against a real local HTTP server: what the
// SDK relies on from fetch (status, headers, body, abort as AbortError) and what undici did for it (decoding, reuse).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { createHttpFetch } from '../src/model/http-fetch.js';

describe('createHttpFetch', () => {
  let server: Server;
  let base: string;
  let connections = 0;
  const seen: Array<{ method: string; headers: IncomingMessage['headers']; body: string }> = [];

  before(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', headers: req.headers, body });
        if (req.url === '/gzip') {
          res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
          res.end(gzipSync(JSON.stringify({ ok: true })));
        } else if (req.url === '/slow') {
          setTimeout(() => res.end('late'), 2_000);
        } else if (req.url === '/empty') {
          res.writeHead(204).end();
        } else {
          res.writeHead(429, { 'retry-after': '3', 'x-request-id': 'req_1', 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: 'slow down' } }));
        }
      });
    });
    server.on('connection', () => (connections += 1));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test('a POST, when answered with an error status, then status, headers and body arrive as fetch gives them, and the request carried method, headers and body', async () => {
    const httpFetch = createHttpFetch();
    const response = await httpFetch(`${base}/limited`, { method: 'POST', headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json' }, body: '{"model":"m"}' });
    assert.equal(response.status, 429);
    assert.equal(response.ok, false);
    assert.equal(response.headers.get('retry-after'), '3');
    assert.equal(response.headers.get('x-request-id'), 'req_1');
    assert.deepEqual(await response.json(), { error: { message: 'slow down' } });
    const request = seen.at(-1);
    assert.equal(request?.method, 'POST');
    assert.equal(request?.headers.authorization, 'Bearer sk-test');
    assert.equal(request?.headers['content-length'], String(Buffer.byteLength('{"model":"m"}')));
    assert.equal(request?.body, '{"model":"m"}');
  });

  test('a gzip-encoded answer, when read, then arrives decoded without its encoding header, as undici gives it', async () => {
    const response = await createHttpFetch()(`${base}/gzip`);
    assert.equal(response.headers.get('content-encoding'), null);
    assert.deepEqual(await response.json(), { ok: true });
  });

  test('a 204 answer, when read, then has an empty body instead of failing to construct', async () => {
    const response = await createHttpFetch()(`${base}/empty`);
    assert.equal(response.status, 204);
    assert.equal(await response.text(), '');
  });

  test('a request, when its signal aborts (the SDK timing out), then it rejects with an AbortError at once', async () => {
    const controller = new AbortController();
    const pending = createHttpFetch()(`${base}/slow`, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(pending, (error: Error) => error.name === 'AbortError');
    await assert.rejects(createHttpFetch()(`${base}/slow`, { signal: AbortSignal.abort() }), (error: Error) => error.name === 'AbortError');
  });

  test('sequential requests, when made through one transport, then share one kept-alive connection', async () => {
    const httpFetch = createHttpFetch();
    const before = connections;
    for (let i = 0; i < 5; i += 1) {
      await (await httpFetch(`${base}/limited`)).text();
      // The agent frees a socket a turn after the body ends; the SDK's next call is never issued sooner than that.
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(connections - before, 1);
  });

  test('a streamed body, when given, then the request goes to the fallback fetch untouched', async () => {
    const calls: unknown[] = [];
    const fallback = (async (input: unknown) => {
      calls.push(input);
      return new Response('from fallback');
    }) as typeof fetch;
    const body = new ReadableStream({ start: (controller) => controller.close() });
    const response = await createHttpFetch(fallback)(`${base}/limited`, { method: 'POST', body, duplex: 'half' } as RequestInit);
    assert.equal(await response.text(), 'from fallback');
    assert.equal(calls.length, 1);
  });

  test('a refused connection, when attempted, then rejects (the SDK reports it as a connection error)', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await assert.rejects(createHttpFetch()(`http://127.0.0.1:${port}/`), /ECONNREFUSED/);
  });
});
