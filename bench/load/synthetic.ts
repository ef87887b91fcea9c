// Deterministic synthetic help-centre text for the load benchmark: topical documents and questions that hit them.
// Topics over a shared vocabulary, as in bench/retrieval.ts, but the words are real English ones (the SQuAD part a
// paragraphs in ../shared/evaldata). Syllable words such as "kalomiren" read as an optimised adversarial suffix to the
// jailbreak screen's character model, so every benchmark question was refused before retrieval ran; random real words
// still do about one time in eight ("… paltz yorker brunswick …"), so the load benchmark redraws those questions.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVALDATA } from '../../scripts/evaldata.js';

export function createRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SyntheticText {
  /** A paragraph of `sentences` sentences on one topic. */
  paragraph(topic: number, sentences: number): string;
  /** A short question made of words of one topic, as a customer would type it. */
  question(topic: number): string;
  readonly topics: number;
}

export function createSyntheticText(seed = 42, topicCount = 300): SyntheticText {
  const random = createRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const english = englishWords();
  const vocabulary = Array.from({ length: 6000 }, () => pick(english));
  const topics = Array.from({ length: topicCount }, () => Array.from({ length: 40 }, () => pick(vocabulary)));
  const sentence = (topic: readonly string[]): string => {
    const words = Array.from({ length: 22 }, () => (random() < 0.6 ? pick(topic) : pick(vocabulary)));
    const first = words[0] ?? 'x';
    words[0] = first.charAt(0).toUpperCase() + first.slice(1);
    return `${words.join(' ')}.`;
  };
  return {
    topics: topicCount,
    paragraph: (topic, sentences) => Array.from({ length: sentences }, () => sentence(topics[topic % topicCount] ?? [])).join(' '),
    question: (topic) => {
      const words = Array.from({ length: 8 }, () => pick(topics[topic % topicCount] ?? []));
      return `How do I ${words.join(' ')}?`;
    },
  };
}

/** Distinct lower-case words of three or more letters in the SQuAD part a paragraphs, sorted so that picks are deterministic. */
function englishWords(): string[] {
  const squad = JSON.parse(readFileSync(join(EVALDATA, 'squad-v2/dev-v2.0-part-a.json'), 'utf8')) as {
    data: { paragraphs: { context: string }[] }[];
  };
  const words = new Set<string>();
  for (const article of squad.data) {
    for (const { context } of article.paragraphs) {
      for (const word of context.toLowerCase().match(/(?<!\p{L})[a-z]{3,}(?!\p{L})/gu) ?? []) words.add(word);
    }
  }
  return [...words].sort();
}
