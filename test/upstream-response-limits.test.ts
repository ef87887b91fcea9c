// API10 / LLM10: what the upstream sends back is bounded too (issue 12 B5). A decompression bomb or an endless body
// from a hostile or broken OpenAI-compatible server is cut off at the limit while streaming, answered 502
// upstream_rejected, and neither stalls the event loop (/healthz keeps answering) nor balloons memory.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { createTestContext, envelope, type TestContext } from './helpers/context.js';
import { startMockUpstream, modelFor, type MockUpstream } from './helpers/mock-upstream.js';

const MB = 1024 * 1024;

describe('upstream response size (B5)', () => {
  let upstream: MockUpstream;
  let ctx: TestContext;
  let key: string;
  /** 64 gzip members of 16 MB of zeros each: about 1 MB on the wire, 1 GB inflated (gunzip reads every member). */
  let bomb: Buffer;

  before(async () => {
    const member = gzipSync(Buffer.alloc(16 * MB), { level: 9 });
    bomb = Buffer.concat(Array.from({ length: 64 }, () => member));
    upstream = await startMockUpstream();
    ctx = await createTestContext({ model: modelFor(upstream, { timeoutMs: 20_000 }) });
    key = (await ctx.createKey(['tasks:*'])).key;
  });
  after(async () => {
    await ctx.close();
    await upstream.close();
  });

  const ask = () =>
    request(ctx.app)
      .post('/v1/tasks/support.answer')
      .set('authorization', `Bearer ${key}`)
      .set('content-type', 'application/json')
      .send(JSON.stringify(envelope({ question: 'When is the support team open?' })));

  /** Runs the task call while probing /healthz every 50 ms; returns the call's response and the slowest probe. */
  async function callWhileProbing(): Promise<{ response: request.Response; slowestProbeMs: number; elapsedMs: number; rssGrowthBytes: number }> {
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    let slowestProbeMs = 0;
    let done = false;
    const started = performance.now();
    const call = ask().then((response) => {
      done = true;
      return response;
    });
    while (!done) {
      const probeStarted = performance.now();
      assert.equal((await request(ctx.app).get('/healthz')).status, 200);
      slowestProbeMs = Math.max(slowestProbeMs, performance.now() - probeStarted);
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const response = await call;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    return { response, slowestProbeMs, elapsedMs: performance.now() - started, rssGrowthBytes: peakRss - rssBefore };
  }

  test('API10 LLM10-6 B5: an upstream answer of 1 MB gzip that inflates to 1 GB, when a task calls it, then 502 upstream_rejected within seconds, /healthz answers meanwhile and memory stays bounded', async () => {
    upstream.setBehaviours([{ kind: 'bytes', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: bomb }]);
    const { response, slowestProbeMs, elapsedMs, rssGrowthBytes } = await callWhileProbing();
    assert.equal(response.status, 502, response.text.slice(0, 300));
    assert.equal((response.body as { code: string }).code, 'upstream_rejected');
    assert.equal((response.body as { retryable: boolean }).retryable, false);
    assert.ok(elapsedMs < 5_000, `answered after ${Math.round(elapsedMs)} ms`);
    assert.ok(slowestProbeMs < 1_000, `/healthz took ${Math.round(slowestProbeMs)} ms while the bomb was read`);
    assert.ok(rssGrowthBytes < 200 * MB, `RSS grew by ${Math.round(rssGrowthBytes / MB)} MB`);
  });

  test('API10 B5: a 20 MB plain upstream answer, when a task calls it, then 502 upstream_rejected and the transport hangs up before the upstream has sent it all', async () => {
    let sentWhole: boolean | undefined;
    upstream.setBehaviours([
      { kind: 'bytes', headers: { 'content-type': 'application/json' }, body: Buffer.alloc(20 * MB, 0x20), onClose: (finished) => (sentWhole = finished) },
    ]);
    const { response, rssGrowthBytes } = await callWhileProbing();
    assert.equal(response.status, 502, response.text.slice(0, 300));
    assert.equal((response.body as { code: string }).code, 'upstream_rejected');
    while (sentWhole === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(sentWhole, false, 'the whole 20 MB was read');
    assert.ok(rssGrowthBytes < 200 * MB, `RSS grew by ${Math.round(rssGrowthBytes / MB)} MB`);
  });

  test('API10 B5: an upstream that declares a Content-Length over the limit, when a task calls it, then 502 upstream_rejected without reading the body', async () => {
    upstream.setBehaviours([{ kind: 'bytes', headers: { 'content-type': 'application/json', 'content-length': String(20 * MB) }, body: Buffer.alloc(20 * MB, 0x20) }]);
    const response = await ask();
    assert.equal(response.status, 502, response.text.slice(0, 300));
    assert.equal((response.body as { code: string }).code, 'upstream_rejected');
  });
});
