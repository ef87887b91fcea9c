// The storage contract (test/helpers/store-contract.ts) against the embedded SQLite store, on a real file.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import type { Store } from '../src/store/types.js';
import { freshSecretBox } from './helpers/context.js';
import { openDatabase, type SqliteDatabase } from '../src/store/sqlite/db.js';
import { CORPUS_MIGRATIONS } from '../src/store/sqlite/corpus.js';
import { openSqliteCorpus } from '../src/corpus/open.js';
import { createHashingEmbedder } from '../src/retrieval/embedders/hashing.js';
import { DEFAULT_CHUNKING } from '../src/retrieval/chunking.js';
import { storeContract } from './helpers/store-contract.js';

storeContract({
  name: 'SQLite',
  notifies: false,
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-contract-'));
    const path = join(dir, 'airlock.db');
    const store = openSqliteStore({ path, extraMigrations: CORPUS_MIGRATIONS, secretBox: freshSecretBox() });
    const connections: SqliteDatabase[] = [];
    const others: Store[] = [];
    return {
      store,
      // Each corpus handle gets its own connection to the file, as the CLI or a second process would.
      async openCorpus() {
        const db = openDatabase({ path, migrations: CORPUS_MIGRATIONS });
        connections.push(db);
        return openSqliteCorpus(db, { embedder: createHashingEmbedder(), clock: () => new Date(), newId: randomUUID, chunking: DEFAULT_CHUNKING });
      },
      async openWithSecretBox(secretBox) {
        const other = openSqliteStore({ path, extraMigrations: CORPUS_MIGRATIONS, secretBox });
        others.push(other);
        return other;
      },
      // The database file and its WAL: whatever a copy of the data dir would give away.
      async rawKeyRows() {
        return [path, `${path}-wal`].filter(existsSync).map((file) => readFileSync(file).toString('latin1')).join('');
      },
      async close() {
        for (const other of others) await other.close();
        for (const db of connections) db.close();
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});
