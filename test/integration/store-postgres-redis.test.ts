// The storage contract against PostgreSQL with Redis in front (AIRLOCK_REDIS_URL): the replay cache and the
// idempotency locks live in Redis, and the observable behaviour must not change.
import { randomUUID } from 'node:crypto';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { openPostgresCorpus } from '../../src/store/postgres/corpus.js';
import { openRedis, withRedis } from '../../src/store/redis/index.js';
import type { CorpusStore } from '../../src/store/corpus.js';
import { createHashingEmbedder } from '../../src/retrieval/embedders/hashing.js';
import { DEFAULT_CHUNKING } from '../../src/retrieval/chunking.js';
import { storeContract } from '../helpers/store-contract.js';
import { createTestDatabase, requireEngines } from '../helpers/engines.js';

const engines = requireEngines();

storeContract({
  name: 'PostgreSQL + Redis',
  notifies: true,
  async open() {
    const database = await createTestDatabase(engines.databaseUrl);
    const store = withRedis(await openPostgresStore({ url: database.url }), openRedis(engines.redisUrl));
    const handles: Array<{ corpus: CorpusStore; close: () => Promise<void> }> = [];
    return {
      store,
      async openCorpus() {
        const other = await openPostgresStore({ url: database.url, poolSize: 4 });
        const corpus = await openPostgresCorpus({
          pool: other.pool,
          listenUrl: database.url,
          embedder: createHashingEmbedder(),
          clock: () => new Date(),
          newId: randomUUID,
          chunking: DEFAULT_CHUNKING,
        });
        handles.push({ corpus, close: () => other.close() });
        return corpus;
      },
      async close() {
        for (const handle of handles) await handle.close();
        await store.close();
        await database.drop();
      },
    };
  },
});
