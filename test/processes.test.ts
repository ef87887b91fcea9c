// Issue 17 item 4: AIRLOCK_PROCESSES=2 on the embedded store, as an operator runs it: the real entry point
// (src/main.ts) as a node:cluster primary with two workers on one SQLite file, behind one port, against a slow
// OpenAI-compatible mock (test/helpers/worker-pool.ts: every request on its own connection, and the worker it reached).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { runCli } from '../src/cli/main.js';
import { capture } from './helpers/capture.js';
import { offeredChunkIds, startMockUpstream, type ChatRequestBody, type MockUpstream } from './helpers/mock-upstream.js';
import { assertOneRateLimitAcrossWorkers, assertRetryReplayedOnOtherWorker, exchange, killStarted, logLine, logLines, poolEnv, send, sendToOtherWorker, spawnMain, startPool, type Pool } from './helpers/worker-pool.js';

const ROOT = join(import.meta.dirname, '..');
const REQUESTS_PER_MINUTE = 6;
const TOKENS_PER_DAY = 200_000;
const UPSTREAM_DELAY_MS = 1_000;
/** Retrieval finds the refunds article for it, so every call reaches the model (others may abstain without one). */
const REFUND_QUESTION = 'How many business days until my refund is paid?';

/** Cites the van article when the prompt offers it, else the first chunk offered. */
const citingAnswer = (request: ChatRequestBody): string => {
  const offered = offeredChunkIds(request);
  const cited = offered.find((id) => id.startsWith('van-colour#')) ?? offered[0] ?? 'none';
  return JSON.stringify({ answer: 'Here is what the approved articles say.', citations: [cited], confidence: 0.9, abstained: false });
};

let counter = 0;
const envelope = (data: Record<string, unknown>) => ({
  schema_version: '1.0',
  source: 'processes-test',
  event_id: `evt_${(counter += 1)}`,
  timestamp: '2026-05-12T10:15:00Z',
  data,
});

describe('AIRLOCK_PROCESSES=2 on the embedded store (issue 17 item 4)', () => {
  let upstream: MockUpstream;
  let dataDir: string;
  let env: Record<string, string>;
  let pool: Pool;

  /** A fresh tasks key made through the CLI on the pool's file, so no test spends another's limits. */
  const newKey = async (name: string, scopes = 'tasks:*'): Promise<string> => {
    const out = capture();
    const errors = capture();
    assert.equal(await runCli(['keys', 'create', '--name', name, '--scopes', scopes, '--json'], env, out.stream, errors.stream), 0, errors.text());
    return (JSON.parse(out.text()) as { key: string }).key;
  };
  const ask = (key: string, question: string, headers: Record<string, string> = {}) => ({ key, body: envelope({ question }), headers });

  before(async () => {
    upstream = await startMockUpstream([{ kind: 'answer', content: citingAnswer, delayMs: UPSTREAM_DELAY_MS }]);
    dataDir = mkdtempSync(join(tmpdir(), 'airlock-processes-'));
    env = { ...poolEnv(dataDir, upstream.baseURL, REQUESTS_PER_MINUTE), AIRLOCK_RATE_TOKENS_PER_DAY: String(TOKENS_PER_DAY) };
    pool = await startPool(env);
  });

  after(async () => {
    killStarted();
    await upstream?.close();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  test('RL-1 RL-2: one key sending twice its per-minute limit to both workers gets exactly the limit through, not one limit per worker', async () => {
    await assertOneRateLimitAcrossWorkers(pool, await newKey('rate'), REQUESTS_PER_MINUTE);
  });

  test('IDEM-5 IDEM-6: an idempotent retry that lands on the other worker gets the stored response, and the model is called once', async () => {
    const call = ask(await newKey('idempotency'), REFUND_QUESTION, { 'idempotency-key': `retry-${randomUUID()}` });
    await assertRetryReplayedOnOtherWorker(pool, call, () => upstream.requests.length);
  });

  test('LLM10-6: with a cap of one execution per key, two calls of one key running at once on the two workers get one 200 and one 429', async () => {
    const key = await newKey('concurrency');
    // Two connections opened together go to the two workers in turn.
    const [one, two] = await Promise.all([
      send(pool, '/v1/tasks/support.answer', ask(key, REFUND_QUESTION)),
      send(pool, '/v1/tasks/support.answer', ask(key, REFUND_QUESTION)),
    ]);
    assert.notEqual(one.worker, two.worker, 'the two calls ran on different workers');
    assert.deepEqual([one.status, two.status].sort(), [200, 429], `${one.body}\n${two.body}`);
    const refused = JSON.parse([one, two].find((reply) => reply.status === 429)!.body) as { 'violated-policies': string[] };
    assert.deepEqual(refused['violated-policies'], ['per-key-concurrency']);
  });

  test('LLM10-5 B6: tokens spent through one worker count against the key\'s daily budget on the other', async () => {
    const key = await newKey('budget');
    upstream.setBehaviours([{ kind: 'answer', content: citingAnswer, totalTokens: TOKENS_PER_DAY }]);
    try {
      const first = await send(pool, '/v1/tasks/support.answer', ask(key, REFUND_QUESTION));
      assert.equal(first.status, 200, first.body);
      const second = await sendToOtherWorker(pool, first.worker, '/v1/tasks/support.answer', ask(key, REFUND_QUESTION));
      assert.equal(second.status, 429, second.body);
      assert.equal((JSON.parse(second.body) as { code: string }).code, 'quota_exceeded');
    } finally {
      upstream.setBehaviours([{ kind: 'answer', content: citingAnswer, delayMs: UPSTREAM_DELAY_MS }]);
    }
  });

  test('corpus: a document approved through the CLI on the same file is retrieved and cited by every worker', async () => {
    const key = await newKey('corpus');
    const file = join(dataDir, 'van-colour.md');
    writeFileSync(
      file,
      '---\nid: van-colour\ntitle: The delivery van\ncollection: help\nowner: ops@brightbean.example\nsource: https://brightbean.example/help/van\n---\n\nThe roastery delivery van is painted teal with a copper stripe.\n',
    );
    const out = capture();
    const errors = capture();
    assert.equal(await runCli(['corpus', 'ingest', file, '--collection', 'help', '--approve', '--json'], env, out.stream, errors.stream), 0, out.text() + errors.text());
    const served = new Map<number, unknown>();
    for (let attempt = 0; attempt < 4 && served.size < 2; attempt += 1) {
      const reply = await send(pool, '/v1/tasks/support.answer', ask(key, 'What colour is the delivery van?'));
      assert.equal(reply.status, 200, reply.body);
      served.set(reply.worker, (JSON.parse(reply.body) as { citations: Array<{ document_id: string }> }).citations.map((citation) => citation.document_id));
    }
    assert.equal(served.size, 2, 'both workers answered');
    for (const [worker, cited] of served) assert.deepEqual(cited, ['van-colour'], `worker ${worker} cites the new document`);
  });

  test('GET /metrics sums every worker\'s counters, whichever worker the scrape reaches', async () => {
    const admin = await newKey('metrics', 'admin');
    /** airlock_requests_total for lead.classify refused with 400, as one scrape reports it. */
    const refusedCount = async (): Promise<number> => {
      const scrape = await exchange(pool, '/metrics', { key: admin });
      assert.equal(scrape.status, 200, scrape.body);
      return [...scrape.body.matchAll(/^airlock_requests_total\{[^}]*task="lead\.classify"[^}]*status="400"[^}]*\} (\d+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
    };
    const before = await refusedCount();
    const key = await newKey('metrics-traffic');
    const workers = new Set<number>();
    for (let i = 0; i < 4; i += 1) workers.add((await send(pool, '/v1/tasks/lead.classify', { key, body: { not: 'an envelope' } })).worker);
    assert.equal(workers.size, 2, 'both workers served some of the requests');
    // Consecutive scrapes reach the two workers in turn; each must report all four.
    assert.deepEqual([await refusedCount(), await refusedCount()], [before + 4, before + 4]);
    // A gauge read from the shared store is reported once, not once per worker.
    const listed = await exchange(pool, '/admin/corpus/documents', { key: admin });
    const approved = (JSON.parse(listed.body) as { stats: { versionsByState: Record<string, number> } }).stats.versionsByState['approved'];
    const scraped = (await exchange(pool, '/metrics', { key: admin })).body;
    assert.equal(Number(/^airlock_corpus_versions\{state="approved"\} (\d+)$/m.exec(scraped)?.[1]), approved);
  });

  test('a worker killed with SIGKILL is replaced, and the pool serves on both workers again', async () => {
    const listening = (): Array<{ worker: number; pid: number }> =>
      logLines(pool).filter((line) => line['msg'] === 'worker listening').map((line) => ({ worker: line['worker'] as number, pid: line['pid'] as number }));
    const before = listening();
    const victim = before[0]!;
    process.kill(victim.pid, 'SIGKILL');
    const replacement = await logLine(pool, (line) => line['msg'] === 'worker listening' && !before.some((seen) => seen.worker === line['worker']), 'a replacement worker');
    assert.notEqual(replacement['pid'], victim.pid);
    assert.throws(() => process.kill(victim.pid, 0), /ESRCH/);
    const key = await newKey('replaced');
    const workers = new Set<number>();
    for (let i = 0; i < 4; i += 1) {
      const reply = await send(pool, '/v1/tasks/lead.classify', { key, body: { not: 'an envelope' } });
      assert.equal(reply.status, 400, reply.body);
      workers.add(reply.worker);
    }
    const survivor = before.find((seen) => seen.worker !== victim.worker)!.worker;
    assert.deepEqual([...workers].sort(), [survivor, replacement['worker'] as number].sort());
  });

  test('SIGTERM to the primary drains every worker: calls in flight on both finish with 200, then it exits 0', async () => {
    const [first, second] = [await newKey('drain-1'), await newKey('drain-2')];
    const calls = upstream.requests.length;
    const inFlight = [
      send(pool, '/v1/tasks/support.answer', ask(first, REFUND_QUESTION)),
      send(pool, '/v1/tasks/support.answer', ask(second, REFUND_QUESTION)),
    ];
    while (upstream.requests.length < calls + 2) await new Promise((resolve) => setTimeout(resolve, 20));
    const exited = once(pool.child, 'exit');
    pool.child.kill('SIGTERM');
    const replies = await Promise.all(inFlight);
    assert.deepEqual(replies.map((reply) => reply.status), [200, 200], replies.map((reply) => reply.body).join('\n'));
    assert.notEqual(replies[0]!.worker, replies[1]!.worker, 'one call in flight on each worker');
    const [code] = (await exited) as [number];
    assert.equal(code, 0, pool.output().slice(-3000));
    const drained = new Set(logLines(pool).filter((line) => line['msg'] === 'draining').map((line) => line['worker']));
    assert.deepEqual([...drained].sort(), replies.map((reply) => reply.worker).sort());
    assert.match(pool.output(), /"msg":"all workers stopped"/);
  });
});

test('airlock doctor names the process count and where the limits they share are kept', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'airlock-processes-'));
  try {
    const out = capture();
    await runCli(['doctor', '--json'], { AIRLOCK_DATA_DIR: dataDir, AIRLOCK_TASKS_DIR: join(ROOT, 'tasks'), AIRLOCK_PROCESSES: '2' }, out.stream, capture().stream);
    const checks = (JSON.parse(out.text()) as { checks: Array<{ check: string; ok: boolean; detail: string }> }).checks;
    assert.deepEqual(checks.find((check) => check.check === 'processes'), {
      check: 'processes',
      ok: true,
      detail: '2 worker processes (node:cluster) on one port; rate limits, token budgets and concurrency caps shared through the SQLite file',
    });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

describe('AIRLOCK_PROCESSES refused or failing at boot', () => {
  after(() => {
    killStarted();
  });

  test('on PostgreSQL without Redis, more than one process exits 1 before listening, naming AIRLOCK_PROCESSES and AIRLOCK_REDIS_URL', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'airlock-processes-'));
    try {
      const { child, output } = spawnMain({ PORT: '0', AIRLOCK_PROCESSES: '2', AIRLOCK_DATABASE_URL: 'postgres://airlock@127.0.0.1:1/airlock', AIRLOCK_DATA_DIR: dataDir });
      const [code] = (await once(child, 'exit')) as [number];
      assert.equal(code, 1);
      assert.match(output(), /AIRLOCK_PROCESSES: 2 processes on PostgreSQL need AIRLOCK_REDIS_URL/);
      assert.doesNotMatch(output(), /worker starting/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('a worker that cannot listen (port taken) stops the whole pool with exit 1 instead of being restarted forever', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const dataDir = mkdtempSync(join(tmpdir(), 'airlock-processes-'));
    try {
      const { port } = taken.address() as AddressInfo;
      const { child, output } = spawnMain({
        PORT: String(port),
        AIRLOCK_PROCESSES: '2',
        AIRLOCK_DATA_DIR: dataDir,
        AIRLOCK_TASKS_DIR: join(ROOT, 'tasks'),
        AIRLOCK_CORPUS_DIR: join(ROOT, 'test', 'fixtures', 'support-corpus'),
      });
      const [code] = (await once(child, 'exit')) as [number];
      assert.equal(code, 1, output().slice(-3000));
      assert.match(output(), new RegExp(`port ${port} is in use`));
      assert.match(output(), /"msg":"worker exited before it listened; the server cannot start"/);
      assert.equal((output().match(/"msg":"worker starting"/g) ?? []).length, 1, 'no worker was restarted');
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
