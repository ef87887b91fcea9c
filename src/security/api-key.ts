// API keys (API2) and signing secrets (SIG-7): generation, bounded parsing and constant-time hash comparison.
// Only the SHA-256 of a key is ever stored; the key id is the lookup handle, the hash the proof.
import { createHash } from 'node:crypto';
import { constantTimeEqual } from './constant-time.js';
import type { RandomBytes } from './random.js';

export const ENVIRONMENTS = { development: 'dev', staging: 'stg', production: 'prod' } as const;
export type Environment = keyof typeof ENVIRONMENTS;

const KEY_ID_BYTES = 8;
const SECRET_BYTES = 32;
const SIGNING_SECRET_BYTES = 32;
/** Prefix + longest env + id + a 64-byte secret, with room to spare; anything longer is junk, rejected before any regex. */
const MAX_KEY_LENGTH = 160;
// The id is hex so it never contains `_`; the base64url secret may, so it is everything after the third separator.
const KEY_PATTERN = /^ak_(dev|stg|prod)_([0-9a-f]{16})_([A-Za-z0-9_-]{43,86})$/;

const ENVIRONMENT_BY_TAG = new Map<string, Environment>(
  Object.entries(ENVIRONMENTS).map(([environment, tag]) => [tag, environment as Environment]),
);

export interface GeneratedApiKey {
  /** The lookup id stored in clear and shown in listings. */
  readonly id: string;
  /** The full key, shown to its owner once and never stored. */
  readonly key: string;
  /** SHA-256 hex of the full key: the only secret-derived value that is stored. */
  readonly hash: string;
}

export interface ParsedApiKey {
  readonly environment: Environment;
  readonly id: string;
  /**
   * SHA-256 hex of the whole presented key, comparable with `GeneratedApiKey.hash`. Hashing the whole key binds the
   * environment and id too, so a secret cannot be replayed under another prefix.
   */
  readonly secretHash: string;
}

const sha256Hex = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

function randomBytesOf(random: RandomBytes, size: number): Buffer {
  const bytes = random(size);
  // A short read from an injected source would silently shrink the key space.
  if (bytes.byteLength !== size) throw new RangeError(`random source returned ${bytes.byteLength} bytes, expected ${size}`);
  return Buffer.from(bytes);
}

/** Creates a key `ak_<env>_<keyId>_<secret>`; the fixed prefix lets secret scanners recognise leaked keys. */
export function generateApiKey(options: { environment: Environment; random: RandomBytes }): GeneratedApiKey {
  const id = randomBytesOf(options.random, KEY_ID_BYTES).toString('hex');
  const secret = randomBytesOf(options.random, SECRET_BYTES).toString('base64url');
  const key = `ak_${ENVIRONMENTS[options.environment]}_${id}_${secret}`;
  return { id, key, hash: sha256Hex(key) };
}

/** Parses a presented key; returns null on anything malformed and never throws, whatever the input. */
export function parseApiKey(raw: unknown): ParsedApiKey | null {
  if (typeof raw !== 'string' || raw.length > MAX_KEY_LENGTH) return null;
  const match = KEY_PATTERN.exec(raw);
  const environment = match?.[1] === undefined ? undefined : ENVIRONMENT_BY_TAG.get(match[1]);
  const id = match?.[2];
  if (environment === undefined || id === undefined) return null;
  return { environment, id, secretHash: sha256Hex(raw) };
}

/** Compares a presented key's hash with the stored one in constant time; malformed or unequal lengths are just false. */
export function verifyApiKeyHash(presentedHash: string, storedHash: string): boolean {
  return constantTimeEqual(Buffer.from(presentedHash, 'utf8'), Buffer.from(storedHash, 'utf8'));
}

/** A Standard Webhooks signing secret: `whsec_` + base64 of 32 random bytes (SIG-7 asks for at least 24). */
export function generateSigningSecret(random: RandomBytes): string {
  return `whsec_${randomBytesOf(random, SIGNING_SECRET_BYTES).toString('base64')}`;
}
