// The built-in offline provider: deterministic, no network. It fills one output shape, the grounded answer
// ({answer, citations, confidence, abstained}): the sentence of the retrieved approved chunks that supports the question
// (the task's retrieval query), cited, with a calibrated confidence, or an abstention (src/model/extractive/). It
// refuses any task whose output schema does not accept that shape rather than invent fields. Its text goes through the
// same JSON parse and schema validation as a real model's.
import type { ModelClient, ModelTask } from './types.js';
import { answerFromChunks, DEFAULT_GROUNDED_ANSWER_OPTIONS, type GroundedAnswer, type GroundedAnswerOptions } from './extractive/answer.js';

/**
 * The grounded-answer options: candidate coverage floor and the calibrated answer threshold (src/model/extractive/answer.ts);
 * a task's own answer_threshold (task.json) overrides the threshold for its calls.
 */
export type OfflineModelOptions = GroundedAnswerOptions;

const approxTokens = (text: string): number => Math.ceil(text.length / 4);

// Two answers the schema must accept, one answered and one abstained, for the provider to take the task.
const SAMPLE_ANSWERS: readonly GroundedAnswer[] = [
  { answer: 'An answer taken from the approved corpus.', citations: ['chunk-1'], confidence: 0.5, abstained: false },
  { answer: '', citations: [], confidence: 0, abstained: true },
];

/** Why the offline provider cannot fill `task`, or undefined when it can. */
export function offlineRefusal(task: ModelTask): string | undefined {
  if (!task.retrieves) return 'it answers only from retrieved chunks, and the task has no retrieval';
  if (!SAMPLE_ANSWERS.every((sample) => task.acceptsOutput(sample))) {
    return 'its only output is a grounded answer {answer, citations, confidence, abstained}, which the output schema does not accept';
  }
  return undefined;
}

export function createOfflineModel(options: OfflineModelOptions = DEFAULT_GROUNDED_ANSWER_OPTIONS): ModelClient {
  return {
    provider: 'offline',
    modelName: 'airlock-extractive-1',
    refuses: offlineRefusal,
    async complete(request) {
      const threshold = request.answerThreshold ?? options.answerThreshold;
      const text = JSON.stringify(answerFromChunks(request.query, request.chunks, { ...options, answerThreshold: threshold }));
      const promptTokens = approxTokens(request.system) + approxTokens(request.user);
      const completionTokens = approxTokens(text);
      return { text, usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens } };
    },
  };
}
