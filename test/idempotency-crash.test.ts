// Crash recovery across processes (IDEM-5, IDEM-8): a server killed with SIGKILL mid-request leaves an in-flight
// claim in the shared SQLite file; a new process refuses it while it is fresh, reclaims it once it is abandoned,
// and the retry completes exactly once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { dataDirSecretBox, envelope } from './helpers/context.js';
import { startMockUpstream, type MockUpstream } from './helpers/mock-upstream.js';
import { spawnChildServer, type ChildServer } from './helpers/child-server.js';
import { citeFirstChunk, waitFor } from './helpers/boundary.js';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite/index.js';
import { CORPUS_MIGRATIONS } from '../src/store/sqlite/corpus-schema.js';
import { createKeyAdmin } from '../src/admin/keys.js';

describe('a server process killed mid-request', () => {
  let dir: string;
  let upstream: MockUpstream;
  let store: SqliteStore;
  const children: ChildServer[] = [];
  let key: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-crash-'));
    upstream = await startMockUpstream([{ kind: 'hang' }]);
    store = openSqliteStore({ path: join(dir, 'airlock.db'), extraMigrations: CORPUS_MIGRATIONS, secretBox: dataDirSecretBox(dir) });
    const admin = createKeyAdmin({ keys: store.keys, environment: 'development', clock: () => new Date(), random: randomBytes });
    key = (await admin.create({ name: 'crash-test', scopes: ['tasks:*'] })).key;
  });
  after(async () => {
    // Children die even when an assertion failed half-way.
    await Promise.all(children.map((child) => child.kill('SIGKILL')));
    await store.close();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const body = JSON.stringify(envelope({ question: 'How many business days until my refund is paid?' }, { event_id: 'evt_crash_1' }));
  const send = (child: ChildServer) =>
    fetch(`${child.url}/v1/tasks/support.answer`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': 'crash-1' },
      body,
    });

  test('the retry on a new process (IDEM-8), when the first died holding the claim, then is refused while fresh, reclaimed once abandoned, and completes once', async () => {
    const first = await spawnChildServer({ dir, upstreamBaseURL: upstream.baseURL });
    children.push(first);
    const doomed = send(first).then(
      () => 'answered',
      () => 'connection lost',
    );
    await waitFor(() => upstream.requests.length === 1, 'the first process to reach the upstream');
    await first.kill('SIGKILL');
    assert.equal(await doomed, 'connection lost');
    assert.deepEqual(store.db.prepare('SELECT state FROM idempotency_records').pluck().all(), ['in_flight'], 'the dead process left its claim');

    upstream.setBehaviours([{ kind: 'answer', content: citeFirstChunk }]);
    const second = await spawnChildServer({ dir, upstreamBaseURL: upstream.baseURL });
    children.push(second);

    const fresh = await send(second);
    assert.equal(fresh.status, 409);
    assert.equal(((await fresh.json()) as { code: string }).code, 'idempotency_request_in_progress');
    assert.equal(fresh.headers.get('retry-after'), '1');
    assert.equal(upstream.requests.length, 1, 'a fresh claim is never executed twice');

    // The child's request deadline is 30 s, so a claim older than 60 s is abandoned.
    await fetch(`${second.url}/__test/clock`, { method: 'POST', body: JSON.stringify({ advance_ms: 61_000 }) });
    const retried = await send(second);
    assert.equal(retried.status, 200, await retried.clone().text());
    assert.equal(retried.headers.get('idempotent-replayed'), null);
    const answer = (await retried.json()) as { request_id: string; event_id: string };
    assert.equal(upstream.requests.length, 2);

    const again = await send(second);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(((await again.json()) as { request_id: string }).request_id, answer.request_id);
    assert.equal(upstream.requests.length, 2);

    const records = store.db.prepare('SELECT state, response FROM idempotency_records').all() as Array<{ state: string; response: string }>;
    assert.equal(records.length, 1, 'one record for the key, no duplicate stored response');
    assert.equal(records[0]!.state, 'completed');
    assert.equal((JSON.parse(records[0]!.response) as { body: { request_id: string } }).body.request_id, answer.request_id);
    const runs = store.db.prepare("SELECT status, request_id FROM audit_log WHERE action = 'task.run' AND event_id = 'evt_crash_1'").all();
    assert.deepEqual(runs, [{ status: 200, request_id: answer.request_id }], 'one successful audit row for the event');
  });
});
