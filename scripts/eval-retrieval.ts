// Retrieval quality on SQuAD v2 (part a): each paragraph is a document, each answerable question a query; prints R@1/5/10 and MRR.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CHUNKING } from '../src/retrieval/chunking.js';
import { createHashingEmbedder } from '../src/retrieval/embedders/hashing.js';
import { CORPUS_MIGRATIONS, createSqliteCorpus, type SearchMode } from '../src/store/sqlite/corpus.js';
import { openDatabase } from '../src/store/sqlite/db.js';

const EVALDATA = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'evaldata');
const file = process.argv[2] ?? join(EVALDATA, 'squad-v2', 'dev-v2.0-part-a.json');

interface Squad {
  data: { title: string; paragraphs: { context: string; qas: { question: string; is_impossible: boolean }[] }[] }[];
}
const squad = JSON.parse(readFileSync(file, 'utf8')) as Squad;

const db = openDatabase({ path: ':memory:', migrations: CORPUS_MIGRATIONS });
const corpus = createSqliteCorpus(db, {
  embedder: createHashingEmbedder(),
  clock: () => new Date(),
  newId: () => 'unused',
  chunking: DEFAULT_CHUNKING,
});

const queries: { question: string; gold: string }[] = [];
let quarantined = 0;
for (const [a, article] of squad.data.entries()) {
  for (const [p, paragraph] of article.paragraphs.entries()) {
    const id = `p${a}-${p}`;
    const result = await corpus.ingestDocument({
      id,
      collection: 'squad',
      source: `squad:${article.title}`,
      owner: 'eval',
      title: article.title.replaceAll('_', ' '),
      content: paragraph.context,
      contentType: 'text',
      actor: 'eval',
      approve: true,
    });
    // A quarantined paragraph is a scanner false positive; approve it so recall measures retrieval alone.
    if (result.version.state === 'quarantined') {
      quarantined += 1;
      corpus.approve(id, result.version.version, 'eval');
    }
    for (const qa of paragraph.qas) if (!qa.is_impossible) queries.push({ question: qa.question, gold: id });
  }
}

console.log(`${corpus.stats().documents} documents, ${corpus.stats().chunks} chunks, ${queries.length} queries, ${quarantined} quarantined by the scan`);
console.log('mode      R@1    R@5    R@10   MRR@10  p50 ms');
for (const mode of ['dense', 'lexical', 'hybrid'] as SearchMode[]) {
  const retriever = corpus.retrieverFor(mode);
  const hitsAt = { 1: 0, 5: 0, 10: 0 };
  let reciprocal = 0;
  const timings: number[] = [];
  for (const query of queries) {
    const started = performance.now();
    const hits = await retriever.search({ query: query.question, collections: ['squad'], k: 30, minScore: 0 });
    timings.push(performance.now() - started);
    const ranked = [...new Set(hits.map((h) => h.documentId))].slice(0, 10);
    const rank = ranked.indexOf(query.gold) + 1;
    if (rank === 0) continue;
    reciprocal += 1 / rank;
    for (const cutoff of [1, 5, 10] as const) if (rank <= cutoff) hitsAt[cutoff] += 1;
  }
  timings.sort((x, y) => x - y);
  const n = queries.length;
  console.log(
    `${mode.padEnd(9)} ${(hitsAt[1] / n).toFixed(3)}  ${(hitsAt[5] / n).toFixed(3)}  ${(hitsAt[10] / n).toFixed(3)}  ${(reciprocal / n).toFixed(3)}   ${(timings[Math.floor(n / 2)] ?? 0).toFixed(2)}`,
  );
}
db.close();
