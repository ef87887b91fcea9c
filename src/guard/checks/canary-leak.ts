// Output check `canary_leak` (LLM07-2): the per-request canary from the system prompt, or a long verbatim run of
// the system prompt, appearing in the output means the model was talked into disclosing its instructions.
// Variants a model produces on request (spacing, case, reversal, ROT13, base64, hex) are undone before matching, and
// so are the two that hide a canary among other characters: interleaving (`1x2y3z…`, or every second character) and
// spelling it out (`four two seven…`). Both are read through the canary's own alphabet: a numeric canary is looked
// for in the output's digits alone, after number words became digits, so letters and punctuation between them vanish.
import { z } from 'zod';
import { stringLeaves } from '../fields.js';
import { normaliseText } from '../normalise.js';
import type { CheckDefinition } from '../types.js';

export const CanaryLeakConfig = z.strictObject({
  ngram: z.int().min(5).max(50).default(8).describe('Token n-gram length counted as verbatim system-prompt overlap'),
  min_canary_chars: z
    .int()
    .min(8)
    .default(16)
    .describe('A run this long of the canary (letters and digits only) counts as a leak, so partial echoes trip too'),
});
export type CanaryLeakConfig = z.infer<typeof CanaryLeakConfig>;

const flatten = (text: string): string => normaliseText(text).toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');
const reverse = (text: string): string => Array.from(text).reverse().join('');
const rot13 = (text: string): string =>
  text.replace(/[a-z]/g, (c) => String.fromCharCode(((c.charCodeAt(0) - 97 + 13) % 26) + 97));

/** Decodings of every base64 and hex run in the text, because "encode it first" is a standard extraction ask. */
function decodedRuns(text: string): string[] {
  const base64 = [...text.matchAll(/[A-Za-z0-9+/_-]{12,}={0,2}/g)].flatMap(([run]) => {
    const standard = run.replace(/-/g, '+').replace(/_/g, '/');
    // Decode at every 4-character alignment, since a run may start in the middle of an encoded value.
    return [0, 1, 2, 3].map((skip) => Buffer.from(standard.slice(skip), 'base64').toString('latin1'));
  });
  const hex = [...text.matchAll(/(?:[0-9a-f]{2}[\s:]?){8,}/gi)].map(([run]) =>
    Buffer.from(run.replace(/[\s:]/g, ''), 'hex').toString('latin1'),
  );
  return [...base64, ...hex];
}

const DIGIT_WORDS: Readonly<Record<string, string>> = {
  zero: '0', nought: '0', oh: '0', one: '1', two: '2', three: '3', four: '4', five: '5', six: '6', seven: '7', eight: '8', nine: '9',
};
const DIGIT_WORD = /\b(?:(double|triple)[\s-]+)?(zero|nought|oh|one|two|three|four|five|six|seven|eight|nine)\b/g;
/** The longest gap between the canary's characters still read as interleaving ("every second character" and so on). */
const MAX_STRIDE = 3;

/** Number words as digits ("double seven" as 77), so a spelled-out numeric canary becomes digits again. */
const spelledOutDigits = (text: string): string =>
  normaliseText(text).toLowerCase().replace(DIGIT_WORD, (_whole, repeat: string | undefined, word: string) => (DIGIT_WORDS[word] ?? '').repeat(repeat === 'double' ? 2 : repeat === 'triple' ? 3 : 1));

/**
 * `flat` with only the characters the canary is made of, read whole and at every stride up to MAX_STRIDE: what is left
 * when filler characters between the canary's own are dropped. For an alphanumeric canary this is `flat` itself.
 */
function interleavingViews(flat: string, alphabet: ReadonlySet<string>): string[] {
  const kept = Array.from(flat).filter((char) => alphabet.has(char));
  const views = [kept.join('')];
  for (let stride = 2; stride <= MAX_STRIDE; stride += 1) {
    for (let offset = 0; offset < stride; offset += 1) views.push(kept.filter((_char, index) => index % stride === offset).join(''));
  }
  return views;
}

function canaryWindows(canary: string, size: number): string[] {
  const flat = flatten(canary);
  if (flat.length <= size) return flat === '' ? [] : [flat];
  return Array.from({ length: flat.length - size + 1 }, (_, start) => flat.slice(start, start + size));
}

const tokens = (text: string): string[] => normaliseText(text).toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

function shingles(words: readonly string[], n: number): Set<string> {
  const set = new Set<string>();
  for (let i = 0; i + n <= words.length; i += 1) set.add(words.slice(i, i + n).join(' '));
  return set;
}

/**
 * Whether any n-gram of `words` is in `wanted`. The system prompt is long and the output short, so the prompt's
 * n-grams are not collected: only a window starting with a word some wanted n-gram starts with is joined and looked up.
 */
function sharesShingle(words: readonly string[], n: number, wanted: ReadonlySet<string>): boolean {
  const starts = new Set([...wanted].map((shingle) => shingle.split(' ', 1)[0]));
  for (let i = 0; i + n <= words.length; i += 1) {
    if (starts.has(words[i] ?? '') && wanted.has(words.slice(i, i + n).join(' '))) return true;
  }
  return false;
}

export const canaryLeakCheck: CheckDefinition<CanaryLeakConfig> = {
  name: 'canary_leak',
  description: 'Canary or long verbatim system-prompt runs in the output, including encoded and reversed forms',
  stages: ['output'],
  canRepair: false,
  configSchema: CanaryLeakConfig,
  run: (context, value, config) => {
    const text = stringLeaves(value).map((leaf) => leaf.text).join('\n');
    const alphabet = new Set(flatten(context.canary));
    const haystacks = [text, spelledOutDigits(text), ...decodedRuns(text)]
      .map(flatten)
      .flatMap((flat) => [flat, reverse(flat), rot13(flat)])
      .flatMap((flat) => interleavingViews(flat, alphabet));
    const windows = canaryWindows(context.canary, config.min_canary_chars);
    const reasons: string[] = [];
    if (windows.length === 0) reasons.push('no canary in context; cannot verify');
    else if (haystacks.some((hay) => windows.some((window) => hay.includes(window)))) reasons.push('canary found in output');

    const outputShingles = new Set([text, reverse(text)].flatMap((candidate) => [...shingles(tokens(candidate), config.ngram)]));
    if (outputShingles.size > 0 && sharesShingle(tokens(context.systemPrompt), config.ngram, outputShingles)) {
      reasons.push(`output repeats ≥ ${config.ngram} consecutive system-prompt tokens`);
    }
    return { tripped: reasons.length > 0, reasons };
  },
};
