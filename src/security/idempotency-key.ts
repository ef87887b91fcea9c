// Idempotency-Key parsing (IDEM-1), the request fingerprint (IDEM-4) and the tenant-scoped storage key (IDEM-3).
// Pure protocol: whether a route requires the key and what is stored are the middleware's and store's business.
import { createHash } from 'node:crypto';

const MAX_KEY_LENGTH = 255;
// Printable ASCII %x21-7E: what the key may contain once unquoted.
const KEY_PATTERN = /^[\x21-\x7e]+$/;
// An RFC 8941 sf-string: DQUOTE *( unescaped / "\" ( DQUOTE / "\" ) ) DQUOTE, no parameters.
const SF_STRING_PATTERN = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/;
/** Two bytes per character when every one is escaped, plus the quotes: longer headers cannot be valid. */
const MAX_HEADER_LENGTH = 2 * MAX_KEY_LENGTH + 2;

export type IdempotencyKeyParse =
  | { readonly ok: true; readonly key: string }
  | { readonly ok: false; readonly absent: true; readonly code: 'idempotency_key_missing' }
  | { readonly ok: false; readonly absent: false; readonly code: 'idempotency_key_invalid'; readonly reason: string };

const invalid = (reason: string): IdempotencyKeyParse => ({ ok: false, absent: false, code: 'idempotency_key_invalid', reason });

/**
 * Accepts the draft's sf-string form (`"…"`) and the bare token n8n and Stripe clients send, so both spell the same
 * key. A missing header yields `idempotency_key_missing`, which the caller returns only on routes that require one (IDEM-2).
 */
export function parseIdempotencyKey(header: string | undefined): IdempotencyKeyParse {
  if (header === undefined) return { ok: false, absent: true, code: 'idempotency_key_missing' };
  if (header.length > MAX_HEADER_LENGTH) return invalid('longer than 255 characters');
  let key = header;
  if (header.startsWith('"')) {
    const quoted = SF_STRING_PATTERN.exec(header)?.[1];
    if (quoted === undefined) return invalid('not a valid quoted string');
    key = quoted.replace(/\\(["\\])/g, '$1');
  }
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) return invalid('must be 1 to 255 characters');
  if (!KEY_PATTERN.test(key)) return invalid('must be printable ASCII without spaces');
  return { ok: true, key };
}

/** Sorted by name (values of one name keep their order), so `?b=1&a=2` and `?a=2&b=1` fingerprint alike. */
function normalizeQuery(query: string): string {
  const params = new URLSearchParams(query);
  params.sort();
  return params.toString();
}

/**
 * SHA-256 hex over method, route template, normalized query and the raw body bytes (IDEM-4). The text fields cannot
 * contain a newline (the query is re-encoded), so the newline-separated prefix is unambiguous.
 */
export function requestFingerprint(method: string, routeTemplate: string, rawBody: Buffer, query = ''): string {
  return createHash('sha256')
    .update(`${method.toUpperCase()}\n${routeTemplate}\n${normalizeQuery(query)}\n`, 'utf8')
    .update(rawBody)
    .digest('hex');
}

/**
 * The draft's composite key (IDEM-3): the same client key under another API key or route is another record.
 * JSON encoding keeps the parts unambiguous whatever characters the key holds.
 */
export function idempotencyScope(apiKeyId: string, method: string, routeTemplate: string, key: string): string {
  return JSON.stringify([apiKeyId, method.toUpperCase(), routeTemplate, key]);
}
