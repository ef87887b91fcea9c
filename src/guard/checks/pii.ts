// Input check `pii`: e-mail addresses, phone numbers and IBANs in caller text, replaced with numbered placeholders
// (`[EMAIL_1]`) so the model can still tell values apart. Only per-kind counts leave the check (LLM02-2).
import { z } from 'zod';
import { FieldSelection } from '../fields.js';
import { type Detector, type Placeholder, redactFields } from '../redact.js';
import type { CheckDefinition } from '../types.js';

export const PII_KINDS = ['email', 'iban', 'phone'] as const;
export type PiiKind = (typeof PII_KINDS)[number];

/** ISO 13616 mod-97 check, so that arbitrary upper-case codes are not taken for IBANs. */
export function ibanValid(candidate: string): boolean {
  const compact = candidate.replace(/\s/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(compact)) return false;
  const rearranged = `${compact.slice(4)}${compact.slice(0, 4)}`;
  const numeric = rearranged.replace(/[A-Z]/g, (letter) => String(letter.charCodeAt(0) - 55));
  let remainder = 0;
  for (const digit of numeric) remainder = (remainder * 10 + Number(digit)) % 97;
  return remainder === 1;
}

// A phone number has 8–15 digits (E.164 allows 15); ISO dates and plain long numbers without a leading + or
// separators are left alone, which keeps order numbers and amounts from being taken for phones.
function phoneLike(candidate: string): boolean {
  const digits = candidate.replace(/\D/g, '').length;
  if (digits < 8 || digits > 15) return false;
  if (/^\d{4}-\d{2}-\d{2}$/.test(candidate)) return false;
  return /^(?:\+|00)/.test(candidate) || /[\s().-]/.test(candidate);
}

const DETECTORS: readonly Detector<PiiKind>[] = [
  { kind: 'email', pattern: /[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g },
  { kind: 'iban', pattern: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/gi, accept: ibanValid },
  { kind: 'phone', pattern: /(?<![\w+])(?:\+|00)?\(?\d[\d\s().-]{6,20}\d(?!\w)/g, accept: phoneLike },
];

export const PiiConfig = z.strictObject({
  kinds: z.array(z.enum(PII_KINDS)).min(1).default([...PII_KINDS]).describe('Kinds of personal data to redact'),
  fields: FieldSelection,
});
export type PiiConfig = z.infer<typeof PiiConfig>;

/** Same value → same placeholder within one request, so "[EMAIL_1] wrote to [EMAIL_2]" keeps its meaning. */
function numberedPlaceholders(): Placeholder<PiiKind> {
  const seen = new Map<string, string>();
  const perKind = new Map<PiiKind, number>();
  return (kind, match) => {
    const key = `${kind}\u0000${match.toLowerCase().replace(/\s/g, '')}`;
    const existing = seen.get(key);
    if (existing !== undefined) return existing;
    const n = (perKind.get(kind) ?? 0) + 1;
    perKind.set(kind, n);
    const placeholder = `[${kind.toUpperCase()}_${n}]`;
    seen.set(key, placeholder);
    return placeholder;
  };
}

export const piiCheck: CheckDefinition<PiiConfig> = {
  name: 'pii',
  description: 'E-mail addresses, phone numbers and IBANs in caller input; redacts to numbered placeholders',
  stages: ['input'],
  canRepair: true,
  configSchema: PiiConfig,
  run: (_context, value, config) =>
    redactFields(
      value,
      config.fields,
      DETECTORS.filter((detector) => config.kinds.includes(detector.kind)),
      numberedPlaceholders,
      'personal data',
    ),
};
