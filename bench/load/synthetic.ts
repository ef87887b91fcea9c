// Deterministic synthetic help-centre text for the load benchmark: topical documents and questions that hit them.
// Same construction as bench/retrieval.ts (mulberry32, syllable words, topics over a shared vocabulary).

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
  const syllables = ['ka', 'lo', 'mi', 'ren', 'tas', 'vor', 'bel', 'cu', 'dan', 'es', 'fi', 'gor', 'hu', 'ix', 'jo', 'pra'];
  const vocabulary = Array.from({ length: 6000 }, () => Array.from({ length: 2 + Math.floor(random() * 2) }, () => pick(syllables)).join(''));
  const topics = Array.from({ length: topicCount }, () => Array.from({ length: 40 }, () => pick(vocabulary)));
  const sentence = (topic: readonly string[]): string => {
    const words = Array.from({ length: 28 }, () => (random() < 0.6 ? pick(topic) : pick(vocabulary)));
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
