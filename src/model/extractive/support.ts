// Which retrieved sentences could answer a question, and the evidence for each (issue 16 items 1 and 3). A candidate must
// cover some of the question's content terms and sit in a chunk that holds every key term of the question (its names
// and numbers): a near-miss question ("…in the 1000s" of a paragraph on the 10th century) has a key term the paragraph
// lacks and gets no candidate. Everything else is evidence for the learned scorer (answer-model.ts): how much of the
// question the sentence covers (a term few retrieved sentences share carries the question), whether a span of the kind asked sits next to them, which rare term is missing.
import type { RetrievedChunk } from '../../retrieval/types.js';
import { holdsNewSpan, questionTypeOf, typedWordsOf, type TypedWord } from './question-type.js';
import { passagesOf } from './sentences.js';
import { contentTermsOf, isNegation, wordTermsOf } from './terms.js';

export interface Candidate {
  readonly chunk: RetrievedChunk;
  readonly text: string;
  readonly features: Features;
}

/** The evidence a candidate is scored on (answer-model.ts); every value is in [0, 1] or a small log count. */
export interface Features {
  /** Weighted share of the question's terms in the sentence (a term only in its heading or the document title counts three quarters). */
  readonly sentenceCoverage: number;
  /** Weighted share of the question's terms anywhere in the sentence's chunk or its title. */
  readonly chunkCoverage: number;
  /** Weighted share of the question's terms found in any retrieved chunk: low for an off-topic question (item 3). */
  readonly retrievedCoverage: number;
  /** The chunk's retrieval score. */
  readonly retrievalScore: number;
  /** 1 when the chunk is the best retrieved one. */
  readonly topChunk: number;
  /** Sentence coverage minus the best coverage of any other sentence: how clearly this sentence stands out. */
  readonly margin: number;
  /** ln(1 + the number of question terms): a question of one or two terms is matched by chance more easily. */
  readonly questionTerms: number;
  /** ln(1 + the sentence's words): longer sentences hold more possible answers. */
  readonly sentenceWords: number;
  /** 1 when the question asks for a kind of span (who, when, how many, where). */
  readonly typeAsked: number;
  /** 1 when the question asks for a kind of span and the sentence holds one the question does not state. */
  readonly typedSpan: number;
  /** How close the nearest such span sits to a matched question term: 1 / (1 + words between); 0 without one. */
  readonly spanNearTerms: number;
  /** Share of the question's key terms (names, numbers) the sentence and its heading lack. */
  readonly missingKeys: number;
  /** Weight of the rarest question term the sentence and its heading lack, over the rarest term's weight (0: none). */
  readonly missingRare: number;
  /** 1 when exactly one of question and sentence is negated ("not", "never", "n't"). */
  readonly negationMismatch: number;
  /** ln(1 + the sentence's content terms the question does not hold): an answer adds something. */
  readonly newTerms: number;
  /** 1 for the first unit of its section or chunk: a section's opening sentence usually carries its point. */
  readonly lead: number;
}

const CONTEXT_CREDIT = 0.75;

/** An e-mail address or a URL: its words name a mailbox or a page ("no-reply@…"), they say nothing. */
const ADDRESS = /[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\bhttps?:\/\/[^\s)]+/gu;

/** Whether a text says "not", "never", "no" (outside its addresses). */
const negated = (text: string): boolean => wordTermsOf(text.replace(ADDRESS, ' ')).some((word) => isNegation(word.lower));

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
  /** The unit's own words, scored; its heading and links' texts are its context. */
  readonly text: string;
  /** What is answered: the text, a list item with its heading. */
  readonly answer: string;
  readonly terms: ReadonlySet<string>;
  readonly context: ReadonlySet<string>;
  readonly lead: boolean;
}

/** 1 / the distance in words from the nearest new span word of the asked kind to a word carrying a question term; 0 without one. */
function spanProximity(words: readonly TypedWord[], questionWords: ReadonlySet<string>, questionTerms: ReadonlySet<string>): number {
  const matched = words.flatMap((word, i) => (word.term !== undefined && questionTerms.has(word.term) ? [i] : []));
  let best = 0;
  words.forEach((word, i) => {
    if (!word.typed || questionWords.has(word.lower)) return;
    for (const j of matched) best = Math.max(best, 1 / Math.max(1, Math.abs(i - j)));
  });
  return best;
}

export function candidatesFor(question: string, chunks: readonly RetrievedChunk[]): Candidate[] {
  const type = questionTypeOf(question);
  const terms = [...new Set(contentTermsOf(question))].filter((term) => !type.focusTerms.has(term));
  if (terms.length === 0) return [];
  const termSet = new Set(terms);
  const questionWords = new Set(wordTermsOf(question).map((word) => word.lower));
  const questionNegated = wordTermsOf(question).some((word) => isNegation(word.lower));
  const keyTerms = new Set(keyTermsOf(question).filter((term) => termSet.has(term)));
  const seen = new Set<string>();
  const units: Unit[] = [];
  const chunkTerms = chunks.map((chunk) => new Set([...contentTermsOf(chunk.text), ...contentTermsOf(chunk.title)]));
  chunks.forEach((chunk, rank) => {
    const title = contentTermsOf(chunk.title);
    let heading: string | undefined;
    for (const passage of passagesOf(chunk.text)) {
      const lead = passage.heading !== heading;
      heading = passage.heading;
      // Chunks overlap by a sentence: the first (best-ranked) copy stands for both.
      if (seen.has(passage.answer) || (passage.procedure && type.kind !== 'any' && type.kind !== 'procedure')) continue;
      seen.add(passage.answer);
      // A link's text names another page: the sentence points there rather than says it, so its words count as context.
      const own = passage.links.reduce((text, link) => text.replace(link, ' '), passage.text);
      const context = [...title, ...contentTermsOf(passage.heading), ...passage.links.flatMap((link) => contentTermsOf(link))];
      units.push({ chunk, rank, text: passage.text, answer: passage.answer, terms: new Set(contentTermsOf(own)), context: new Set(context), lead });
    }
  });
  // A term few retrieved sentences share weighs more; a term none holds weighs most, so missing it costs most.
  const weight = new Map(terms.map((term) => [term, 1 + Math.log((units.length + 1) / (units.filter((unit) => unit.terms.has(term)).length + 1))]));
  const weightOf = (term: string): number => weight.get(term) ?? 0;
  const total = terms.reduce((sum, term) => sum + weightOf(term), 0);
  const rarest = Math.max(...terms.map(weightOf));
  const share = (credit: (term: string) => number): number => terms.reduce((sum, term) => sum + credit(term) * weightOf(term), 0) / total;
  const coverage = units.map((unit) => share((term) => (unit.terms.has(term) ? 1 : unit.context.has(term) ? CONTEXT_CREDIT : 0)));
  const words = units.map((unit) => typedWordsOf(wordTermsOf(unit.text), type.kind));
  // A sentence can answer a typed question only with a span of the kind asked the question does not state.
  const canAnswer = words.map((sentence) => type.kind === 'any' || holdsNewSpan(sentence, questionWords));
  // Its rivals are the other sentences that could answer too: the best coverage among them, and the runner-up's.
  const sorted = coverage.filter((_, i) => canAnswer[i]).sort((a, b) => b - a);
  const questionTerms = Math.log(1 + terms.length);
  const retrievedCoverage = share((term) => (chunkTerms.some((held) => held.has(term)) ? 1 : 0));
  const candidates: Candidate[] = [];
  units.forEach((unit, i) => {
    const inChunk = chunkTerms[unit.rank] ?? new Set<string>();
    if ([...keyTerms].some((term) => !inChunk.has(term))) return;
    const sentenceCoverage = coverage[i] ?? 0;
    if (sentenceCoverage === 0) return;
    const best = sorted[0] ?? 0;
    const otherBest = canAnswer[i] && sentenceCoverage === best ? (sorted[1] ?? 0) : best;
    const held = (term: string): boolean => unit.terms.has(term) || unit.context.has(term);
    const missing = terms.filter((term) => !held(term));
    const sentenceWords = words[i] ?? [];
    const newSpan = type.kind !== 'any' && (canAnswer[i] ?? false);
    candidates.push({
      chunk: unit.chunk,
      text: unit.answer,
      features: {
        sentenceCoverage,
        chunkCoverage: share((term) => (inChunk.has(term) ? 1 : 0)),
        retrievedCoverage,
        retrievalScore: unit.chunk.score,
        topChunk: unit.rank === 0 ? 1 : 0,
        margin: sentenceCoverage - otherBest,
        questionTerms,
        sentenceWords: Math.log(1 + sentenceWords.length),
        typeAsked: type.kind === 'any' ? 0 : 1,
        typedSpan: newSpan ? 1 : 0,
        // An instruction is its whole sentence: there is no span whose distance to the question's terms would tell.
        spanNearTerms: newSpan && type.kind !== 'procedure' ? spanProximity(sentenceWords, questionWords, termSet) : 0,
        missingKeys: keyTerms.size === 0 ? 0 : [...keyTerms].filter((term) => !held(term)).length / keyTerms.size,
        missingRare: missing.length === 0 ? 0 : Math.max(...missing.map(weightOf)) / rarest,
        negationMismatch: questionNegated !== negated(unit.text) ? 1 : 0,
        newTerms: Math.log(1 + [...unit.terms].filter((term) => !termSet.has(term)).length),
        lead: unit.lead ? 1 : 0,
      },
    });
  });
  return candidates;
}
