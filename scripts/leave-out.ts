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
