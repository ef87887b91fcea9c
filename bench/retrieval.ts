// Retrieval benchmark on synthetic topical text: ingest throughput, hybrid search latency through the corpus (the engine
// the gateway uses, at the k the tasks use) and its lexical half alone, KNN latency and recall@10 against exact KNN, RSS.
// Ends with one JSON line.
//   npm run bench:retrieval [-- CHUNKS]      (K=10 for the old k; MIN_CANDIDATES, PROBE_MASS, POSTING_FLOOR tune the index)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHashingEmbedder } from '../src/retrieval/embedders/hashing.js';
import { createVectorIndex } from '../src/retrieval/vector-index.js';
import { openSqliteCorpus } from '../src/corpus/open.js';
import { CORPUS_MIGRATIONS } from '../src/store/sqlite/corpus.js';
import { openDatabase } from '../src/store/sqlite/db.js';

const CHUNKS = Number(process.argv[2] ?? 100_000);
const QUERIES = 200;
// support.answer and lead.classify retrieve 5 chunks.
const K = Number(process.env['K'] ?? 5);
const CHUNKS_PER_DOC = 10;

// Deterministic PRNG (mulberry32) so runs are comparable.
let seed = 42;
const random = (): number => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const syllables = ['ka', 'lo', 'mi', 'ren', 'tas', 'vor', 'bel', 'cu', 'dan', 'es', 'fi', 'gor', 'hu', 'ix', 'jo', 'pra'];
const vocabulary = Array.from({ length: 6000 }, () => Array.from({ length: 2 + Math.floor(random() * 2) }, () => pick(syllables)).join(''));
// Topics share a common pool and own a private slice, like real collections of help articles.
const topics = Array.from({ length: 300 }, () => Array.from({ length: 40 }, () => pick(vocabulary)));
const sentence = (topic: readonly string[]): string =>
  `${Array.from({ length: 28 }, () => (random() < 0.6 ? pick(topic) : pick(vocabulary))).join(' ')}.`;

const percentile = (values: number[], p: number): number => [...values].sort((a, b) => a - b)[Math.floor(values.length * p)] ?? 0;

const dir = mkdtempSync(join(tmpdir(), 'airlock-bench-'));
const db = openDatabase({ path: join(dir, 'bench.db'), migrations: CORPUS_MIGRATIONS });
const embedder = createHashingEmbedder();
const corpus = openSqliteCorpus(db, {
  embedder,
  clock: () => new Date(),
  newId: () => 'unused',
  chunking: { maxChars: 260, overlapSentences: 0 },
});

const documents = Array.from({ length: Math.ceil(CHUNKS / CHUNKS_PER_DOC) }, (_, i) => ({ id: `doc-${i}`, collection: i % 2 === 0 ? 'help' : 'pricing' }));
// Each document's text is drawn as it is ingested (the same draws in the same order as drawing them all first) and not
// kept: the ~20 MB of input text is the benchmark's, not the serving state whose RSS it reports.
const documentText = (): string => {
  const topic = pick(topics);
  return Array.from({ length: CHUNKS_PER_DOC }, () => sentence(topic)).join('\n\n');
};

// A serving process: its engine is built (empty) before the ingest, so every approval reaches it as a delta.
await corpus.catchUp();
let started = performance.now();
for (const document of documents) {
  await corpus.ingestDocument({
    id: document.id,
    collection: document.collection,
    source: 'bench',
    owner: 'bench',
    title: document.id,
    content: documentText(),
    contentType: 'text',
    actor: 'bench',
    approve: true,
  });
}
const ingestSeconds = (performance.now() - started) / 1000;
const stats = await corpus.stats();

const queryTexts = Array.from({ length: QUERIES }, () => sentence(pick(topics)).split(' ').slice(0, 8).join(' '));
// The full hybrid search the gateway runs (embed + generation check + KNN + BM25 postings + evidence + fusion).
const request = (query: string) => ({ query, collections: ['help'], k: K, minScore: 0 });
started = performance.now();
await corpus.retriever.search(request(queryTexts[0] ?? ''));
const firstSearchMs = performance.now() - started;
const searchTimes: number[] = [];
for (const query of queryTexts) {
  started = performance.now();
  await corpus.retriever.search(request(query));
  searchTimes.push(performance.now() - started);
}
// The lexical half alone, through the same path (embed + generation check + BM25 postings top + evidence, no KNN).
const lexicalRetriever = corpus.retrieverFor('lexical');
const lexicalTimes: number[] = [];
for (const query of queryTexts) {
  started = performance.now();
  await lexicalRetriever.search(request(query));
  lexicalTimes.push(performance.now() - started);
}
// RSS of the serving state, before the benchmark builds anything of its own: after a full collection when the script runs
// with --expose-gc (npm run bench:retrieval does), so the ingest's garbage is not counted as serving memory.
(globalThis as { gc?: () => void }).gc?.();
const servingRss = process.memoryUsage().rss;

// The index alone, over the same vectors, against exact brute-force KNN computed in one streaming pass.
const queryVectors = await embedder.embed(queryTexts);
const indexOption = (env: string, key: 'minCandidates' | 'probeMass' | 'postingFloor') => (process.env[env] === undefined ? {} : { [key]: Number(process.env[env]) });
const index = createVectorIndex(embedder.dimension, { ...indexOption('MIN_CANDIDATES', 'minCandidates'), ...indexOption('PROBE_MASS', 'probeMass'), ...indexOption('POSTING_FLOOR', 'postingFloor') });
const exact = queryVectors.map(() => [] as { rowid: number; similarity: number }[]);
let rowid = 0;
for (const document of documents) {
  if (document.collection !== 'help') continue;
  for (const chunk of await corpus.getChunks(document.id, 1)) {
    const [vector] = await embedder.embed([chunk.text]);
    if (!vector) continue;
    index.add(rowid, 'help', vector);
    queryVectors.forEach((query, q) => {
      const best = exact[q] ?? [];
      let similarity = 0;
      for (let i = 0; i < vector.length; i += 1) similarity += (vector[i] ?? 0) * (query[i] ?? 0);
      if (best.length < 10 || similarity > (best[9]?.similarity ?? -2)) {
        best.push({ rowid, similarity });
        best.sort((a, b) => b.similarity - a.similarity);
        best.length = Math.min(best.length, 10);
      }
    });
    rowid += 1;
  }
}
index.search(queryVectors[0] ?? new Float32Array(embedder.dimension), ['help'], 10);
let recallSum = 0;
const knnTimes: number[] = [];
queryVectors.forEach((query, q) => {
  started = performance.now();
  const approx = index.search(query, ['help'], 10);
  knnTimes.push(performance.now() - started);
  const found = new Set(approx.map((h) => h.rowid));
  recallSum += (exact[q] ?? []).filter((h) => found.has(h.rowid)).length / 10;
});

console.log(`chunks indexed            ${stats.approvedChunks} (${stats.documents} documents, 2 collections)`);
console.log(`ingest (embed+scan+store+approve)  ${(stats.chunks / ingestSeconds).toFixed(0)} chunks/s`);
console.log(`KNN index p50 / p95       ${percentile(knnTimes, 0.5).toFixed(2)} / ${percentile(knnTimes, 0.95).toFixed(2)} ms  (one collection = half the chunks)`);
console.log(`KNN recall@10 vs exact    ${(recallSum / QUERIES).toFixed(3)}`);
console.log(`hybrid search p50 / p95   ${percentile(searchTimes, 0.5).toFixed(2)} / ${percentile(searchTimes, 0.95).toFixed(2)} ms  (k = ${K}; embed + KNN + BM25 postings + evidence + fusion; first search ${firstSearchMs.toFixed(0)} ms)`);
console.log(`lexical-only search p50     ${percentile(lexicalTimes, 0.5).toFixed(2)} ms  (embed + BM25 postings top + evidence, no KNN)`);
console.log(`RSS serving               ${(servingRss / 1e6).toFixed(0)} MB (after ingest and searches, before the benchmark-only index copy)`);
console.log(
  JSON.stringify({
    chunks: stats.approvedChunks,
    k: K,
    hybrid_p50_ms: Number(percentile(searchTimes, 0.5).toFixed(3)),
    hybrid_p95_ms: Number(percentile(searchTimes, 0.95).toFixed(3)),
    lexical_p50_ms: Number(percentile(lexicalTimes, 0.5).toFixed(3)),
    knn_p50_ms: Number(percentile(knnTimes, 0.5).toFixed(3)),
    knn_recall_at_10: Number((recallSum / QUERIES).toFixed(3)),
    rss_mb: Math.round(servingRss / 1e6),
    ingest_chunks_per_s: Math.round(stats.chunks / ingestSeconds),
  }),
);
db.close();
rmSync(dir, { recursive: true, force: true });
