// The retrieval contract (test/helpers/retrieval-contract.ts) on the embedded SQLite file, each handle on its own
// connection as another process would have; and a change the real CLI process makes on the file reaching a serving
// runtime as a delta (issue 17 item 1: never a full synchronous reload).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { openSqliteCorpus } from '../src/corpus/open.js';
import { loadConfig } from '../src/config.js';
import { openRuntime, type Runtime } from '../src/runtime.js';
import { DEFAULT_CHUNKING } from '../src/retrieval/chunking.js';
import { createHashingEmbedder } from '../src/retrieval/embedders/hashing.js';
import { CORPUS_MIGRATIONS } from '../src/store/sqlite/corpus.js';
import { openDatabase, type SqliteDatabase } from '../src/store/sqlite/db.js';
import { BUNDLED_TASKS } from './helpers/context.js';
import { retrievalContract } from './helpers/retrieval-contract.js';

const ROOT = join(import.meta.dirname, '..');

retrievalContract({
  name: 'SQLite',
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-retrieval-'));
    const path = join(dir, 'airlock.db');
    const connections: SqliteDatabase[] = [];
    return {
      async openCorpus() {
        const db = openDatabase({ path, migrations: CORPUS_MIGRATIONS });
        connections.push(db);
        return openSqliteCorpus(db, { embedder: createHashingEmbedder(), clock: () => new Date(), newId: randomUUID, chunking: DEFAULT_CHUNKING });
      },
      async close() {
        for (const db of connections) db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});

/** `airlock …` as its own process (through tsx) on the same data dir. */
function airlock(args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'test', 'helpers', 'airlock-bin.ts'), ...args], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

describe('issue 17 item 1: the SQLite file changed by another process', () => {
  let dir: string;
  let env: Record<string, string>;
  let runtime: Runtime;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-retrieval-cli-'));
    env = { AIRLOCK_DATA_DIR: dir, AIRLOCK_TASKS_DIR: BUNDLED_TASKS };
    runtime = await openRuntime(loadConfig(env));
  });
  after(async () => {
    await runtime.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('issue 17 item 1: a document the CLI ingests and approves, and then retires, reaches the serving engine as deltas, with no full reload', async () => {
    const { corpus } = runtime;
    await corpus.catchUp();
    const search = () => corpus.retriever.search({ query: 'cardamom cold brew ratio', collections: ['help'], k: 5, minScore: 0 });
    assert.deepEqual(await search(), []);
    const docs = mkdtempSync(join(tmpdir(), 'airlock-retrieval-docs-'));
    writeFileSync(join(docs, 'cardamom.md'), '# Cardamom cold brew\n\nCardamom cold brew uses a ratio of one part coffee to eight parts water.\n');
    try {
      const ingest = await airlock(['corpus', 'ingest', docs, '--collection', 'help', '--approve'], env);
      assert.equal(ingest.code, 0, ingest.stderr);
      const hits = await search();
      assert.equal(hits[0]?.documentId, 'cardamom');
      const retire = await airlock(['corpus', 'retire', 'cardamom'], env);
      assert.equal(retire.code, 0, retire.stderr);
      assert.deepEqual(await search(), []);
      const status = corpus.indexStatus();
      assert.equal(status.fullBuilds, 1, 'the start-up build only: the CLI\'s changes were applied as deltas');
      assert.equal(status.deltaGenerations, 2);
      assert.equal(status.indexedGeneration, (await corpus.stats()).generation);
    } finally {
      rmSync(docs, { recursive: true, force: true });
    }
  });
});
