// Which retrieved sentences could answer a question, and the evidence for each (issue 16 items 1 and 3). A candidate must
// cover the question's content terms (weighted: a term few retrieved sentences share carries the question), hold a span
// of the kind asked, and sit in a chunk that holds every key term of the question (its names and numbers): a near-miss
// question ("…in the 1000s" of a paragraph on the 10th century) has a key term the paragraph lacks and gets no candidate.
import type { RetrievedChunk } from '../../retrieval/types.js';
import { hasAnswerSpan, questionTypeOf } from './question-type.js';
import { passagesOf } from './sentences.js';
import { contentTermsOf } from './terms.js';

export interface Candidate {
  readonly chunk: RetrievedChunk;
  readonly text: string;
  readonly features: Features;
}

/** The evidence a candidate's confidence is computed from (confidence.ts); every value is in [0, 1] or a small count. */
export interface Features {
  /** Weighted share of the question's terms in the sentence (its heading and the document title count half). */
  readonly sentenceCoverage: number;
  /** Weighted share of the question's terms anywhere in the sentence's chunk or its title. */
  readonly chunkCoverage: number;
  /** Weighted share of the question's terms found in any retrieved chunk: low for an off-topic question (item 3). */
  readonly retrievedCoverage: number;
  /** The chunk's retrieval score. */
  readonly retrievalScore: number;
  /** 1 when the chunk is the best retrieved one. */
  readonly topChunk: number;
  /** 1 when the question asks for a kind of span (who, when, how many, where) and the sentence holds one. */
  readonly typedSpan: number;
  /** Sentence coverage minus the best coverage of any other sentence: how clearly this sentence stands out. */
  readonly margin: number;
  /** ln(1 + the number of question terms): a question of one or two terms is matched by chance more easily. */
  readonly questionTerms: number;
  /** ln(1 + the sentence's words): longer sentences hold more possible answers. */
  readonly sentenceWords: number;
}

const CONTEXT_CREDIT = 0.5;

/** Names and numbers of the question: capitalised words after its first word, and digits. */
function keyTermsOf(question: string): string[] {
  const words = question.match(/[\p{L}\p{N}][\p{L}\p{N}'’]*/gu) ?? [];
  return words
    .filter((word, i) => /\d/u.test(word) || (i > 0 && /^\p{Lu}/u.test(word)))
    .flatMap((word) => contentTermsOf(word));
}

interface Unit {
  readonly chunk: RetrievedChunk;
  readonly rank: number;
  readonly text: string;
  readonly terms: ReadonlySet<string>;
  readonly context: ReadonlySet<string>;
}

export function candidatesFor(question: string, chunks: readonly RetrievedChunk[]): Candidate[] {
  const type = questionTypeOf(question);
  const terms = [...new Set(contentTermsOf(question))].filter((term) => !type.focusTerms.has(term));
  if (terms.length === 0) return [];
  const keyTerms = new Set(keyTermsOf(question).filter((term) => terms.includes(term)));
  const seen = new Set<string>();
  const units: Unit[] = [];
  const chunkTerms = chunks.map((chunk) => new Set([...contentTermsOf(chunk.text), ...contentTermsOf(chunk.title)]));
  chunks.forEach((chunk, rank) => {
    const title = contentTermsOf(chunk.title);
    for (const passage of passagesOf(chunk.text)) {
      // Chunks overlap by a sentence: the first (best-ranked) copy stands for both.
      if (seen.has(passage.text)) continue;
      seen.add(passage.text);
      units.push({ chunk, rank, text: passage.text, terms: new Set(contentTermsOf(passage.text)), context: new Set([...title, ...contentTermsOf(passage.heading)]) });
    }
  });
  // A term few retrieved sentences share weighs more; a term none holds weighs most, so missing it costs most.
  const weight = new Map(terms.map((term) => [term, 1 + Math.log((units.length + 1) / (units.filter((unit) => unit.terms.has(term)).length + 1))]));
  const total = terms.reduce((sum, term) => sum + (weight.get(term) ?? 0), 0);
  const share = (credit: (term: string) => number): number => terms.reduce((sum, term) => sum + credit(term) * (weight.get(term) ?? 0), 0) / total;
  const coverage = units.map((unit) => share((term) => (unit.terms.has(term) ? 1 : unit.context.has(term) ? CONTEXT_CREDIT : 0)));
  const sorted = [...coverage].sort((a, b) => b - a);
  const questionTerms = Math.log(1 + terms.length);
  const retrievedCoverage = share((term) => (chunkTerms.some((held) => held.has(term)) ? 1 : 0));
  const candidates: Candidate[] = [];
  units.forEach((unit, i) => {
    const inChunk = chunkTerms[unit.rank] ?? new Set<string>();
    if ([...keyTerms].some((term) => !inChunk.has(term))) return;
    if (!hasAnswerSpan(type.kind, unit.text, question)) return;
    const sentenceCoverage = coverage[i] ?? 0;
    const best = sorted[0] ?? 0;
    const otherBest = sentenceCoverage === best ? (sorted[1] ?? 0) : best;
    candidates.push({
      chunk: unit.chunk,
      text: unit.text,
      features: {
        sentenceCoverage,
        chunkCoverage: share((term) => (inChunk.has(term) ? 1 : 0)),
        retrievedCoverage,
        retrievalScore: unit.chunk.score,
        topChunk: unit.rank === 0 ? 1 : 0,
        typedSpan: type.kind === 'any' ? 0 : 1,
        margin: sentenceCoverage - otherBest,
        questionTerms,
        sentenceWords: Math.log(1 + unit.text.split(/\s+/u).length),
      },
    });
  });
  return candidates;
}
