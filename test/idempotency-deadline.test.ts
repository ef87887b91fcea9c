// B3, one key, two executions: real server processes (test/helpers/child-server-main.ts) against the real mock upstream
// over HTTP. The upstream answers 429 with a long Retry-After, which the SDK honours however long it is. One deadline
// must bound the whole call (LLM10-6), and a claim taken over as abandoned must never complete a second time (IDEM-5,
// IDEM-8): exactly one execution's result is stored, and every caller sees it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { envelope } from './helpers/context.js';
import { startMockUpstream, type MockUpstream } from './helpers/mock-upstream.js';
import { spawnChildServer, type ChildServer } from './helpers/child-server.js';
import { citeFirstChunk, waitFor } from './helpers/boundary.js';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite/index.js';
import { CORPUS_MIGRATIONS } from '../src/store/sqlite/corpus-schema.js';
import { createKeyAdmin } from '../src/admin/keys.js';
import { freshSecretBox } from './helpers/context.js';

describe('one idempotency key under a long upstream Retry-After (B3)', () => {
  let dir: string;
  let upstream: MockUpstream;
  let store: SqliteStore;
  const children: ChildServer[] = [];
  let key: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-b3-'));
    upstream = await startMockUpstream();
    store = openSqliteStore({ path: join(dir, 'airlock.db'), extraMigrations: CORPUS_MIGRATIONS, secretBox: freshSecretBox() });
    const admin = createKeyAdmin({ keys: store.keys, environment: 'development', clock: () => new Date(), random: randomBytes });
    key = (await admin.create({ name: 'b3-test', scopes: ['tasks:*'] })).key;
  });
  after(async () => {
    await Promise.all(children.map((child) => child.kill('SIGKILL')));
    await store.close();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (extra: Record<string, string>): Promise<ChildServer> => {
    const child = await spawnChildServer({ dir, upstreamBaseURL: upstream.baseURL, extra });
    children.push(child);
    return child;
  };
  const send = (child: ChildServer, idempotencyKey: string, body: string) =>
    fetch(`${child.url}/v1/tasks/support.answer`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body,
    });

  test('LLM10-6 IDEM-7 B3: the whole upstream call, when the upstream answers 429 with Retry-After: 20, then ends at its 1.5 s deadline with a retryable 504 and frees the key for the retry', async () => {
    const child = await start({ AIRLOCK_CHILD_MAX_RETRIES: '2', AIRLOCK_CHILD_DEADLINE_MS: '1500' });
    upstream.setBehaviours([{ kind: 'status', status: 429, headers: { 'retry-after': '20' } }]);
    const body = JSON.stringify(envelope({ question: 'How many business days until my refund is paid?' }, { event_id: 'evt_b3_deadline' }));
    const started = performance.now();
    const cut = await send(child, 'b3-deadline', body);
    const seconds = (performance.now() - started) / 1000;
    const problem = (await cut.json()) as { code: string; retryable: boolean };
    assert.ok(seconds < 8, `the call ended after ${seconds.toFixed(1)} s, not at its deadline`);
    assert.equal(cut.status, 504, JSON.stringify(problem));
    assert.equal(problem.code, 'upstream_timeout');
    assert.equal(problem.retryable, true);
    assert.equal(upstream.requests.length, 1, 'no attempt after the deadline');

    upstream.setBehaviours([{ kind: 'answer', content: citeFirstChunk }]);
    const retried = await send(child, 'b3-deadline', body);
    assert.equal(retried.status, 200, await retried.clone().text());
    assert.equal(retried.headers.get('idempotent-replayed'), null, 'the timed-out call stored nothing; the retry executed');
  });

  test('IDEM-5 IDEM-8 B3: a duplicate after the stale-claim window, when the original is still waiting out a 429 Retry-After, then exactly one result is stored and both callers get that same response', async () => {
    const child = await start({ AIRLOCK_CHILD_MAX_RETRIES: '1', AIRLOCK_CHILD_DEADLINE_MS: '15000' });
    const before = upstream.requests.length;
    upstream.setBehaviours([{ kind: 'status', status: 429, headers: { 'retry-after': '3' } }, { kind: 'answer', content: citeFirstChunk }]);
    const body = JSON.stringify(envelope({ question: 'How many business days until my refund is paid?' }, { event_id: 'evt_b3_fence' }));
    const original = send(child, 'b3-fence', body);
    await waitFor(() => upstream.requests.length === before + 1, 'the original to get its 429');
    // The child's request deadline is 30 s, so its claim is abandoned after 60 s on its clock: the duplicate takes it over.
    await fetch(`${child.url}/__test/clock`, { method: 'POST', body: JSON.stringify({ advance_ms: 61_000 }) });
    const duplicate = await send(child, 'b3-fence', body);
    const duplicateText = await duplicate.text();
    assert.equal(duplicate.status, 200, duplicateText);
    assert.equal(duplicate.headers.get('idempotent-replayed'), null);

    const first = await original;
    const firstText = await first.text();
    assert.equal(upstream.requests.length - before, 3, 'both executions reached the model');
    assert.equal(first.status, 200, firstText);
    assert.equal(firstText, duplicateText, 'the original answers with the stored response, not a second one');
    assert.equal(first.headers.get('idempotent-replayed'), 'true');

    const requestId = (JSON.parse(duplicateText) as { request_id: string }).request_id;
    const records = store.db.prepare("SELECT state, response FROM idempotency_records WHERE scope LIKE '%b3-fence%'").all() as Array<{ state: string; response: string }>;
    assert.equal(records.length, 1);
    assert.equal(records[0]!.state, 'completed');
    assert.equal((JSON.parse(records[0]!.response) as { body: { request_id: string } }).body.request_id, requestId);
    const runs = store.db.prepare("SELECT request_id, detail FROM audit_log WHERE action = 'task.run' AND event_id = 'evt_b3_fence' ORDER BY seq").all() as Array<{ request_id: string; detail: string }>;
    assert.equal(runs.length, 2, 'both executions are audited');
    assert.equal(runs[0]!.request_id, requestId);
    assert.equal((JSON.parse(runs[1]!.detail) as { idempotency_claim?: string }).idempotency_claim, 'lost', 'the losing completion is detected, not dropped');
  });
});
