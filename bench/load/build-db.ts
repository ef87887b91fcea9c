// Builds the load benchmark's Airlock database once: a synthetic approved corpus of N chunks in two collections,
// ingested through the real governed path (embed, scan, store, approve), plus one signed API key for support.answer.
// Usage: node --import tsx bench/load/build-db.ts <dir> <chunks>   → writes <dir>/airlock.db and <dir>/bench-key.json
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { CORPUS_MIGRATIONS } from '../../src/store/sqlite/corpus-schema.js';
import { openSqliteCorpus } from '../../src/corpus/open.js';
import { createHashingEmbedder } from '../../src/retrieval/embedders/hashing.js';
import { createKeyAdmin } from '../../src/admin/keys.js';
import { openSecretBox } from '../../src/runtime.js';
import { loadConfig } from '../../src/config.js';
import { createSyntheticText } from './synthetic.js';

export const CHUNKS_PER_DOCUMENT = 10;
/** Three ~185-character sentences per chunk (~560 characters): one paragraph is one chunk at this size. */
const CHUNKING = { maxChars: 700, overlapSentences: 0 };
const SENTENCES_PER_CHUNK = 3;

export interface BenchKey {
  readonly keyId: string;
  readonly key: string;
  readonly signingSecret: string;
}

export interface BuildResult {
  readonly seconds: number;
  readonly documents: number;
  readonly approvedChunks: number;
  readonly bytes: number;
}

export async function buildDatabase(dir: string, chunks: number): Promise<BuildResult> {
  mkdirSync(dir, { recursive: true });
  const started = performance.now();
  const store = openSqliteStore({ path: join(dir, 'airlock.db'), extraMigrations: CORPUS_MIGRATIONS, secretBox: openSecretBox(loadConfig({ AIRLOCK_DATA_DIR: dir })) });
  const clock = (): Date => new Date();
  const corpus = openSqliteCorpus(store.db, { embedder: createHashingEmbedder(), clock, newId: randomUUID, chunking: CHUNKING });
  const text = createSyntheticText();
  const documents = Math.ceil(chunks / CHUNKS_PER_DOCUMENT);
  for (let i = 0; i < documents; i += 1) {
    const topic = i % text.topics;
    const content = Array.from({ length: CHUNKS_PER_DOCUMENT }, () => text.paragraph(topic, SENTENCES_PER_CHUNK)).join('\n\n');
    const ingested = await corpus.ingestDocument({
      id: `doc-${i}`,
      collection: i % 2 === 0 ? 'help' : 'pricing',
      source: 'bench',
      owner: 'bench',
      title: `Article ${i}`,
      content,
      contentType: 'text',
      actor: 'bench',
      approve: true,
    });
    // Word salad opening with a verb ("Examine devices …") reads to the ingest scan as a task for the reader; the
    // benchmark wants every chunk searchable, so the admin override approves those few versions too.
    if (ingested.version.state === 'quarantined') await corpus.approve(ingested.document.id, ingested.version.version, 'bench');
  }
  const keys = createKeyAdmin({ keys: store.keys, environment: 'development', clock, random: randomBytes });
  const created = await keys.create({ name: 'load-bench', scopes: ['tasks:support.answer'], require_signature: true });
  if (created.signing_secret === undefined) throw new Error('key was created without a signing secret');
  const key: BenchKey = { keyId: created.id, key: created.key, signingSecret: created.signing_secret };
  writeFileSync(join(dir, 'bench-key.json'), JSON.stringify(key));
  const stats = await corpus.stats();
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  const bytes = (store.db.prepare('PRAGMA page_count').pluck().get() as number) * (store.db.prepare('PRAGMA page_size').pluck().get() as number);
  await store.close();
  return { seconds: (performance.now() - started) / 1000, documents: stats.documents, approvedChunks: stats.approvedChunks, bytes };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, chunks] = process.argv.slice(2);
  if (dir === undefined) throw new Error('usage: build-db.ts <dir> <chunks>');
  const result = await buildDatabase(dir, Number(chunks ?? 100_000));
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
