// Pattern-based redaction shared by the secrets and pii checks: find, optionally validate, replace, and count per
// kind. The matched values never leave this module; only the counts and the redacted text do.
import type { CheckResult } from './types.js';
import { type FieldSelection, mapStrings } from './fields.js';
import { stripInvisible } from './normalise.js';

export interface Detector<Kind extends string> {
  readonly kind: Kind;
  /** Must carry the `g` flag. */
  readonly pattern: RegExp;
  /** Extra validation (Luhn, mod-97) to keep false positives down. */
  readonly accept?: (match: string) => boolean;
}

/** Per-text placeholder factory, so a check can number repeated values consistently (`[EMAIL_1]`). */
export type Placeholder<Kind extends string> = (kind: Kind, match: string) => string;

function redactText<Kind extends string>(
  text: string,
  detectors: readonly Detector<Kind>[],
  placeholder: Placeholder<Kind>,
  counts: Map<Kind, number>,
): string {
  return detectors.reduce(
    (current, { kind, pattern, accept }) =>
      current.replace(pattern, (match) => {
        if (accept !== undefined && !accept(match)) return match;
        counts.set(kind, (counts.get(kind) ?? 0) + 1);
        return placeholder(kind, match);
      }),
    // Invisible characters are stripped first so a zero-width space cannot split a key past the patterns.
    stripInvisible(text),
  );
}

/** Runs the detectors over the selected fields and builds the check result (trip + repaired value + counts). */
export function redactFields<Kind extends string>(
  value: Readonly<Record<string, unknown>>,
  fields: FieldSelection,
  detectors: readonly Detector<Kind>[],
  makePlaceholder: () => Placeholder<Kind>,
  label: string,
): CheckResult {
  const counts = new Map<Kind, number>();
  const placeholder = makePlaceholder();
  const foundIn: string[] = [];
  const repaired = mapStrings(value, fields, (text, path) => {
    const before = [...counts.values()].reduce((a, b) => a + b, 0);
    const out = redactText(text, detectors, placeholder, counts);
    if ([...counts.values()].reduce((a, b) => a + b, 0) > before) foundIn.push(path);
    return out;
  });
  if (counts.size === 0) return { tripped: false, reasons: [] };
  const kinds = [...counts.entries()].map(([kind, n]) => `${kind}×${n}`).join(', ');
  return {
    tripped: true,
    reasons: [`${label} found (${kinds}) in ${foundIn.join(', ')}`],
    repaired,
    redactions: Object.fromEntries(counts),
  };
}

