// A character-level n-gram language model of English prose (interpolated Witten-Bell smoothing), used to find the
// stretches of caller text no writer of English produces: GCG / random-search adversarial suffixes (LLM01-5). The
// model is built by `npm run build:lm` from openly licensed text the project carries and ships as a generated module
// (char-lm-model.generated.ts), so nothing is downloaded and the file is the same on every machine.

/** Longest n-gram the model keeps (context of ORDER − 1 symbols). */
export const ORDER = 4;

// Symbols: lower-case ASCII letters, space, ASCII punctuation; every digit folds to '0', any other letter (accents are
// stripped first) to one "foreign letter" symbol and anything else to one "other" symbol. Digits and identifiers carry
// no English, so folding keeps order numbers and codes from looking like gibberish.
const FOREIGN_LETTER = 'λ';
const OTHER = '¤';
const COMBINING_MARKS = /\p{M}+/gu;
const WHITESPACE = /\s/u;
const SHOUTED_WORD = /\b[A-Z][A-Z0-9]+\b/g;
const LETTER = /\p{L}/u;

/** Maps text onto the model's alphabet; one symbol per input code point after accent stripping, whitespace collapsed. */
export function toSymbols(text: string): string {
  // Case is kept only where it is odd: an all-capitals word is folded ("URGENT"), a capital inside a lower-case run
  // ("similarlyNow", "ISBNancouver": tokens glued by an optimiser) stays, and so does a leading capital.
  const plain = text.normalize('NFD').replace(COMBINING_MARKS, '').replace(SHOUTED_WORD, (word) => word.toLowerCase());
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
    else symbol = OTHER;
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

/** Serialises counts as `gram\tcount` lines, dropping ORDER-grams seen fewer than `minTopCount` times. */
export function serialiseCounts(counts: NgramCounts, minTopCount: number): string {
  return [...counts]
    .filter(([gram, count]) => gram.length < ORDER || count >= minTopCount)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([gram, count]) => `${gram}\t${count}`)
    .join('\n');
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
  for (const line of serialised.split('\n')) {
    const tab = line.lastIndexOf('\t');
    if (tab > 0) counts.set(line.slice(0, tab), Number(line.slice(tab + 1)));
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

export interface WindowScore {
  /** Highest mean surprisal (bits per symbol) over the scored windows; 0 when no window was scored. */
  readonly bitsPerSymbol: number;
  /** Start of that window in the symbol string (for tests and explanations). */
  readonly at: number;
}

/**
 * The NeMo perplexity idea on our model: the mean surprisal of every `window`-symbol window (step 1), and the worst
 * one. Windows mostly made of foreign-script letters are skipped: a sentence in another script is not gibberish, it
 * is outside what an English model can judge. (A trimmed mean, leaving out each window's most surprising symbols so
 * that one rare word counts less, was tried: it separated GCG suffixes from benign text worse.)
 */
export function worstWindow(model: CharLanguageModel, text: string, window: number): WindowScore {
  const symbols = toSymbols(text);
  if (symbols.length < window) return { bitsPerSymbol: 0, at: -1 };
  const bits = model.surprisals(symbols);
  let sum = 0;
  let foreign = 0;
  let best = 0;
  let at = -1;
  for (let i = 0; i < symbols.length; i += 1) {
    sum += bits[i] ?? 0;
    if (symbols[i] === FOREIGN_LETTER) foreign += 1;
    if (i >= window) {
      sum -= bits[i - window] ?? 0;
      if (symbols[i - window] === FOREIGN_LETTER) foreign -= 1;
    }
    if (i >= window - 1 && foreign * 2 < window && sum / window > best) {
      best = sum / window;
      at = i - window + 1;
    }
  }
  return { bitsPerSymbol: best, at };
}
