// Standard Webhooks v1 used as request signing (SIG-1..SIG-7): header checks, timestamp tolerance and HMAC verification.
// Returns result values; deciding the HTTP response, and de-duplicating the webhook id (SIG-5), belong to the caller.
import { createHmac } from 'node:crypto';
import { constantTimeEqual } from './constant-time.js';

/** SIG-4: the Standard Webhooks library tolerance, applied in both directions. */
export const DEFAULT_TOLERANCE_SECONDS = 300;
const SECRET_PREFIX = 'whsec_';
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;
const MAX_ID_LENGTH = 256;
/** Enough for a handful of rotated signatures; a longer header is not worth splitting. */
const MAX_SIGNATURE_HEADER_LENGTH = 1024;
// SIG-6: printable ASCII without `.`, so the id cannot shift the boundaries of the signed string.
const ID_PATTERN = /^[\x21-\x2d\x2f-\x7e]+$/;
const TIMESTAMP_PATTERN = /^[0-9]{1,10}$/;
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export interface SignatureHeaders {
  readonly id: string | undefined;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
}

/** Which check failed (SIG-7): safe to log, never contains the secret or the signature. */
export type SignatureFailureReason = 'missing' | 'format' | 'timestamp' | 'no match';

export type SignatureVerification =
  | { readonly ok: true; readonly webhookId: string }
  | {
      readonly ok: false;
      readonly code: 'signature_missing' | 'signature_invalid' | 'signature_timestamp_out_of_tolerance';
      readonly reason: SignatureFailureReason;
    };

export interface VerifyWebhookSignatureOptions {
  readonly headers: SignatureHeaders;
  /** The body exactly as received, captured before JSON parsing (SIG-2). */
  readonly rawBody: Buffer;
  /**
   * Every currently valid `whsec_` secret of the API key; two during a rotation overlap (SIG-7). An empty list (all
   * expired) verifies nothing: the result is `no match`, never a pass.
   */
  readonly secrets: readonly string[];
  readonly now: Date;
  readonly toleranceSeconds?: number;
}

/**
 * Decodes a `whsec_` secret. Secrets are our configuration, not caller input, so a bad one throws: failing closed
 * with a 500 beats quietly verifying against a weak or empty key.
 */
export function decodeSigningSecret(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : '';
  const key = BASE64_PATTERN.test(encoded) ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
  if (key.byteLength < MIN_SECRET_BYTES || key.byteLength > MAX_SECRET_BYTES) {
    throw new RangeError(`signing secrets must be ${SECRET_PREFIX} + base64 of ${MIN_SECRET_BYTES}-${MAX_SECRET_BYTES} bytes`);
  }
  return key;
}

/** SIG-4: tolerance 0 (Stripe's "no check") or a fraction must be impossible to configure. */
function assertTolerance(toleranceSeconds: number): void {
  if (!Number.isSafeInteger(toleranceSeconds) || toleranceSeconds < 1) {
    throw new RangeError('toleranceSeconds must be an integer of at least 1');
  }
}

const isValidId = (id: string): boolean => id.length <= MAX_ID_LENGTH && ID_PATTERN.test(id);

/** HMAC-SHA256 over `${id}.${timestamp}.` followed by the raw body bytes, never a re-serialisation (SIG-2). */
function hmac(key: Buffer, id: string, timestamp: string, rawBody: Buffer): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`, 'utf8').update(rawBody).digest();
}

/** The decoded MACs of the `v1,` entries; other versions are skipped and malformed entries dropped (SIG-3). */
function v1Signatures(header: string): Buffer[] {
  return header
    .split(' ')
    .map((entry) => entry.split(','))
    .flatMap(([version, encoded, ...extra]) =>
      version === 'v1' && encoded !== undefined && extra.length === 0 && BASE64_PATTERN.test(encoded)
        ? [Buffer.from(encoded, 'base64')]
        : [],
    );
}

/** Verifies a Standard Webhooks v1 signed request; any matching entry under any secret passes (rotation). */
export function verifyWebhookSignature(options: VerifyWebhookSignatureOptions): SignatureVerification {
  const { headers, rawBody, now, toleranceSeconds = DEFAULT_TOLERANCE_SECONDS } = options;
  assertTolerance(toleranceSeconds);
  const keys = options.secrets.map(decodeSigningSecret);

  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) return { ok: false, code: 'signature_missing', reason: 'missing' };
  if (!isValidId(id) || !TIMESTAMP_PATTERN.test(timestamp) || signature.length > MAX_SIGNATURE_HEADER_LENGTH) {
    return { ok: false, code: 'signature_invalid', reason: 'format' };
  }
  const ageSeconds = Math.floor(now.getTime() / 1000) - Number(timestamp);
  if (Math.abs(ageSeconds) > toleranceSeconds) {
    return { ok: false, code: 'signature_timestamp_out_of_tolerance', reason: 'timestamp' };
  }
  const presented = v1Signatures(signature);
  const matched = keys.some((key) => {
    const expected = hmac(key, id, timestamp, rawBody);
    return presented.some((candidate) => constantTimeEqual(candidate, expected));
  });
  return matched ? { ok: true, webhookId: id } : { ok: false, code: 'signature_invalid', reason: 'no match' };
}

export interface SignWebhookOptions {
  readonly id: string;
  /** Unix seconds, sent as the `webhook-timestamp` header. */
  readonly timestamp: number;
  readonly rawBody: Buffer;
  readonly secret: string;
}

/** Produces the `webhook-signature` value `v1,<base64>`; join several with a space to sign with old and new secrets. */
export function signWebhook(options: SignWebhookOptions): string {
  const timestamp = String(options.timestamp);
  if (!isValidId(options.id) || !Number.isSafeInteger(options.timestamp) || !TIMESTAMP_PATTERN.test(timestamp)) {
    throw new RangeError('webhook id must be printable ASCII without "." and the timestamp whole Unix seconds');
  }
  return `v1,${hmac(decodeSigningSecret(options.secret), options.id, timestamp, options.rawBody).toString('base64')}`;
}

/** SIG-5: a replayed id must be remembered for as long as its timestamp can still pass, i.e. twice the tolerance. */
export const replayWindowSeconds = (toleranceSeconds: number = DEFAULT_TOLERANCE_SECONDS): number => {
  assertTolerance(toleranceSeconds);
  return 2 * toleranceSeconds;
};
