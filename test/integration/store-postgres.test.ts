// The storage contract (test/helpers/store-contract.ts) against PostgreSQL, alone and with Redis in front
// (AIRLOCK_REDIS_URL: replay cache and idempotency locks in Redis): the same behaviour as the embedded store, plus
// the replica catching up from NOTIFY.
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { openRedis, withRedis } from '../../src/store/redis/index.js';
import type { Corpus } from '../../src/corpus/corpus.js';
import type { Store } from '../../src/store/types.js';
import { storeContract } from '../helpers/store-contract.js';
import { createTestDatabase, openTestPostgresCorpus, requireEngines } from '../helpers/engines.js';
import { freshSecretBox } from '../helpers/context.js';

const engines = requireEngines();

function postgresContract<S extends Store & { close(): Promise<void> }>(name: string, wrap: (store: Awaited<ReturnType<typeof openPostgresStore>>) => S, replayIdsInDatabase = true): void {
  storeContract({
    name,
    notifies: true,
    replayIdsInDatabase,
    async open() {
      const database = await createTestDatabase(engines.databaseUrl);
      const secretBox = freshSecretBox();
      const raw = await openPostgresStore({ url: database.url, secretBox });
      const store = wrap(raw);
      const others: Store[] = [];
      const handles: Array<{ corpus: Corpus; close: () => Promise<void> }> = [];
      return {
        store,
        // Each corpus handle has its own pool and LISTEN connection, as a second Airlock process would.
        async openCorpus() {
          const other = await openPostgresStore({ url: database.url, poolSize: 4, secretBox });
          const corpus = await openTestPostgresCorpus(other.pool, database.url);
          handles.push({ corpus, close: () => other.close() });
          return corpus;
        },
        async openWithSecretBox(otherBox) {
          const other = await openPostgresStore({ url: database.url, poolSize: 2, secretBox: otherBox });
          others.push(other);
          return other;
        },
        async rawKeyRows() {
          return JSON.stringify((await raw.pool.query('SELECT * FROM api_keys')).rows);
        },
        async close() {
          for (const other of others) await other.close();
          for (const handle of handles) await handle.close();
          await store.close();
          await database.drop();
        },
      };
    },
  });
}

postgresContract('PostgreSQL', (store) => store);
postgresContract('PostgreSQL + Redis', (store) => withRedis(store, openRedis(engines.redisUrl)), false);
