// The learned answer scorer (issue 16 items 1 and 2): a logistic model over a candidate's evidence gives the log-odds that
// the sentence holds the answer and picks the best candidate; a second logistic model over the chosen candidate's
// log-odds and its lead over the runner-up turns it into a calibrated probability that the answer given is right. Both
// are fitted on the public SQuAD v2 part a by `npm run fit:answers` (scripts/fit-answer-model.ts), which writes
// answer-model.generated.ts and reports its figures out of fold (each article scored by a model fitted without it).
import type { Candidate, Features } from './support.js';

export const FEATURE_NAMES = [
  'sentenceCoverage',
  'chunkCoverage',
  'retrievedCoverage',
  'retrievalScore',
  'topChunk',
  'margin',
  'questionTerms',
  'sentenceWords',
  'typeAsked',
  'typedSpan',
  'spanNearTerms',
  'missingKeys',
  'missingRare',
  'negationMismatch',
  'newTerms',
  'lead',
] as const satisfies readonly (keyof Features)[];

export type FeatureName = (typeof FEATURE_NAMES)[number];

export interface AnswerModel {
  /** Weights of the candidate scorer: log-odds that a candidate sentence holds the answer. */
  readonly candidate: Readonly<Record<FeatureName | 'bias', number>>;
  /** Weights of the calibration: probability that the chosen candidate is right. */
  readonly calibration: { readonly bias: number; readonly score: number; readonly lead: number };
}

/** The log-odds that a candidate holds the answer. */
export const scoreOf = (features: Features, weights: AnswerModel['candidate']): number =>
  FEATURE_NAMES.reduce((sum, name) => sum + weights[name] * features[name], weights.bias);

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** How far the best score leads the runner-up's, capped: a lone candidate leads by the cap. */
export const MAX_LEAD = 4;

/** The inputs of the calibration for a question's candidates: the best candidate, its score and its lead. */
export function bestOf(candidates: readonly Candidate[], weights: AnswerModel['candidate']): { candidate: Candidate; score: number; lead: number } | undefined {
  let best: { candidate: Candidate; score: number } | undefined;
  let second = Number.NEGATIVE_INFINITY;
  for (const candidate of candidates) {
    const score = scoreOf(candidate.features, weights);
    if (best === undefined || score > best.score) {
      if (best !== undefined) second = best.score;
      best = { candidate, score };
    } else if (score > second) second = score;
  }
  return best === undefined ? undefined : { ...best, lead: Math.min(MAX_LEAD, best.score - second) };
}

/** The best candidate and the calibrated probability that it is right, or undefined without candidates. */
export function chooseAnswer(candidates: readonly Candidate[], model: AnswerModel): { candidate: Candidate; confidence: number } | undefined {
  const best = bestOf(candidates, model.candidate);
  if (best === undefined) return undefined;
  const { bias, score, lead } = model.calibration;
  return { candidate: best.candidate, confidence: sigmoid(bias + score * best.score + lead * best.lead) };
}
