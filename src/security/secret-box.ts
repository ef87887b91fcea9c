// Encryption at rest for secrets the gateway must be able to read back (SIG-7: signing secrets; outbound webhook
// endpoint secrets): AES-256-GCM under a 32-byte key from AIRLOCK_SECRET_KEY, with the previous key still accepted for
// opening so the key can be rotated without downtime. A sealed value names the key that sealed it, so rotation knows
// which rows to re-seal, and is bound to a context (e.g. the owning row's id) so a ciphertext copied to another row fails.
import { closeSync, fstatSync, openSync, readFileSync, writeSync } from 'node:fs';
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import type { RandomBytes } from './random.js';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SCHEME = 'aes256gcm';
const SEALED_PATTERN = /^aes256gcm:([0-9a-f]{16}):([A-Za-z0-9_-]+)$/;
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64_KEY = /^[A-Za-z0-9+/]{43}=$/;

/** The key could not be parsed, a sealed value names a key we do not hold, or its tag does not verify. */
export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
}

export interface SecretBox {
  /** Encrypts `plaintext` under the current key, bound to `context`. */
  seal(plaintext: string, context: string): string;
  /** Decrypts a value sealed under the current or a previous key with the same `context`; throws SecretBoxError otherwise. */
  open(sealed: string, context: string): string;
  /** True for a value this module produced (under any key), false for legacy plaintext. */
  isSealed(value: string): boolean;
  /** True when the value is plaintext or sealed under a key other than the current one: re-seal it. */
  needsResealing(value: string): boolean;
}

/** Parses a 32-byte key written as 64 hex characters or as base64 (`openssl rand -base64 32`). */
export function parseSecretKey(text: string): Buffer {
  const trimmed = text.trim();
  if (HEX_KEY.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (BASE64_KEY.test(trimmed)) return Buffer.from(trimmed, 'base64');
  throw new SecretBoxError(`a secret key must be ${KEY_BYTES} bytes as 64 hex characters or base64 (openssl rand -base64 32)`);
}

/** Opened values kept per box; cleared when full (a deployment has a few signing secrets per key). */
const OPENED_CACHE_SIZE = 4_096;

/** A public, non-reversible name for a key, so a sealed value says which key opens it without revealing the key. */
const keyIdOf = (key: Buffer): string => createHash('sha256').update('airlock-secret-box\0').update(key).digest('hex').slice(0, 16);

export function createSecretBox(options: { readonly key: Buffer; readonly previousKeys?: readonly Buffer[]; readonly random: RandomBytes }): SecretBox {
  for (const key of [options.key, ...(options.previousKeys ?? [])]) {
    if (key.byteLength !== KEY_BYTES) throw new SecretBoxError(`a secret key must be ${KEY_BYTES} bytes`);
  }
  const currentId = keyIdOf(options.key);
  const keysById = new Map<string, Buffer>([...(options.previousKeys ?? []), options.key].map((key) => [keyIdOf(key), key]));
  // A sealed value that verified once under a context opens to the same plaintext every time: the key store opens a
  // key's signing secrets on every signed request, so they are decrypted once, not per request. Failures are not kept.
  const opened = new Map<string, string>();

  return {
    seal(plaintext, context) {
      const iv = Buffer.from(options.random(IV_BYTES));
      const cipher = createCipheriv('aes-256-gcm', options.key, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return `${SCHEME}:${currentId}:${Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString('base64url')}`;
    },
    open(sealed, context) {
      const cacheKey = `${context}\0${sealed}`;
      const known = opened.get(cacheKey);
      if (known !== undefined) return known;
      const match = SEALED_PATTERN.exec(sealed);
      if (match === null) throw new SecretBoxError('not a sealed value');
      const key = keysById.get(match[1] as string);
      if (key === undefined) throw new SecretBoxError('sealed under a key that is neither AIRLOCK_SECRET_KEY nor AIRLOCK_SECRET_KEY_PREVIOUS');
      const bytes = Buffer.from(match[2] as string, 'base64url');
      if (bytes.byteLength < IV_BYTES + TAG_BYTES) throw new SecretBoxError('sealed value truncated');
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(bytes.subarray(bytes.byteLength - TAG_BYTES));
      let plaintext: string;
      try {
        plaintext = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.byteLength - TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch {
        throw new SecretBoxError('sealed value does not verify (altered, or moved from another record)');
      }
      if (opened.size >= OPENED_CACHE_SIZE) opened.clear();
      opened.set(cacheKey, plaintext);
      return plaintext;
    },
    isSealed: (value) => SEALED_PATTERN.test(value),
    needsResealing: (value) => SEALED_PATTERN.exec(value)?.[1] !== currentId,
  };
}

/**
 * Development convenience: reads the key file, or creates it with 32 random bytes readable by the owner only (0600).
 * A file that group or others can read is refused, as ssh refuses a private key: the key would protect nothing.
 */
export function readOrCreateKeyFile(path: string, random: RandomBytes): Buffer {
  try {
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, `${Buffer.from(random(KEY_BYTES)).toString('base64')}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const fd = openSync(path, 'r');
  try {
    if ((fstatSync(fd).mode & 0o077) !== 0) throw new SecretBoxError(`${path} is readable by group or others; chmod 600 it`);
    return parseSecretKey(readFileSync(fd, 'utf8'));
  } finally {
    closeSync(fd);
  }
}
