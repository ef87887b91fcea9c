// Fits the offline provider's answer confidence (src/model/extractive/confidence.ts) on SQuAD v2 part a: every retrieved
// candidate sentence of every question is a sample, right when the question is answerable and the sentence holds a gold
// answer. Logistic regression (Newton's method, light L2). It fits on each article half and checks on the other, then on
// all articles, and prints the weights to paste into confidence.ts.
// Usage: npm run fit:answers [-- SQUAD_FILE]; RETRIEVAL_CACHE=FILE keeps the retrieved chunks between runs.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { DEFAULT_CHUNKING } from '../src/retrieval/chunking.js';
import { createHashingEmbedder } from '../src/retrieval/embedders/hashing.js';
import type { RetrievedChunk } from '../src/retrieval/types.js';
import { openSqliteCorpus } from '../src/corpus/open.js';
import { CORPUS_MIGRATIONS } from '../src/store/sqlite/corpus.js';
import { openDatabase } from '../src/store/sqlite/db.js';
import { DEFAULT_GROUNDED_ANSWER_OPTIONS } from '../src/model/extractive/answer.js';
import { confidenceOf, FEATURE_NAMES, type Weights } from '../src/model/extractive/confidence.js';
import { candidatesFor } from '../src/model/extractive/support.js';
import { foldAnswer, ingestSquad, readSquad, SQUAD_PART_A, type Squad } from './evaldata.js';

const file = process.argv[2] ?? SQUAD_PART_A;
const cache = process.env['RETRIEVAL_CACHE'];
// The bundled support task's retrieval: k 5, score floor 0.2.
const K = 5;
const MIN_SCORE = 0.2;

interface Asked {
  readonly question: string;
  readonly golds: readonly string[];
  readonly article: number;
  readonly chunks: readonly RetrievedChunk[];
}

async function retrieveAll(squad: Squad): Promise<Asked[]> {
  if (cache !== undefined && existsSync(cache)) return JSON.parse(readFileSync(cache, 'utf8')) as Asked[];
  const db = openDatabase({ path: ':memory:', migrations: CORPUS_MIGRATIONS });
  const corpus = openSqliteCorpus(db, { embedder: createHashingEmbedder(), clock: () => new Date(), newId: () => 'unused', chunking: DEFAULT_CHUNKING });
  await ingestSquad(corpus, squad, 'help');
  const asked: Asked[] = [];
  for (const [a, article] of squad.data.entries()) {
    for (const paragraph of article.paragraphs) {
      for (const qa of paragraph.qas) {
        const chunks = await corpus.retriever.search({ query: qa.question, collections: ['help'], k: K, minScore: MIN_SCORE });
        asked.push({ question: qa.question, golds: qa.is_impossible ? [] : qa.answers.map((answer) => answer.text), article: a, chunks });
      }
    }
  }
  db.close();
  if (cache !== undefined) writeFileSync(cache, JSON.stringify(asked));
  return asked;
}

interface Sample {
  readonly question: number;
  readonly x: readonly number[];
  readonly y: number;
}

function samplesOf(asked: readonly Asked[]): Sample[] {
  return asked.flatMap((q, question) =>
    candidatesFor(q.question, q.chunks)
      .filter((candidate) => candidate.features.sentenceCoverage >= DEFAULT_GROUNDED_ANSWER_OPTIONS.minCoverage)
      .map((candidate) => ({
        question,
        x: [1, ...FEATURE_NAMES.map((name) => candidate.features[name])],
        y: q.golds.some((gold) => foldAnswer(candidate.text).includes(foldAnswer(gold))) ? 1 : 0,
      })),
  );
}

/** Newton's method on the L2-regularised log-likelihood; the bias is not regularised. */
function fitLogistic(samples: readonly Sample[], l2 = 1): number[] {
  const d = FEATURE_NAMES.length + 1;
  let w = new Array<number>(d).fill(0);
  for (let iteration = 0; iteration < 25; iteration += 1) {
    const gradient = new Array<number>(d).fill(0);
    const hessian = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    for (const { x, y } of samples) {
      const p = 1 / (1 + Math.exp(-x.reduce((sum, xi, i) => sum + xi * (w[i] ?? 0), 0)));
      for (let i = 0; i < d; i += 1) {
        gradient[i] = (gradient[i] ?? 0) + ((x[i] ?? 0) * (y - p));
        for (let j = 0; j < d; j += 1) (hessian[i] as number[])[j] = ((hessian[i] as number[])[j] ?? 0) - (x[i] ?? 0) * (x[j] ?? 0) * p * (1 - p);
      }
    }
    for (let i = 1; i < d; i += 1) {
      gradient[i] = (gradient[i] ?? 0) - l2 * (w[i] ?? 0);
      (hessian[i] as number[])[i] = ((hessian[i] as number[])[i] ?? 0) - l2;
    }
    const step = solve(hessian, gradient);
    w = w.map((wi, i) => wi - (step[i] ?? 0));
  }
  return w;
}

/** Gaussian elimination with partial pivoting: a is d×d, returns x with a·x = b. */
function solve(a: readonly (readonly number[])[], b: readonly number[]): number[] {
  const m = a.map((row, i) => [...row, b[i] ?? 0]);
  const n = m.length;
  for (let col = 0; col < n; col += 1) {
    let pivot = col;
    for (let row = col + 1; row < n; row += 1) if (Math.abs(m[row]?.[col] ?? 0) > Math.abs(m[pivot]?.[col] ?? 0)) pivot = row;
    [m[col], m[pivot]] = [m[pivot] as number[], m[col] as number[]];
    const p = m[col] as number[];
    for (let row = col + 1; row < n; row += 1) {
      const r = m[row] as number[];
      const factor = (r[col] ?? 0) / (p[col] ?? 1);
      for (let k = col; k <= n; k += 1) r[k] = (r[k] ?? 0) - factor * (p[k] ?? 0);
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let row = n - 1; row >= 0; row -= 1) {
    const r = m[row] as number[];
    let sum = r[n] ?? 0;
    for (let k = row + 1; k < n; k += 1) sum -= (r[k] ?? 0) * (x[k] ?? 0);
    x[row] = sum / (r[row] ?? 1);
  }
  return x;
}

const toWeights = (w: readonly number[]): Weights =>
  Object.fromEntries([['bias', w[0] ?? 0], ...FEATURE_NAMES.map((name, i) => [name, w[i + 1] ?? 0])]) as Weights;

/** What the provider would answer with these weights: per question the most confident candidate. */
function report(label: string, asked: readonly Asked[], weights: Weights): void {
  const chosen = asked.map((q) => {
    let best: { confidence: number; right: boolean } | undefined;
    for (const candidate of candidatesFor(q.question, q.chunks)) {
      if (candidate.features.sentenceCoverage < DEFAULT_GROUNDED_ANSWER_OPTIONS.minCoverage) continue;
      const confidence = confidenceOf(candidate.features, weights);
      if (best === undefined || confidence > best.confidence) {
        best = { confidence, right: q.golds.some((gold) => foldAnswer(candidate.text).includes(foldAnswer(gold))) };
      }
    }
    return { answerable: q.golds.length > 0, confidence: best?.confidence ?? 0, right: best?.right ?? false };
  });
  const answerable = chosen.filter((c) => c.answerable).length;
  console.log(`\n${label}: ${asked.length} questions, ${answerable} answerable`);
  console.log('threshold  answerable right  precision  answered  | calibration bin  n     right');
  for (let t = 0; t < 1; t = Math.round((t + 0.1) * 10) / 10) {
    const given = chosen.filter((c) => c.confidence >= t && c.confidence > 0);
    const right = given.filter((c) => c.right).length;
    const bin = chosen.filter((c) => c.confidence >= t && c.confidence < t + 0.1 && c.confidence > 0);
    const f = (x: number, n: number): string => (n === 0 ? '   -  ' : `${((100 * x) / n).toFixed(1).padStart(5)}%`);
    console.log(
      `>= ${t.toFixed(1)}     ${f(right, answerable)}            ${f(right, given.length)}     ${String(given.length).padEnd(8)}  | ${t.toFixed(1)}-${(t + 0.1).toFixed(1)}          ${String(bin.length).padEnd(5)} ${f(bin.filter((c) => c.right).length, bin.length)}`,
    );
  }
}

const squad = readSquad(file);
const asked = await retrieveAll(squad);
const halves = [asked.filter((q) => q.article % 2 === 0), asked.filter((q) => q.article % 2 === 1)] as const;
for (const [i, half] of halves.entries()) {
  const other = halves[1 - i] as Asked[];
  report(`fitted on half ${'AB'[i]}, checked on half ${'AB'[1 - i]}`, other, toWeights(fitLogistic(samplesOf(half))));
}
const weights = toWeights(fitLogistic(samplesOf(asked)));
report('fitted and checked on all of part a', asked, weights);
console.log('\nweights for src/model/extractive/confidence.ts:');
console.log(Object.entries(weights).map(([name, value]) => `  ${name}: ${value.toFixed(3)},`).join('\n'));
