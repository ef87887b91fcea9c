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
 * Whether `kept` (the canary's own characters of one haystack, in order), read whole or at every stride up to
 * MAX_STRIDE, and backwards too when asked, holds a window: what is left when filler characters between the canary's own
 * are dropped. Every such view is a subsequence of `kept`, so when `kept` is shorter than the windows none is built.
 */
function viewsHoldWindow(kept: string, windows: readonly string[], windowLength: number, backwards: boolean): boolean {
  if (kept.length < windowLength) return false;
  const holds = (view: string): boolean => windows.some((window) => view.includes(window));
  const forwards = Array.from(kept);
  for (const chars of backwards ? [forwards, [...forwards].reverse()] : [forwards]) {
    if (holds(chars.join(''))) return true;
    for (let stride = 2; stride <= MAX_STRIDE; stride += 1) {
      for (let offset = 0; offset < stride; offset += 1) {
        if (holds(chars.filter((_char, index) => index % stride === offset).join(''))) return true;
      }
    }
  }
  return false;
}

/**
 * Whether the text, its number words read as digits or any decoded base64 or hex run holds a canary window, read
 * forwards, backwards or ROT13'd (forwards), whole or interleaved; it stops at the first one found. Only the canary's characters
 * are kept of each haystack; keeping commutes with reversal, and ROT13 moves only letters a–z, so for a canary without
 * them (the digits buildPrompt makes) the ROT13 reading keeps exactly what the plain one did.
 */
function canaryIn(text: string, canary: string, windows: readonly string[]): boolean {
  const alphabet = new Set(flatten(canary));
  const windowLength = windows[0]?.length ?? 0;
  const rot13Differs = [...alphabet].some((char) => char >= 'a' && char <= 'z');
  const keep = (flat: string): string => {
    let kept = '';
    for (const char of flat) if (alphabet.has(char)) kept += char;
    return kept;
  };
  for (const source of [text, spelledOutDigits(text), ...decodedRuns(text)]) {
    const flat = flatten(source);
    if (viewsHoldWindow(keep(flat), windows, windowLength, true)) return true;
    if (rot13Differs && viewsHoldWindow(keep(rot13(flat)), windows, windowLength, false)) return true;
  }
  return false;
}

function canaryWindows(canary: string, size: number): string[] {
  const flat = flatten(canary);
  if (flat.length <= size) return flat === '' ? [] : [flat];
  return Array.from({ length: flat.length - size + 1 }, (_, start) => flat.slice(start, start + size));
}

const tokens = (text: string): string[] => normaliseText(text).toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

/** Lines of system prompts already tokenised; cleared when full, so the per-request lines (canary, delimiter) cannot grow it. */
const promptLineTokens = new Map<string, readonly string[]>();
const PROMPT_LINE_CACHE_SIZE = 2_048;

/**
 * tokens() of a system prompt, line by line: a prompt is the same task text on every call but for the lines holding
 * the canary and the delimiter, so the rest is tokenised once, not per request. Equal to tokens(text): no token
 * spans a line break, and normalisation and lower-casing never look across one (a line feed is a stable starter that
 * composes with nothing, and is neither cased nor case-ignorable).
 */
function promptTokens(text: string): string[] {
  const all: string[] = [];
  for (const line of text.split('\n')) {
    let lineTokens = promptLineTokens.get(line);
    if (lineTokens === undefined) {
      if (promptLineTokens.size >= PROMPT_LINE_CACHE_SIZE) promptLineTokens.clear();
      lineTokens = tokens(line);
      promptLineTokens.set(line, lineTokens);
    }
    for (const token of lineTokens) all.push(token);
  }
  return all;
}

/**
 * Whether `prompt` and one of `outputs` share a run of `n` consecutive tokens. The prompt is long and the outputs
 * short, so only the outputs' run starts are indexed, and a prompt position is compared token by token only where
 * an output run starts with its token: no n-gram string is built on either side.
 */
function sharesRun(prompt: readonly string[], outputs: readonly (readonly string[])[], n: number): boolean {
  const runsByFirstToken = new Map<string, { words: readonly string[]; start: number }[]>();
  for (const words of outputs) {
    for (let start = 0; start + n <= words.length; start += 1) {
      const first = words[start] ?? '';
      const runs = runsByFirstToken.get(first) ?? [];
      runs.push({ words, start });
      runsByFirstToken.set(first, runs);
    }
  }
  if (runsByFirstToken.size === 0) return false;
  for (let i = 0; i + n <= prompt.length; i += 1) {
    for (const { words, start } of runsByFirstToken.get(prompt[i] ?? '') ?? []) {
      let same = 1;
      while (same < n && words[start + same] === prompt[i + same]) same += 1;
      if (same === n) return true;
    }
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
    const windows = canaryWindows(context.canary, config.min_canary_chars);
    const reasons: string[] = [];
    if (windows.length === 0) reasons.push('no canary in context; cannot verify');
    else if (canaryIn(text, context.canary, windows)) reasons.push('canary found in output');

    const outputTokens = [tokens(text), tokens(reverse(text))];
    if (outputTokens.some((words) => words.length >= config.ngram) && sharesRun(promptTokens(context.systemPrompt), outputTokens, config.ngram)) {
      reasons.push(`output repeats ≥ ${config.ngram} consecutive system-prompt tokens`);
    }
    return { tripped: reasons.length > 0, reasons };
  },
};
