// Authentication: API key → principal (constant-time hash check, environment, expiry, revocation), then the
// Standard Webhooks signature over the raw body when the key requires or the caller sends one (SIG-1..SIG-8).
// Failures are counted per client IP (RL-3) and never against any key's quota.
import type { RequestHandler, Request, Response } from 'express';
import { AppError, PROBLEMS, type ProblemCode } from '../../errors.js';
import { parseApiKey, verifyApiKeyHash } from '../../security/api-key.js';
import { replayWindowSeconds, verifyWebhookSignature } from '../../security/webhook-signature.js';
import type { RateLimits } from '../../security/rate-limit.js';
import type { ApiKeyRecord, Environment, KeyStore } from '../../store/types.js';
import { isAdmin, type Principal } from '../../scopes.js';
import { rawBodyOf } from './json-body.js';
import { claimedMessage, type ReplayCache, type SignedMessage } from '../../security/replay-cache.js';

export interface AuthDeps {
  readonly keys: KeyStore;
  readonly environment: Environment;
  readonly limits: RateLimits;
  readonly clock: () => Date;
  readonly replayCache: ReplayCache;
  /** Fresh tokens that fence each webhook-id claim. */
  readonly newId: () => string;
  /**
   * Set on routes whose handler answers a repeated webhook-id from its stored idempotent response (the task routes);
   * everywhere else a completed id is refused outright.
   */
  readonly answersRepeats?: boolean;
}

/** Last-use stamps are written at most this often per key, so authentication does not write on every request. */
const TOUCH_INTERVAL_MS = 60_000;


export function authenticate(deps: AuthDeps): RequestHandler {
  async function rejectAndCount(req: Request, detail: string): Promise<never> {
    await deps.limits.consumeAuthFailure(req.ip ?? 'unknown');
    throw new AppError('unauthenticated', { detail });
  }

  async function keyFor(req: Request): Promise<ApiKeyRecord> {
    const header = req.get('authorization');
    // RFC 9110 §11.1: the scheme name is case-insensitive ("bearer" from hand-configured n8n headers is common).
    const presented = /^bearer +(\S+) *$/i.exec(header ?? '')?.[1];
    if (presented === undefined) return rejectAndCount(req, 'Send an API key as "Authorization: Bearer <key>".');
    const parsed = parseApiKey(presented);
    const record = parsed === null ? undefined : await deps.keys.findById(parsed.id);
    if (parsed === null || record === undefined || !verifyApiKeyHash(parsed.secretHash, record.secretHash)) {
      return rejectAndCount(req, 'The API key is not valid.');
    }
    const now = deps.clock();
    if (record.revokedAt !== null) return rejectAndCount(req, 'The API key has been revoked.');
    if (record.expiresAt !== null && Date.parse(record.expiresAt) <= now.getTime()) return rejectAndCount(req, 'The API key has expired.');
    if (record.environment !== deps.environment || parsed.environment !== deps.environment) {
      return rejectAndCount(req, `The API key is for ${record.environment}; this server is ${deps.environment}.`);
    }
    if (record.lastUsedAt === null || now.getTime() - Date.parse(record.lastUsedAt) > TOUCH_INTERVAL_MS) {
      await deps.keys.touch(record.id, now.toISOString());
    }
    return record;
  }

  async function verifySignature(req: Request, res: Response, record: ApiKeyRecord): Promise<void> {
    const headers = { id: req.get('webhook-id'), timestamp: req.get('webhook-timestamp'), signature: req.get('webhook-signature') };
    const signed = headers.id !== undefined || headers.signature !== undefined;
    if (!record.requireSignature && !signed) return;
    const now = deps.clock();
    const secrets = record.signingSecrets
      .filter((secret) => secret.expiresAt === null || Date.parse(secret.expiresAt) > now.getTime())
      .map((secret) => secret.secret);
    const result = verifyWebhookSignature({ headers, rawBody: rawBodyOf(req.body), secrets, now });
    if (!result.ok) {
      await deps.limits.consumeAuthFailure(req.ip ?? 'unknown');
      throw new AppError(result.code, { detail: `Signature check failed: ${result.reason}.` });
    }
    // SIG-5: the webhook-id alone decides whether this is a replay; no unsigned header (Idempotency-Key) does (B2).
    const entry = { scope: record.id, id: result.webhookId };
    const claim = await deps.replayCache.claim(entry, deps.newId(), replayWindowSeconds(), now);
    switch (claim.kind) {
      case 'in_flight':
        throw new AppError('signed_request_in_progress', { detail: 'A request with this webhook-id is still running.', headers: { 'Retry-After': '1' } });
      case 'completed':
        if (claim.replayScope === null || deps.answersRepeats !== true) throw new AppError('request_replayed', { detail: 'This webhook-id was already received.' });
        res.locals['signedMessage'] = { kind: 'repeat', replayScope: claim.replayScope } satisfies SignedMessage;
        return;
      case 'claimed': {
        const message = claimedMessage(deps.replayCache, entry, claim.token, replayWindowSeconds(), deps.clock);
        res.locals['signedMessage'] = message;
        // B8: routes that know the outcome settle the id before they answer; any other response settles it by its
        // status once sent. A response that never finishes leaves the id in flight until its TTL (refused, not rerun).
        res.once('finish', () => void settleByStatus(res, message));
        return;
      }
    }
  }

  return async function authenticate(req, res, next) {
    const gate = await deps.limits.checkAuthFailures(req.ip ?? 'unknown');
    if (!gate.allowed) {
      throw new AppError('rate_limited', {
        detail: 'Too many failed authentications from this address.',
        headers: { 'Retry-After': String(gate.retryAfterSeconds ?? 60), 'RateLimit-Policy': gate.policyHeader, RateLimit: gate.limitHeader },
        extensions: { 'violated-policies': [gate.policy] },
      });
    }
    const record = await keyFor(req);
    await verifySignature(req, res, record);
    const principal: Principal = { keyId: record.id, scopes: record.scopes };
    res.locals['principal'] = principal;
    next();
  };
}

/** A final outcome consumes the webhook-id; a retryable one (429, 5xx, a 409 to retry) frees it for the retry (B8). */
function settleByStatus(res: Response, message: SignedMessage): Promise<void> {
  if (message.kind !== 'first' || message.settled) return Promise.resolve();
  const code = res.locals['problemCode'] as ProblemCode | undefined;
  const retryable = code !== undefined && code in PROBLEMS ? PROBLEMS[code].retryable : res.statusCode === 429 || res.statusCode >= 500;
  return retryable ? message.release() : message.complete(null);
}

/** The webhook-id claim of a signed request as a TaskCall member, for the code that learns its outcome (none when unsigned). */
export function withSignedMessage(locals: Record<string, unknown>): { signedMessage?: SignedMessage } {
  const message = locals['signedMessage'] as SignedMessage | undefined;
  return message === undefined ? {} : { signedMessage: message };
}

export const principalOf = (locals: Record<string, unknown>): Principal => {
  const principal = locals['principal'] as Principal | undefined;
  if (principal === undefined) throw new AppError('unauthenticated');
  return principal;
};

export const requireAdmin: RequestHandler = (_req, res, next) => {
  const principal = principalOf(res.locals);
  if (!isAdmin(principal)) throw new AppError('forbidden_scope', { detail: 'This route needs a key with the admin scope.' });
  next();
};
