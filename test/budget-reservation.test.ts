// B6, budget overspend: the daily token budget is reserved before each model call (the task's max_output_tokens plus
// a prompt estimate) and settled to the reported usage after it, and each key has a concurrency cap (LLM10-5,
// LLM10-6). Real HTTP server, real OpenAI-compatible mock upstream.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, envelope, type TestContext } from './helpers/context.js';
import { modelFor, startMockUpstream, type MockUpstream } from './helpers/mock-upstream.js';
import { citeFirstChunk, gatedModel, listen } from './helpers/boundary.js';

const QUESTION = 'How many business days until my refund is paid?';
const tokensLeft = (response: Response): number => Number(/"per-key-tokens-day";r=(\d+)/.exec(response.headers.get('ratelimit') ?? '')?.[1]);

describe('token budget reservations and the per-key concurrency cap (B6)', () => {
  let upstream: MockUpstream;
  const contexts: TestContext[] = [];
  const servers: Array<{ close(): Promise<void> }> = [];

  before(async () => {
    upstream = await startMockUpstream([{ kind: 'answer', content: citeFirstChunk, totalTokens: 20 }]);
  });
  after(async () => {
    for (const server of servers) await server.close();
    for (const ctx of contexts) await ctx.close();
    await upstream.close();
  });

  async function serve(options: Parameters<typeof createTestContext>[0]) {
    const ctx = await createTestContext(options);
    contexts.push(ctx);
    const server = await listen(ctx.app);
    servers.push(server);
    const { key } = await ctx.createKey(['tasks:*']);
    const ask = () =>
      fetch(`${server.url}/v1/tasks/support.answer`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(envelope({ question: QUESTION })),
      });
    return { ask };
  }

  test('LLM10-5 B6: 60 concurrent requests, when the daily budget is 100 tokens and each call uses 20, then they do not all succeed and at most 100 tokens are spent; with room, a call costs its usage and a failed one nothing', async () => {
    upstream.setBehaviours([{ kind: 'answer', content: citeFirstChunk, totalTokens: 20, delayMs: 50 }]);
    const before = upstream.requests.length;
    const { ask } = await serve({ model: modelFor(upstream, { timeoutMs: 10_000 }), tokensPerDay: 100 });
    const responses = await Promise.all(Array.from({ length: 60 }, () => ask()));
    const succeeded = responses.filter((response) => response.status === 200).length;
    const calls = upstream.requests.length - before;
    assert.ok(succeeded < 60, 'not every request can be paid for');
    assert.ok(calls * 20 <= 100, `${calls} upstream calls of 20 tokens each overspend a 100-token budget`);
    for (const response of responses.filter((candidate) => candidate.status !== 200)) {
      assert.equal(response.status, 429);
      assert.ok(Number(response.headers.get('retry-after')) >= 1);
      const problem = (await response.json()) as { code: string; 'violated-policies': string[] };
      assert.ok(['quota_exceeded', 'rate_limited'].includes(problem.code), problem.code);
    }

    // A reservation that fits is settled to the reported usage; a failed call is charged nothing.
    upstream.setBehaviours([{ kind: 'answer', content: citeFirstChunk, totalTokens: 20 }]);
    const roomy = await serve({ model: modelFor(upstream, { timeoutMs: 10_000 }), tokensPerDay: 10_000 });
    assert.equal((await roomy.ask()).status, 200);
    const afterSuccess = await roomy.ask();
    assert.equal(afterSuccess.status, 200);
    assert.equal(tokensLeft(afterSuccess), 10_000 - 20, 'the first call cost its 20 tokens, not its reservation');
    upstream.setBehaviours([{ kind: 'status', status: 500 }]);
    assert.equal((await roomy.ask()).status, 503);
    upstream.setBehaviours([{ kind: 'answer', content: citeFirstChunk, totalTokens: 20 }]);
    const afterFailure = await roomy.ask();
    assert.equal(tokensLeft(afterFailure), 10_000 - 40, 'the failed call cost nothing; its reservation was returned');
  });

  test('LLM10-6 B6: the per-key concurrency cap, when two calls of a key are running and the cap is 2, then a third gets 429 rate_limited with Retry-After, and runs once a slot is free', async () => {
    upstream.setBehaviours([{ kind: 'answer', content: citeFirstChunk, totalTokens: 20 }]);
    const held = gatedModel(modelFor(upstream, { timeoutMs: 10_000 }));
    const { ask } = await serve({ model: held, concurrentPerKey: 2 });
    const running = [ask(), ask()];
    await held.entered(2);
    const third = await Promise.race([ask(), held.entered(3).then(() => assert.fail('a third call reached the model'))]);
    assert.equal(third.status, 429);
    assert.equal(third.headers.get('retry-after'), '1');
    const problem = (await third.json()) as { code: string; 'violated-policies': string[] };
    assert.equal(problem.code, 'rate_limited');
    assert.deepEqual(problem['violated-policies'], ['per-key-concurrency']);
    held.open();
    assert.deepEqual((await Promise.all(running)).map((response) => response.status), [200, 200]);
    assert.equal((await ask()).status, 200, 'the slots were given back');
  });
});
