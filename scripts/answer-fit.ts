// Fitting the offline provider's answer model (src/model/extractive/answer-model.ts) on SQuAD v2, shared by
// `npm run fit:answers` (which writes the shipped model) and `npm run eval:answers` (which asks each article through the
// server with a model fitted without that article, so its figures are out of fold). Logistic regression by Newton's
// method with a light L2 penalty (the bias is not penalised).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { bestOf, FEATURE_NAMES, type AnswerModel } from '../src/model/extractive/answer-model.js';
import { DEFAULT_GROUNDED_ANSWER_OPTIONS, eligibleCandidates } from '../src/model/extractive/answer.js';
import type { Candidate } from '../src/model/extractive/support.js';
import type { RetrievedChunk, Retriever } from '../src/retrieval/types.js';
import { banking77, foldAnswer, type Squad } from './evaldata.js';

/** One SQuAD question with the chunks the bundled support task's retrieval returns for it. */
export interface Asked {
  readonly question: string;
  /** Gold answer texts; empty for an unanswerable question. */
  readonly golds: readonly string[];
  readonly article: number;
  readonly chunks: readonly RetrievedChunk[];
}

/** The bundled support task's retrieval: k 5, score floor 0.2. */
export const SUPPORT_RETRIEVAL = { k: 5, minScore: 0.2 } as const;

/** Every question of `squad` with its retrieved chunks (`cache`, when given, keeps them between runs). */
export async function retrieveAll(retriever: Retriever, squad: Squad, collection: string, cache?: string): Promise<Asked[]> {
  if (cache !== undefined && existsSync(cache)) return JSON.parse(readFileSync(cache, 'utf8')) as Asked[];
  const asked: Asked[] = [];
  for (const [article, { paragraphs }] of squad.data.entries()) {
    for (const { qas } of paragraphs) {
      for (const qa of qas) {
        const chunks = await retriever.search({ query: qa.question, collections: [collection], ...SUPPORT_RETRIEVAL });
        asked.push({ question: qa.question, golds: qa.is_impossible ? [] : qa.answers.map((answer) => answer.text), article, chunks });
      }
    }
  }
  if (cache !== undefined) writeFileSync(cache, JSON.stringify(asked));
  return asked;
}

/**
 * banking77's test questions asked of `collection` (off-topic for it), split by row: even rows are negatives for the fit,
 * odd rows are held out to measure how often an off-topic question is answered.
 */
export async function offTopicHalves(retriever: Retriever, collection: string): Promise<{ fit: Judged[]; heldOut: Judged[] }> {
  const asked: Asked[] = [];
  for (const question of banking77()) {
    asked.push({ question, golds: [], article: -1, chunks: await retriever.search({ query: question, collections: [collection], ...SUPPORT_RETRIEVAL }) });
  }
  const judged = judge(asked);
  return { fit: judged.filter((_, i) => i % 2 === 0), heldOut: judged.filter((_, i) => i % 2 === 1) };
}

/** A question's eligible candidates, each marked right when it holds a gold answer's text. */
export interface Judged {
  readonly asked: Asked;
  readonly candidates: readonly Candidate[];
  readonly right: readonly boolean[];
}

export const holdsGold = (text: string, golds: readonly string[]): boolean => golds.some((gold) => foldAnswer(text).includes(foldAnswer(gold)));

export const judge = (asked: readonly Asked[]): Judged[] =>
  asked.map((q) => {
    const candidates = eligibleCandidates(q.question, q.chunks, DEFAULT_GROUNDED_ANSWER_OPTIONS.minCoverage);
    return { asked: q, candidates, right: candidates.map((candidate) => holdsGold(candidate.text, q.golds)) };
  });

interface Sample {
  readonly x: readonly number[];
  readonly y: number;
}

/** Newton's method on the L2-regularised log-likelihood; x[0] is the bias input 1, which is not penalised. */
export function fitLogistic(samples: readonly Sample[], l2 = 1): number[] {
  const d = samples[0]?.x.length ?? 0;
  let w = new Array<number>(d).fill(0);
  for (let iteration = 0; iteration < 30; iteration += 1) {
    const gradient = new Array<number>(d).fill(0);
    const hessian = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    for (const { x, y } of samples) {
      const p = 1 / (1 + Math.exp(-x.reduce((sum, xi, i) => sum + xi * (w[i] ?? 0), 0)));
      for (let i = 0; i < d; i += 1) {
        gradient[i] = (gradient[i] ?? 0) + (x[i] ?? 0) * (y - p);
        const row = hessian[i] as number[];
        for (let j = 0; j <= i; j += 1) row[j] = (row[j] ?? 0) - (x[i] ?? 0) * (x[j] ?? 0) * p * (1 - p);
      }
    }
    for (let i = 0; i < d; i += 1) for (let j = i + 1; j < d; j += 1) (hessian[i] as number[])[j] = (hessian[j] as number[])[i] ?? 0;
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

/**
 * The candidate scorer fitted on every candidate of `judged` and of `offTopic` (right: it holds a gold answer; an off-topic
 * question's never does), then the calibration fitted on the candidate each SQuAD question would be answered with
 * (right: that answer is right; unanswerable: never right), so a confidence keeps its meaning on SQuAD.
 */
export function fitAnswerModel(judged: readonly Judged[], offTopic: readonly Judged[] = []): AnswerModel {
  const samples = [...judged, ...offTopic].flatMap((q) => q.candidates.map((candidate, i) => ({ x: [1, ...FEATURE_NAMES.map((name) => candidate.features[name])], y: q.right[i] ? 1 : 0 })));
  const w = fitLogistic(samples);
  const candidate = Object.fromEntries([['bias', w[0] ?? 0], ...FEATURE_NAMES.map((name, i) => [name, w[i + 1] ?? 0])]) as AnswerModel['candidate'];
  const chosen = judged.flatMap((q) => {
    const best = bestOf(q.candidates, candidate);
    return best === undefined ? [] : [{ x: [1, best.score, best.lead], y: q.right[q.candidates.indexOf(best.candidate)] ? 1 : 0 }];
  });
  const [bias = 0, score = 1, lead = 0] = fitLogistic(chosen, 0);
  return { candidate, calibration: { bias, score, lead } };
}

/** For each article, the model fitted on every other article (and the off-topic questions). */
export function leaveArticleOut(judged: readonly Judged[], offTopic: readonly Judged[] = []): Map<number, AnswerModel> {
  const articles = [...new Set(judged.map((q) => q.asked.article))];
  return new Map(articles.map((article) => [article, fitAnswerModel(judged.filter((q) => q.asked.article !== article), offTopic)]));
}
