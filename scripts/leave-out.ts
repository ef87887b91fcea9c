// Leave-category-out fitting shared by the guard evaluations (PI-6): a detector's tunable part is a noisy-OR weight
// per named signal, refitted from labelled examples, so each attack category can be measured by a detector whose
// weights were chosen without it. The signal patterns themselves are hand-written; a signal that only the held-out
// category fires gets no weight in that fold, which is how the leave-out figure charges for category-specific rules.

/** The signals that fired on one text. */
export type Fired = readonly string[];

// Smoothing (half an example) keeps a signal seen on few texts from getting an extreme weight.
const PRIOR = 0.5;

/**
 * Weight per signal: 1 − (benign firing rate / attack firing rate), floored at 0 and capped at `cap`. A signal that
 * fires as often on benign text as on attacks weighs nothing; one that never fires on benign text approaches the cap;
 * one that no training attack fires weighs 0.
 */
export function fitNoisyOrWeights(attacks: readonly Fired[], benign: readonly Fired[], cap = 0.9): Record<string, number> {
  const firing = (examples: readonly Fired[]): Map<string, number> => {
    const counts = new Map<string, number>();
    for (const fired of examples) for (const name of new Set(fired)) counts.set(name, (counts.get(name) ?? 0) + 1);
    return counts;
  };
  const attackCounts = firing(attacks);
  const benignCounts = firing(benign);
  const weights: Record<string, number> = {};
  for (const name of new Set([...attackCounts.keys(), ...benignCounts.keys()])) {
    // A signal no training attack fires gets nothing, however rare it is in benign text.
    if (!attackCounts.has(name)) {
      weights[name] = 0;
      continue;
    }
    const attackRate = ((attackCounts.get(name) ?? 0) + PRIOR) / (attacks.length + 1);
    const benignRate = ((benignCounts.get(name) ?? 0) + PRIOR) / (benign.length + 1);
    weights[name] = Math.round(Math.min(cap, Math.max(0, 1 - benignRate / attackRate)) * 1000) / 1000;
  }
  return weights;
}

/** 1 − Π(1 − w) over the fired signals. */
export const noisyOr = (fired: Fired, weights: Readonly<Record<string, number>>): number =>
  1 - fired.reduce((rest, name) => rest * (1 - (weights[name] ?? 0)), 1);

/** Every item but those of one category, and those. */
export function split<T extends { readonly category: string }>(items: readonly T[], category: string): { train: T[]; held: T[] } {
  return { train: items.filter((item) => item.category !== category), held: items.filter((item) => item.category === category) };
}

/** `a/b (0.xyz)`, the way both evaluations print a rate. */
export const fraction = (hits: number, total: number): string => `${(hits / Math.max(total, 1)).toFixed(3)} (${hits}/${total})`;

/** Items at even (`0`) or odd (`1`) positions: the fitting half and the reporting half of a benign set. */
export const half = <T>(items: readonly T[], parity: 0 | 1): T[] => items.filter((_item, index) => index % 2 === parity);

// ---- Vocabulary refit (issue 15 item 1) ---------------------------------------------------------------------
// The signal patterns are hand-written word lists and phrasings, and they were written with evaldata in view. To
// keep a held-out category from lending the screen its own vocabulary, each finding is traced to the literal words
// of its pattern that it used ("ignore … previous … instructions"), and in the fold holding a category out a finding
// counts only when every literal it used was also used by some finding of the same rule on a training-category
// attack. A verb, noun or phrasing only the held-out category exercises is thereby removed from the word list for
// that fold: the vocabulary is refitted, not just the weights.
// Words a rule takes from a general resource instead of its patterns (the WordNet verb and noun lexicon and the closed
// grammatical classes behind the ingest scan's role reading, src/retrieval/reader-role.ts) are not literals and no
// fold removes them; eval:ingest-scan --profile reports the ones only the held-out category used.

/** One finding of a hand-written rule: its name and the pattern literals the matched text used. */
export interface Occurrence {
  readonly name: string;
  readonly literals: readonly string[];
}

/** What fired on one text: findings of pattern rules (refitted per fold) and signals with no vocabulary (kept). */
export interface Evidence {
  readonly occurrences: readonly Occurrence[];
  readonly other: readonly string[];
}

const ESCAPE = /\\(?:u\{[0-9a-f]+\}|u[0-9a-f]{4}|x[0-9a-f]{2}|[a-z])/gi;
const CHARACTER_CLASS = /\[(?:\\.|[^\]\\])*\]/g;
const LITERAL = /[a-z][a-z'-]*[a-z]|[a-z]{2,}/g;
const WORD = /[a-z][a-z'-]*[a-z]|[a-z]+/g;
// Literals this short are matched whole; longer ones also match inflections ("instruction" ~ "instructions?",
// "summarise" ~ "summari[sz]e").
const STEM = 4;

/** The literal words of some patterns (escapes and character classes split words; no alternation is expanded). */
export function patternVocabulary(patterns: readonly RegExp[]): string[] {
  const words = patterns.flatMap((pattern) => pattern.source.toLowerCase().replace(ESCAPE, ' ').replace(CHARACTER_CLASS, ' ').match(LITERAL) ?? []);
  return [...new Set(words)].sort((a, b) => b.length - a.length);
}

/** The pattern literals matched text used: each word of it that is, or shares a stem with, a literal. */
export function literalsUsed(matched: string, vocabulary: readonly string[]): string[] {
  const literals = (matched.toLowerCase().match(WORD) ?? []).flatMap((word) => {
    const literal = vocabulary.find(
      (candidate) => candidate === word || (Math.min(candidate.length, word.length) >= STEM && (word.startsWith(candidate) || candidate.startsWith(word))),
    );
    return literal === undefined ? [] : [literal];
  });
  return [...new Set(literals)];
}

/** Every match of `pattern` in `text` (global search whatever the pattern's own flags). */
export function allMatches(pattern: RegExp, text: string): string[] {
  const global = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`);
  return [...text.matchAll(global)].map((match) => match[0]);
}

/** Per rule, the literals findings on the training attacks used. */
export type Support = ReadonlyMap<string, ReadonlySet<string>>;

export function vocabularySupport(training: readonly Evidence[]): Support {
  const support = new Map<string, Set<string>>();
  for (const evidence of training)
    for (const { name, literals } of evidence.occurrences) {
      const seen = support.get(name) ?? new Set<string>();
      for (const literal of literals) seen.add(literal);
      support.set(name, seen);
    }
  return support;
}

/** The signals that fire on a text when the rules may only use `support`'s vocabulary. */
export function firedWith(evidence: Evidence, support: Support): string[] {
  const supported = evidence.occurrences.filter(({ name, literals }) => {
    const seen = support.get(name);
    return seen !== undefined && literals.every((literal) => seen.has(literal));
  });
  return [...new Set([...supported.map((occurrence) => occurrence.name), ...evidence.other])];
}

/** Everything that fired, vocabulary unrestricted (the shipped screen). */
export const firedAll = (evidence: Evidence): string[] => [...new Set([...evidence.occurrences.map((occurrence) => occurrence.name), ...evidence.other])];
