// The local default embedder: signed feature hashing of words, word bigrams and character n-grams. No download, deterministic.
import type { Embedder } from '../types.js';

export const STOPWORDS = new Set(
  'a an and are as at be been but by can could did do does for from had has have he her his how i if in into is it its me my no not of on or our she so than that the their them then there these they this those to was we were what when where which who whom why will with would you your'.split(
    ' ',
  ),
);

/** Crude suffix stripping: enough to meet "refund"/"refunds"/"refunded" in one bucket without a stemmer dependency. */
function stem(word: string): string {
  if (word.length <= 4) return word;
  for (const suffix of ['ingly', 'edly', 'ing', 'ies', 'ied', 'ed', 'es', 'ly', 's']) {
    if (word.endsWith(suffix) && word.length - suffix.length >= 3) {
      const base = word.slice(0, -suffix.length);
      return suffix === 'ies' || suffix === 'ied' ? `${base}y` : base;
    }
  }
  return word;
}

/** FNV-1a over UTF-16 code units; the top bit gives the sign, the rest the bucket. */
function fnv1a(text: string, seed: number): number {
  let hash = 0x811c9dc5 ^ seed;
  for (let i = 0; i < text.length; i += 1) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

export interface HashingEmbedderOptions {
  readonly dimension?: number;
  readonly charNgrams?: readonly number[];
}

export const tokenize = (text: string): string[] => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

export function createHashingEmbedder(options: HashingEmbedderOptions = {}): Embedder {
  const dimension = options.dimension ?? 384;
  const ngramSizes = options.charNgrams ?? [3, 4, 5];
  const name = `hashing-v1-w12-c${ngramSizes.join('')}`;

  function embedOne(text: string): Float32Array {
    const counts = new Map<string, number>();
    const bump = (feature: string, weight: number): void => {
      counts.set(feature, (counts.get(feature) ?? 0) + weight);
    };
    const words = tokenize(text).map((token) => (STOPWORDS.has(token) ? '' : stem(token)));
    let previous = '';
    for (const word of words) {
      if (word === '') {
        previous = '';
        continue;
      }
      bump(`w:${word}`, 1);
      if (previous !== '') bump(`b:${previous} ${word}`, 0.7);
      // Character n-grams tie morphological variants and typos together; they are down-weighted so words dominate.
      const padded = ` ${word} `;
      for (const n of ngramSizes) {
        for (let i = 0; i + n <= padded.length; i += 1) bump(`c:${padded.slice(i, i + n)}`, 0.15);
      }
      previous = word;
    }
    const vector = new Float32Array(dimension);
    for (const [feature, tf] of counts) {
      const hash = fnv1a(feature, 0);
      const weight = (1 + Math.log1p(tf)) * (hash & 0x80000000 ? -1 : 1) * (feature.startsWith('c:') ? 0.15 : 1);
      const slot = (hash & 0x7fffffff) % dimension;
      vector[slot] = (vector[slot] ?? 0) + weight;
    }
    return normalise(vector);
  }

  return { name, dimension, embed: (texts) => Promise.resolve(texts.map(embedOne)) };
}

/** L2-normalises in place; a zero vector stays zero (it scores 0 against everything). */
export function normalise(vector: Float32Array): Float32Array {
  let norm = 0;
  for (const value of vector) norm += value * value;
  if (norm === 0) return vector;
  const scale = 1 / Math.sqrt(norm);
  for (let i = 0; i < vector.length; i += 1) vector[i] = (vector[i] ?? 0) * scale;
  return vector;
}
