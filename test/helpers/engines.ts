// The real engines for the integration suite: AIRLOCK_TEST_DATABASE_URL and AIRLOCK_TEST_REDIS_URL are required (the
// suite fails without them, it never skips), and every test run gets a database of its own, dropped afterwards.
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Corpus } from '../../src/corpus/corpus.js';
import { openPostgresCorpus } from '../../src/corpus/open.js';
import { DEFAULT_CHUNKING } from '../../src/retrieval/chunking.js';
import { createHashingEmbedder } from '../../src/retrieval/embedders/hashing.js';

export interface Engines {
  readonly databaseUrl: string;
  readonly redisUrl: string;
}

export function requireEngines(): Engines {
  const databaseUrl = process.env['AIRLOCK_TEST_DATABASE_URL'];
  const redisUrl = process.env['AIRLOCK_TEST_REDIS_URL'];
  if (!databaseUrl || !redisUrl) {
    throw new Error(
      'npm run test:integration needs AIRLOCK_TEST_DATABASE_URL (postgres://…) and AIRLOCK_TEST_REDIS_URL (redis://…); ' +
        'bash scripts/with-engines.sh npm run test:integration starts throwaway ones',
    );
  }
  return { databaseUrl, redisUrl };
}

export interface TestDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/** A fresh, empty database on the test server; NOTIFY channels are per database, so tests cannot hear each other. */
export async function createTestDatabase(serverUrl: string): Promise<TestDatabase> {
  const name = `airlock_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A corpus handle on `pool` with the local embedder, hearing other handles' commits on its own LISTEN connection. */
export async function openTestPostgresCorpus(pool: pg.Pool, listenUrl: string): Promise<Corpus> {
  return openPostgresCorpus({ pool, listenUrl, embedder: createHashingEmbedder(), clock: () => new Date(), newId: randomUUID, chunking: DEFAULT_CHUNKING });
}
