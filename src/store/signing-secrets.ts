// SIG-7: signing secrets leave the process only sealed (AES-256-GCM, src/security/secret-box.ts), each bound to its
// API key's id. Shared by the SQLite and PostgreSQL key stores so both store the same sealed form.
import type { SecretBox } from '../security/secret-box.js';
import type { SigningSecret } from './types.js';

const contextOf = (keyId: string): string => `api_keys/${keyId}/signing_secrets`;

export const sealSigningSecrets = (box: SecretBox, keyId: string, secrets: readonly SigningSecret[]): SigningSecret[] =>
  secrets.map((entry) => ({ ...entry, secret: box.seal(entry.secret, contextOf(keyId)) }));

/** Rows written before encryption hold plaintext `whsec_` values; they are read as they are until re-sealed. */
export const openSigningSecrets = (box: SecretBox, keyId: string, stored: readonly SigningSecret[]): SigningSecret[] =>
  stored.map((entry) => (box.isSealed(entry.secret) ? { ...entry, secret: box.open(entry.secret, contextOf(keyId)) } : entry));

/** The row's secrets sealed under the current key, or undefined when they already are. */
export function resealed(box: SecretBox, keyId: string, stored: readonly SigningSecret[]): SigningSecret[] | undefined {
  if (!stored.some((entry) => box.needsResealing(entry.secret))) return undefined;
  return sealSigningSecrets(box, keyId, openSigningSecrets(box, keyId, stored));
}
