// Input check `secrets`: credentials, private keys and Luhn-valid card numbers in caller text (LLM02).
// Repairs by replacing each with `[REDACTED:kind]`; reasons name kinds and fields, never the secret.
import { z } from 'zod';
import { FieldSelection } from '../fields.js';
import { type Detector, redactFields } from '../redact.js';
import type { CheckDefinition } from '../types.js';

export const SECRET_KINDS = [
  'private_key',
  'jwt',
  'bearer_token',
  'openai_key',
  'stripe_key',
  'airlock_key',
  'aws_access_key',
  'github_token',
  'slack_token',
  'webhook_secret',
  'card_number',
] as const;
export type SecretKind = (typeof SECRET_KINDS)[number];

/** Luhn checksum over the digits of `candidate` (separators ignored). */
export function luhnValid(candidate: string): boolean {
  const digits = candidate.replace(/\D/g, '');
  if (digits.length < 13 || digits.length > 19 || /^(\d)\1+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return sum % 10 === 0;
}

// Order matters: whole blocks and JWTs go before `Bearer`, so "Bearer eyJ…" is reported once, as a JWT.
const DETECTORS: readonly Detector<SecretKind>[] = [
  {
    kind: 'private_key',
    pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----|[\s\S]*)/g,
  },
  { kind: 'jwt', pattern: /\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}/g },
  { kind: 'bearer_token', pattern: /\bBearer\s+[\w~+/.-]{16,}=*/gi },
  { kind: 'openai_key', pattern: /\bsk-(?:proj-|svcacct-|admin-)?[\w-]{20,}/g },
  { kind: 'stripe_key', pattern: /\b(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{16,}/g },
  { kind: 'airlock_key', pattern: /\bak_[0-9A-Za-z_]{16,}/g },
  { kind: 'aws_access_key', pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g },
  { kind: 'github_token', pattern: /\b(?:gh[pousr]_[0-9A-Za-z]{36,}|github_pat_\w{22,})/g },
  { kind: 'slack_token', pattern: /\bxox[abposr]-[0-9A-Za-z-]{10,}/g },
  { kind: 'webhook_secret', pattern: /\bwhsec_[0-9A-Za-z+/=]{16,}/g },
  { kind: 'card_number', pattern: /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g, accept: luhnValid },
];

export const SecretsConfig = z.strictObject({
  kinds: z.array(z.enum(SECRET_KINDS)).min(1).default([...SECRET_KINDS]).describe('Kinds of secret to look for'),
  fields: FieldSelection,
});
export type SecretsConfig = z.infer<typeof SecretsConfig>;

export const secretsCheck: CheckDefinition<SecretsConfig> = {
  name: 'secrets',
  description: 'API keys, tokens, private keys and card numbers in caller input; redacts to [REDACTED:kind]',
  stages: ['input'],
  canRepair: true,
  configSchema: SecretsConfig,
  run: (_context, value, config) =>
    redactFields(
      value,
      config.fields,
      DETECTORS.filter((detector) => config.kinds.includes(detector.kind)),
      () => (kind) => `[REDACTED:${kind}]`,
      'secret',
    ),
};
