// The engine follower's catch-up protocol on a real PostgreSQL: a notification that arrives while a catch-up is already
// running must lead to another catch-up, or the engine stays behind (and /readyz says "catching up") until some later
// approval happens to notify it. Two replicas bootstrapping the corpus at once hit exactly this.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/index.js';
import { CORPUS_CHANNEL } from '../../src/store/postgres/corpus-notify.js';
import type { Corpus } from '../../src/corpus/corpus.js';
import { createTestDatabase, openTestPostgresCorpus, requireEngines, type TestDatabase } from '../helpers/engines.js';
import { freshSecretBox } from '../helpers/context.js';

const engines = requireEngines();

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the corpus engine follower', () => {
  let database: TestDatabase;
  let store: PostgresStore;
  let replica: Corpus;
  let locker: pg.Client;

  before(async () => {
    database = await createTestDatabase(engines.databaseUrl);
    store = await openPostgresStore({ url: database.url, poolSize: 2, secretBox: freshSecretBox() });
    replica = await openTestPostgresCorpus(store.pool, database.url);
    await replica.catchUp();
    locker = new pg.Client({ connectionString: database.url });
    await locker.connect();
  });

  after(async () => {
    await locker?.end().catch(() => undefined);
    await replica?.close();
    await store?.close();
    await database?.drop();
  });

  /** Commits a generation the way a corpus writer does (bump, record its event, notify) and returns its number. */
  async function commitGeneration(): Promise<number> {
    const { rows } = await store.pool.query<{ generation: number }>(
      `WITH bumped AS (UPDATE corpus_generation SET generation = generation + 1 RETURNING generation)
       INSERT INTO corpus_changes (generation, kind, document_id, version) SELECT generation, 'publish', 'absent', 1 FROM bumped
       RETURNING generation`,
    );
    const generation = Number(rows[0]!.generation);
    await store.pool.query('SELECT pg_notify($1, $2)', [CORPUS_CHANNEL, String(generation)]);
    return generation;
  }

  test('corpus, when a generation is notified while a catch-up is running, then the engine catches up to it by deltas without being queried', async () => {
    assert.equal(replica.indexStatus().indexedGeneration, 0);
    // Holding the chunks table makes the next catch-up block inside its delta query, after it read its target.
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE corpus_chunks IN ACCESS EXCLUSIVE MODE');
    const first = await commitGeneration();
    await waitFor('the catch-up to block on the lock', async () => {
      const { rows } = await locker.query<{ waiting: number }>("SELECT count(*)::int AS waiting FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE NOT l.granted AND d.datname = current_database()");
      return rows[0]!.waiting > 0;
    });
    const second = await commitGeneration();
    await waitFor('the second notification', () => replica.indexStatus().knownGeneration === second);
    await locker.query('COMMIT');

    await waitFor('the replica to reach the last generation', () => replica.indexStatus().indexedGeneration >= second).catch(() => undefined);
    assert.ok(second > first);
    assert.deepEqual(replica.indexStatus(), { indexedGeneration: second, knownGeneration: second, fullBuilds: 1, deltaGenerations: 2 });
  });
});
