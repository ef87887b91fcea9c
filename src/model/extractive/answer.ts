// The grounded-answer entry point of the offline provider (issue 16): the sentence of the retrieved approved chunks
// that best supports the question, with a calibrated confidence, or an abstention when no sentence supports it well
// enough. The answer is always a sentence of an approved chunk, never composed text.
import type { RetrievedChunk } from '../../retrieval/types.js';
import { chooseAnswer, type AnswerModel } from './answer-model.js';
import { FITTED_ANSWER_MODEL } from './answer-model.generated.js';
import { candidatesFor } from './support.js';

export interface GroundedAnswer {
  readonly answer: string;
  readonly citations: readonly string[];
  readonly confidence: number;
  readonly abstained: boolean;
}

export interface GroundedAnswerOptions {
  /** Weighted share of the question's terms a sentence must cover to be a candidate at all. */
  readonly minCoverage: number;
  /** Calibrated confidence below which the provider abstains rather than answer (a task's policy may set it). */
  readonly answerThreshold: number;
  /** The fitted scorer; the evaluation swaps in models fitted without the article it asks about. */
  readonly model?: AnswerModel;
}

export const DEFAULT_GROUNDED_ANSWER_OPTIONS: GroundedAnswerOptions = { minCoverage: 0.3, answerThreshold: 0.22 };

const ABSTAINED: GroundedAnswer = { answer: '', citations: [], confidence: 0, abstained: true };
const MAX_ANSWER_CHARS = 4000;
const round2 = (value: number): number => Math.round(value * 100) / 100;

/** The candidates an answer is chosen from: sentences covering at least `minCoverage` of the question. */
export const eligibleCandidates = (question: string, chunks: readonly RetrievedChunk[], minCoverage: number) =>
  candidatesFor(question, chunks).filter((candidate) => candidate.features.sentenceCoverage >= minCoverage);

export function answerFromChunks(question: string, chunks: readonly RetrievedChunk[], options: GroundedAnswerOptions = DEFAULT_GROUNDED_ANSWER_OPTIONS): GroundedAnswer {
  const best = chooseAnswer(eligibleCandidates(question, chunks, options.minCoverage), options.model ?? FITTED_ANSWER_MODEL);
  if (best === undefined || best.confidence < options.answerThreshold) return ABSTAINED;
  return { answer: best.candidate.text.slice(0, MAX_ANSWER_CHARS), citations: [best.candidate.chunk.chunkId], confidence: round2(best.confidence), abstained: false };
}
