// The grounded-answer entry point of the offline provider (issue 16): the sentence of the retrieved approved chunks
// that best supports the question, with a calibrated confidence, or an abstention when no sentence supports it well
// enough. The answer is always a sentence of an approved chunk, never composed text.
import type { RetrievedChunk } from '../../retrieval/types.js';
import { confidenceOf } from './confidence.js';
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
  /** Calibrated confidence below which the provider abstains rather than answer (a task's policy may raise it). */
  readonly answerThreshold: number;
}

export const DEFAULT_GROUNDED_ANSWER_OPTIONS: GroundedAnswerOptions = { minCoverage: 0.3, answerThreshold: 0.25 };

const ABSTAINED: GroundedAnswer = { answer: '', citations: [], confidence: 0, abstained: true };
const MAX_ANSWER_CHARS = 4000;
const round2 = (value: number): number => Math.round(value * 100) / 100;

export function answerFromChunks(question: string, chunks: readonly RetrievedChunk[], options: GroundedAnswerOptions = DEFAULT_GROUNDED_ANSWER_OPTIONS): GroundedAnswer {
  let best: { text: string; chunkId: string; confidence: number } | undefined;
  for (const candidate of candidatesFor(question, chunks)) {
    if (candidate.features.sentenceCoverage < options.minCoverage) continue;
    const confidence = confidenceOf(candidate.features);
    if (best === undefined || confidence > best.confidence) best = { text: candidate.text, chunkId: candidate.chunk.chunkId, confidence };
  }
  if (best === undefined || best.confidence < options.answerThreshold) return ABSTAINED;
  return { answer: best.text.slice(0, MAX_ANSWER_CHARS), citations: [best.chunkId], confidence: round2(best.confidence), abstained: false };
}
