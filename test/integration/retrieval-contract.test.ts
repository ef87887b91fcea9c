// Issue 17 item 2: the same corpus and queries give the same ranked chunk ids and scores on SQLite, PostgreSQL and
// PostgreSQL + Redis, each opened the way a serving process opens it (openRuntime); and the retrieval contract
// (test/helpers/retrieval-contract.ts) on PostgreSQL with and without Redis.
import { after, describe, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { openRuntime } from '../../src/runtime.js';
import type { Corpus } from '../../src/corpus/corpus.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { assertSameRankings, rankings, retrievalContract, seedRankingCorpus, type RankedHit } from '../helpers/retrieval-contract.js';
import { BUNDLED_TASKS, freshSecretBox } from '../helpers/context.js';
import { createTestDatabase, openTestPostgresCorpus, requireEngines } from '../helpers/engines.js';

const engines = requireEngines();

for (const name of ['PostgreSQL', 'PostgreSQL + Redis']) {
  retrievalContract({
    name,
    async open() {
      const database = await createTestDatabase(engines.databaseUrl);
      const secretBox = freshSecretBox();
      const handles: Array<{ corpus: Corpus; close: () => Promise<void> }> = [];
      return {
        // Each handle has its own pool and LISTEN connection, as a second Airlock process would.
        async openCorpus() {
          const store = await openPostgresStore({ url: database.url, poolSize: 3, secretBox });
          const corpus = await openTestPostgresCorpus(store.pool, database.url);
          handles.push({ corpus, close: () => store.close() });
          return corpus;
        },
        async close() {
          for (const handle of handles) {
            await handle.corpus.close();
            await handle.close();
          }
          await database.drop();
        },
      };
    },
  });
}

describe('issue 17 item 2: one ranking on every backend', () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  /** The rankings of the seeded corpus through a runtime opened on `env`, as a serving process opens it. */
  async function rankingsOn(env: Record<string, string>): Promise<RankedHit[][]> {
    const dataDir = mkdtempSync(join(tmpdir(), 'airlock-ranking-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const runtime = await openRuntime(loadConfig({ AIRLOCK_DATA_DIR: dataDir, AIRLOCK_TASKS_DIR: BUNDLED_TASKS, ...env }));
    try {
      await runtime.corpus.catchUp();
      await seedRankingCorpus(runtime.corpus, 'same');
      return await rankings(runtime.corpus, 'same');
    } finally {
      await runtime.close();
    }
  }

  async function freshDatabaseUrl(): Promise<string> {
    const database = await createTestDatabase(engines.databaseUrl);
    cleanups.push(() => database.drop());
    return database.url;
  }

  test('issue 17 item 2: the same corpus and queries, when searched on SQLite, PostgreSQL and PostgreSQL + Redis, then give the same ranked chunk ids and scores', async () => {
    const sqlite = await rankingsOn({});
    const postgres = await rankingsOn({ AIRLOCK_DATABASE_URL: await freshDatabaseUrl() });
    const withRedis = await rankingsOn({ AIRLOCK_DATABASE_URL: await freshDatabaseUrl(), AIRLOCK_REDIS_URL: engines.redisUrl });
    assertSameRankings(postgres, sqlite, 'PostgreSQL vs SQLite');
    assertSameRankings(withRedis, sqlite, 'PostgreSQL + Redis vs SQLite');
  });
});
