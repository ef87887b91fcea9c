// Calibrated confidence (issue 16 item 2): a logistic model over a candidate's evidence, fitted on the public SQuAD v2
// part a by `npm run fit:answers` (scripts/fit-answer-confidence.ts prints these weights and checks them on the article
// half it did not fit). Among answers with confidence >= x, about a share x is right (the calibration table in
// BENCHMARKS.md, from `npm run eval:answers`).
import type { Features } from './support.js';

export const FEATURE_NAMES = [
  'sentenceCoverage',
  'chunkCoverage',
  'retrievedCoverage',
  'retrievalScore',
  'topChunk',
  'typedSpan',
  'margin',
  'questionTerms',
  'sentenceWords',
] as const satisfies readonly (keyof Features)[];

export type Weights = Readonly<Record<(typeof FEATURE_NAMES)[number] | 'bias', number>>;

export const FITTED_WEIGHTS: Weights = {
  bias: -5.154,
  sentenceCoverage: 2.495,
  chunkCoverage: -1.189,
  retrievedCoverage: 0.507,
  retrievalScore: 1.248,
  topChunk: 1.022,
  typedSpan: 0.244,
  margin: 1.54,
  questionTerms: 0.627,
  sentenceWords: -0.007,
};

/** The probability that an answer with these features is right. */
export function confidenceOf(features: Features, weights: Weights = FITTED_WEIGHTS): number {
  const z = FEATURE_NAMES.reduce((sum, name) => sum + weights[name] * features[name], weights.bias);
  return 1 / (1 + Math.exp(-z));
}
