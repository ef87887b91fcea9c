// The built-in offline provider: deterministic, no network. It fills one output shape, the grounded answer
// ({answer, citations, confidence, abstained}): sentences extracted from the retrieved approved chunks, cited, or an
// abstention when they do not cover the question (the task's retrieval query). It refuses any task whose output
// schema does not accept that shape rather than invent fields. Its text goes through the same JSON parse and schema
// validation as a real model's.
import type { ModelClient, ModelTask } from './types.js';
import type { RetrievedChunk } from '../retrieval/types.js';

/** The one output shape the offline provider can fill truthfully. */
export interface GroundedAnswer {
  readonly answer: string;
  readonly citations: readonly string[];
  readonly confidence: number;
  readonly abstained: boolean;
}

export interface OfflineModelOptions {
  /** Share of the question's weighted terms the best sentence must cover before we answer instead of abstaining. */
  readonly minCoverage: number;
}

const STOPWORDS = new Set(
  ('a an and are as at be been but by can could do does did for from had has have how i if in into is it its may me my no not of on or ' +
    'our so than that the their them then there these they this to was we were what when where which who why will with would you your ' +
    'yours about after again all am any because before being both each few more most other over own same should some such too under until up ' +
    'very just also get got want need please tell know already still ever really actually anyone someone something').split(' '),
);

/** Lower-cased content words with a light suffix strip, so "refunds" meets "refund" and "shipping" meets "ship". */
export function contentTerms(text: string): string[] {
  const words = text.toLowerCase().normalize('NFKC').match(/[\p{L}\p{N}]+/gu) ?? [];
  return words.filter((word) => !STOPWORDS.has(word) && (word.length > 1 || /\d/.test(word))).map(stem);
}

function stem(word: string): string {
  if (word.length <= 4) return word;
  for (const suffix of ['ing', 'ed', 'es', 's']) {
    if (word.endsWith(suffix) && word.length - suffix.length >= 3) return word.slice(0, -suffix.length);
  }
  return word;
}

interface Sentence {
  readonly chunk: RetrievedChunk;
  readonly position: number;
  readonly text: string;
  readonly terms: ReadonlySet<string>;
}

const TABLE_SEPARATOR_ROW = /^[\s|:-]*$/;

/**
 * A markdown table as self-contained sentences: each data row is read with its column headers
 * ("Germany — Carrier: DHL; Shipping cost: €6.90"), so one row can answer a question on its own.
 * Works whether or not the chunk kept its line breaks.
 */
function tableSentences(text: string): string[] {
  const start = text.indexOf('|');
  const prose = text.slice(0, start).trim();
  const rows = text
    .slice(start)
    .split(/\|\s*\n?\s*\|/u)
    .map((row) => row.replace(/^\s*\||\|\s*$/g, '').trim())
    .filter((row) => row.length > 0);
  const cells = (row: string): string[] => row.split('|').map((cell) => cell.trim());
  const [header, ...body] = rows;
  const headers = header === undefined ? [] : cells(header);
  const rendered = body
    .filter((row) => !TABLE_SEPARATOR_ROW.test(row))
    .map((row) => {
      const values = cells(row);
      const [first, ...rest] = values;
      return `${first ?? ''} — ${rest.map((value, i) => `${headers[i + 1] ?? ''}: ${value}`).join('; ')}`;
    });
  return [...(prose.length > 0 ? [prose] : []), ...rendered];
}

/** Splits chunk text into answerable sentences, with markdown markers removed. */
function sentencesOf(chunk: RetrievedChunk): Sentence[] {
  const pieces = chunk.text
    // Sentence ends, line breaks (outside tables) and list bullets that lost their line break in normalisation.
    .split(/\n(?!\s*\|)|(?<=[.!?])\s+(?=[A-Z0-9"'(#])|\s+[-*]\s+(?=[A-Z0-9"'€*])/u)
    .flatMap((piece) => ((piece.match(/\|/g)?.length ?? 0) >= 3 ? tableSentences(piece) : [piece]))
    .flatMap((piece) => piece.split(/\s(?=#{1,6}\s)/u))
    .map((piece) =>
      piece
        .replace(/^\s*#{1,6}\s+/u, '')
        .replace(/^\s*(?:[-*+]|\d+\.)\s+/u, '')
        .replace(/[*_`]/g, '')
        .trim(),
    )
    // Headings and fragments are labels, not answers.
    .filter((piece) => piece.split(/\s+/u).length >= 4);
  return pieces.map((text, position) => ({ chunk, position, text, terms: new Set(contentTerms(text)) }));
}

function scoreSentences(questionTerms: readonly string[], sentences: readonly Sentence[]): Array<{ sentence: Sentence; coverage: number }> {
  const unique = [...new Set(questionTerms)];
  // Rare terms carry the question ("refund" matters more than "order" in a shop's help centre).
  const weight = new Map(
    unique.map((term) => {
      const df = sentences.filter((sentence) => sentence.terms.has(term)).length;
      return [term, 1 + Math.log((sentences.length + 1) / (df + 1))];
    }),
  );
  const total = unique.reduce((sum, term) => sum + (weight.get(term) ?? 0), 0);
  if (total === 0) return [];
  return sentences
    .map((sentence) => ({
      sentence,
      coverage: unique.reduce((sum, term) => sum + (sentence.terms.has(term) ? (weight.get(term) ?? 0) : 0), 0) / total,
    }))
    .sort((a, b) => b.coverage - a.coverage || b.sentence.chunk.score - a.sentence.chunk.score);
}

const round2 = (value: number): number => Math.round(value * 100) / 100;

/** The grounded-answer extraction: the sentences of `chunks` that best cover `question`, or an abstention. */
export function answerSupportQuestion(input: { readonly question: string }, chunks: readonly RetrievedChunk[], options: OfflineModelOptions): GroundedAnswer {
  const ranked = scoreSentences(contentTerms(input.question), chunks.flatMap(sentencesOf));
  const best = ranked[0];
  if (best === undefined || best.coverage < options.minCoverage) {
    return { answer: '', citations: [], confidence: 0, abstained: true };
  }
  const chosen = ranked.filter((entry) => entry.coverage >= best.coverage * 0.75).slice(0, 3);
  const ordered = chosen
    .map((entry) => entry.sentence)
    .sort((a, b) => chunks.indexOf(a.chunk) - chunks.indexOf(b.chunk) || a.position - b.position);
  return {
    answer: ordered.map((sentence) => sentence.text).join(' ').slice(0, 4000),
    citations: [...new Set(ordered.map((sentence) => sentence.chunk.chunkId))],
    confidence: round2(Math.min(1, 0.6 * best.coverage + 0.4 * best.sentence.chunk.score)),
    abstained: false,
  };
}

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

export function createOfflineModel(options: OfflineModelOptions = { minCoverage: 0.4 }): ModelClient {
  return {
    provider: 'offline',
    modelName: 'airlock-extractive-1',
    refuses: offlineRefusal,
    async complete(request) {
      const text = JSON.stringify(answerSupportQuestion({ question: request.query }, request.chunks, options));
      const promptTokens = approxTokens(request.system) + approxTokens(request.user);
      const completionTokens = approxTokens(text);
      return { text, usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens } };
    },
  };
}
