// A character-level n-gram language model of English prose (interpolated Witten-Bell smoothing), used to find the
// stretches of caller text no writer of English produces: GCG / random-search adversarial suffixes (LLM01-5). The
// model is built by `npm run build:lm` from openly licensed text the project carries and ships as a generated module
// (char-lm-model.generated.ts), so nothing is downloaded and the file is the same on every machine.

/** Longest n-gram the model keeps (context of ORDER − 1 symbols). */
export const ORDER = 4;

// Symbols: lower-case ASCII letters, space, ASCII punctuation; every digit folds to '0', any other letter (accents are
// stripped first) to one "foreign letter" symbol and anything else to one "other" symbol. Digits and identifiers carry
// no English, so folding keeps order numbers and codes from looking like gibberish.
export const FOREIGN_LETTER = 'λ';
/** The one symbol every character that is not a letter, digit, space or ASCII punctuation becomes. */
export const OTHER_SYMBOL = '¤';
const COMBINING_MARKS = /\p{M}+/gu;
const WHITESPACE = /\s/u;
const SHOUTED_WORD = /\b[A-Z][A-Z0-9]+\b/g;
const LETTER = /\p{L}/u;
// Typographic dashes and quotes are the ASCII hyphen and quotes set by a word processor ("Wade–Giles", "don’t"): read
// as one "other" symbol they made ordinary words look like glued tokens.
const TYPOGRAPHIC_DASH = /[\u2010-\u2015\u2212]/g;
const TYPOGRAPHIC_APOSTROPHE = /[\u2018\u2019\u201A\u201B\u2032]/g;
const TYPOGRAPHIC_QUOTE = /[\u201C-\u201F\u2033\u00AB\u00BB]/g;

/** Maps text onto the model's alphabet; one symbol per input code point after accent stripping, whitespace collapsed. */
export function toSymbols(text: string): string {
  // Case is kept only where it is odd: an all-capitals word is folded ("URGENT"), a capital inside a lower-case run
  // ("similarlyNow", "ISBNancouver": tokens glued by an optimiser) stays, and so does a leading capital.
  const plain = text
    .normalize('NFD')
    .replace(COMBINING_MARKS, '')
    .replace(TYPOGRAPHIC_DASH, '-')
    .replace(TYPOGRAPHIC_APOSTROPHE, "'")
    .replace(TYPOGRAPHIC_QUOTE, '"')
    .replace(SHOUTED_WORD, (word) => word.toLowerCase());
  let out = '';
  let lastSpace = true;
  for (const char of plain) {
    const code = char.codePointAt(0) ?? 0;
    let symbol: string;
    if (code <= 0x20) symbol = ' ';
    else if (code >= 0x30 && code <= 0x39) symbol = '0';
    else if (code < 0x7f) symbol = char;
    else if (WHITESPACE.test(char)) symbol = ' ';
    else if (LETTER.test(char)) symbol = FOREIGN_LETTER;
    else symbol = OTHER_SYMBOL;
    if (symbol === ' ') {
      if (lastSpace) continue;
      lastSpace = true;
    } else lastSpace = false;
    out += symbol;
  }
  return out;
}

/** n-gram counts for n = 1..ORDER, keyed by the n-gram string. */
export type NgramCounts = Map<string, number>;

/** Counts every n-gram (n = 1..ORDER) of each text, padded at the start with spaces. */
export function countNgrams(texts: Iterable<string>): NgramCounts {
  const counts: NgramCounts = new Map();
  for (const text of texts) {
    const symbols = ' '.repeat(ORDER - 1) + toSymbols(text);
    for (let end = ORDER - 1; end < symbols.length; end += 1) {
      for (let n = 1; n <= ORDER; n += 1) {
        const gram = symbols.slice(end - n + 1, end + 1);
        counts.set(gram, (counts.get(gram) ?? 0) + 1);
      }
    }
  }
  return counts;
}

/**
 * Serialises counts as `gram\tcount` lines, dropping ORDER-grams seen fewer than `minTopCount` times. A context that
 * lost followers to the pruning also gets a `context\ttotal\ttypes` line with its unpruned total and number of
 * distinct followers: Witten-Bell hands the lower order as much mass as a context has follower types, so a context
 * that seemed to have only its few frequent followers would leave almost nothing for the rest ("hus" → "b" at 22 bits).
 */
export function serialiseCounts(counts: NgramCounts, minTopCount: number): string {
  const contexts = new Map<string, { total: number; types: number; pruned: boolean }>();
  for (const [gram, count] of counts) {
    if (gram.length !== ORDER) continue;
    const stats = contexts.get(gram.slice(0, -1)) ?? { total: 0, types: 0, pruned: false };
    contexts.set(gram.slice(0, -1), { total: stats.total + count, types: stats.types + 1, pruned: stats.pruned || count < minTopCount });
  }
  const grams = [...counts].filter(([gram, count]) => gram.length < ORDER || count >= minTopCount).map(([gram, count]) => `${gram}\t${count}`);
  const stats = [...contexts].filter(([, context]) => context.pruned).map(([context, { total, types }]) => `${context}\t${total}\t${types}`);
  return [...grams, ...stats].sort().join('\n');
}

export interface CharLanguageModel {
  /** Surprisal (bits) of each symbol of `toSymbols(text)` given the ORDER − 1 symbols before it. */
  readonly surprisals: (symbols: string) => Float64Array;
}

/**
 * Builds the scorer from serialised counts with interpolated Witten-Bell smoothing: a context hands the lower order as
 * much probability as it has distinct followers. (Kneser-Ney was tried: it models English better but gives unseen
 * symbol sequences more mass, and separated GCG suffixes from benign text less well.)
 */
export function loadCharLanguageModel(serialised: string): CharLanguageModel {
  const counts: NgramCounts = new Map();
  const prunedContexts = new Map<string, { total: number; types: number }>();
  for (const line of serialised.split('\n')) {
    // Symbols never include a tab, so the fields are unambiguous: gram, count or context, total, types.
    const [key = '', first, second] = line.split('\t');
    if (second !== undefined) prunedContexts.set(key, { total: Number(first), types: Number(second) });
    else if (first !== undefined) counts.set(key, Number(first));
  }
  const totals = new Map<string, number>();
  const followers = new Map<string, number>();
  const alphabet = new Set<string>();
  for (const [gram, count] of counts) {
    const context = gram.slice(0, -1);
    totals.set(context, (totals.get(context) ?? 0) + count);
    followers.set(context, (followers.get(context) ?? 0) + 1);
    if (gram.length === 1) alphabet.add(gram);
  }
  for (const [context, { total, types }] of prunedContexts) {
    totals.set(context, total);
    followers.set(context, types);
  }
  // Unseen symbols share the probability of one extra type at the unigram level.
  const uniform = 1 / (alphabet.size + 1);
  const probability = (context: string, symbol: string): number => {
    const lower = context.length === 0 ? uniform : probability(context.slice(1), symbol);
    const total = totals.get(context);
    if (total === undefined) return lower;
    const types = followers.get(context) ?? 0;
    return ((counts.get(context + symbol) ?? 0) + types * lower) / (total + types);
  };
  // Cache by (context, symbol): caller text is short and English reuses the same few thousand n-grams.
  const cache = new Map<string, number>();
  return {
    surprisals: (symbols) => {
      const padded = ' '.repeat(ORDER - 1) + symbols;
      const out = new Float64Array(symbols.length);
      for (let i = 0; i < symbols.length; i += 1) {
        const gram = padded.slice(i, i + ORDER);
        let bits = cache.get(gram);
        if (bits === undefined) {
          bits = -Math.log2(probability(gram.slice(0, -1), gram.slice(-1)));
          if (cache.size < 200_000) cache.set(gram, bits);
        }
        out[i] = bits;
      }
      return out;
    },
  };
}

/** One whitespace-separated word of the model's symbol string and its mean surprisal. */
export interface WordScore {
  /** The word in model symbols (foreign letters are FOREIGN_LETTER). */
  readonly word: string;
  /** Mean surprisal, in bits, of the word's symbols and the space after it. */
  readonly bits: number;
  /**
   * At least half of the word's letters are of another script: outside what an English model can judge. Letters, not
   * symbols: brackets or quotes around a word in another script ("(大元)") do not make it English.
   */
  readonly foreign: boolean;
}

/** Scores `text` word by word (after `toSymbols`); the building block of the adversarial-suffix windows. */
export function wordSurprisals(model: CharLanguageModel, text: string): WordScore[] {
  const symbols = toSymbols(text);
  const bits = model.surprisals(symbols);
  const words: WordScore[] = [];
  let start = 0;
  let sum = 0;
  let foreignLetters = 0;
  let letters = 0;
  for (let i = 0; i < symbols.length; i += 1) {
    sum += bits[i] ?? 0;
    const symbol = symbols[i] ?? ' ';
    if (symbol === FOREIGN_LETTER) foreignLetters += 1;
    if (symbol === FOREIGN_LETTER || (symbol >= 'a' && symbol <= 'z') || (symbol >= 'A' && symbol <= 'Z')) letters += 1;
    if (symbol === ' ' || i === symbols.length - 1) {
      const length = i - start + 1;
      words.push({ word: symbols.slice(start, i + 1).trim(), bits: sum / length, foreign: foreignLetters > 0 && foreignLetters * 2 >= letters });
      start = i + 1;
      sum = 0;
      foreignLetters = 0;
      letters = 0;
    }
  }
  return words;
}
