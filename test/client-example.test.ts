// examples/client.ts against a real app on a port, so the runnable example cannot rot (and tsc checks it via this import).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createTestContext, type TestContext } from './helpers/context.js';
import { modelFor, offeredChunkIds, startMockUpstream, type ChatRequestBody, type MockUpstream } from './helpers/mock-upstream.js';
import { main } from '../examples/client.js';

const BUNDLED_CORPUS = join(import.meta.dirname, '..', 'corpus');

/** The mock upstream's answer per task, picked by the json_schema name Airlock sends (each is valid for its task). */
const answerFor = (request: ChatRequestBody): string => {
  const cited = offeredChunkIds(request).slice(0, 1);
  switch (request.response_format?.json_schema?.name) {
    case 'support_answer_output':
      return JSON.stringify({ answer: 'Unopened bags can be returned within 30 days.', citations: cited, confidence: 0.8, abstained: false });
    case 'lead_classify_output':
      return JSON.stringify({ score: 70, category: 'sales', next_action: 'send_pricing', reasons: ['Asks what an office plan costs'] });
    default:
      return JSON.stringify({ title: 'Our taste guarantee', outline: ['Introduction'], body_html: '<p>Not to your taste? Tell us.</p>', meta_description: 'How the taste guarantee works.', citations: cited, status: 'draft' });
  }
};

describe('examples/client.ts', () => {
  let ctx: TestContext;
  let server: Server;
  let url: string;
  let upstream: MockUpstream;
  before(async () => {
    // The example calls all three bundled tasks; two of them need a model, so a mock upstream plays it for all three.
    upstream = await startMockUpstream([{ kind: 'answer', content: answerFor }]);
    ctx = await createTestContext({ corpusDir: BUNDLED_CORPUS, model: modelFor(upstream) });
    server = ctx.app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await ctx.close();
    await upstream.close();
  });

  test('the example, when run against the bundled corpus, then calls all three tasks and exits 0', async () => {
    const lines: string[] = [];
    const code = await main({ AIRLOCK_URL: url, AIRLOCK_API_KEY: (await ctx.createKey(['tasks:*'])).key }, (line) => lines.push(line));
    assert.equal(code, 0, lines.join('\n'));
    assert.ok(lines.some((line) => line.startsWith('support.answer')));
    assert.ok(lines.some((line) => line.startsWith('lead.classify')));
    assert.ok(lines.some((line) => line.startsWith('content.draft')));
    const rows = (await ctx.store.audit.list({ limit: 50 })).filter((row) => row.action === 'task.run');
    assert.deepEqual(rows.map((row) => row.task).sort(), ['content.draft', 'lead.classify', 'support.answer']);
    assert.ok(rows.every((row) => row.source === 'example-script'));
  });

  test('the example, when the key lacks a scope, then reports the problem with its request id and exits 1', async () => {
    const lines: string[] = [];
    const code = await main({ AIRLOCK_URL: url, AIRLOCK_API_KEY: (await ctx.createKey(['tasks:lead.classify'])).key }, (line) => lines.push(line));
    assert.equal(code, 1);
    assert.match(lines.join('\n'), /403 forbidden_scope \(request [^)]+\)/);
  });

  test('the example, when the environment is incomplete, then explains what to set and exits 2', async () => {
    const lines: string[] = [];
    assert.equal(await main({}, (line) => lines.push(line)), 2);
    assert.match(lines[0] ?? '', /AIRLOCK_URL/);
  });
});
