// Recall of the dense index's shortlist on the local embedder's vectors of real text (issue 17 item 3), beside the
// synthetic set of bench:retrieval. The real collections are small enough that the index scores them exactly by
// default, so the approximate path is forced here: the shortlist is `limit` slots, from k = 10 up.
//   node --import tsx bench/dense-recall.ts
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { chunkText, DEFAULT_CHUNKING } from '../src/retrieval/chunking.js';
import { createHashingEmbedder } from '../src/retrieval/embedders/hashing.js';
import { createVectorIndex } from '../src/retrieval/vector-index.js';
import { banking77, readSquad, REPO_ROOT, SQUAD_PART_A } from '../scripts/evaldata.js';

const K = 10;
const LIMITS = [20, 50, 100, 200];
const embedder = createHashingEmbedder();
const squad = readSquad(SQUAD_PART_A);
const paragraphs = squad.data.flatMap((article) => article.paragraphs.map((paragraph) => paragraph.context));
const questions = squad.data.flatMap((article) => article.paragraphs.flatMap((paragraph) => paragraph.qas.map((qa) => qa.question)));
const corpusDir = join(REPO_ROOT, 'corpus');
const corpusFiles = readdirSync(corpusDir).flatMap((collection) => readdirSync(join(corpusDir, collection)).map((file) => readFileSync(join(corpusDir, collection, file), 'utf8')));
const chunks = (texts: readonly string[], maxChars: number): string[] =>
  texts.flatMap((text) => chunkText(text, { ...DEFAULT_CHUNKING, maxChars }).map((chunk) => chunk.text));

const sets: { name: string; chunks: string[]; queries: string[] }[] = [
  { name: 'SQuAD part a, 1000-char chunks (eval:retrieval), its questions', chunks: chunks(paragraphs, 1000), queries: questions },
  { name: 'SQuAD part a, 260-char chunks (as bench:retrieval), its questions', chunks: chunks(paragraphs, 260), queries: questions },
  { name: 'bundled corpus/, 260-char chunks, banking77 texts', chunks: chunks(corpusFiles, 260), queries: banking77() },
  {
    name: 'all of it pooled (SQuAD 260, corpus/, banking77 as chunks), SQuAD questions',
    chunks: [...chunks(paragraphs, 260), ...chunks(corpusFiles, 260), ...banking77()],
    queries: questions,
  },
];

for (const set of sets) {
  const vectors = await embedder.embed(set.chunks);
  const queries = await embedder.embed(set.queries);
  const exact = queries.map((query) => {
    const dims = [...query.keys()].filter((d) => query[d] !== 0);
    return vectors
      .map((vector, rowid) => ({ rowid, similarity: dims.reduce((sum, d) => sum + (vector[d] ?? 0) * (query[d] ?? 0), 0) }))
      .sort((a, b) => b.similarity - a.similarity)
      .slice(0, K);
  });
  const figures = LIMITS.map((limit) => {
    // minCandidates below k and oversample 1: the shortlist is exactly `limit` slots (the bucket's ties aside).
    const index = createVectorIndex(embedder.dimension, { minCandidates: limit, oversample: 1 });
    vectors.forEach((vector, rowid) => index.add(rowid, 'set', vector));
    let found = 0;
    queries.forEach((query, q) => {
      const hits = new Set(index.search(query, ['set'], K).map((hit) => hit.rowid));
      found += (exact[q] ?? []).filter((hit) => hits.has(hit.rowid)).length;
    });
    return `shortlist ${limit}: ${(found / (queries.length * K)).toFixed(3)}`;
  });
  console.log(`${set.name}: ${vectors.length} chunks, ${queries.length} queries; recall@${K} vs exact — ${figures.join(', ')}`);
}
