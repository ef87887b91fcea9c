// Per-key, per-task request limits and the per-key daily token budget, reported on every metered response
// in the IETF draft-10 fields (RL-1, RL-2, LLM10-5). Runs after authentication, so 401s never spend a key's quota.
import type { RequestHandler } from 'express';
import { AppError } from '../../errors.js';
import { mergeRateLimitHeaders, type RateLimits } from '../../security/rate-limit.js';
import { principalOf } from './auth.js';

export const rateLimitTask = (limits: RateLimits): RequestHandler =>
  async function rateLimitTask(req, res, next) {
    const principal = principalOf(res.locals);
    const task = String(req.params['task'] ?? '');
    const [requests, tokens] = await Promise.all([limits.consumeRequest(principal.keyId, task), limits.checkTokenBudget(principal.keyId)]);
    const merged = mergeRateLimitHeaders([requests, tokens]);
    res.setHeader('RateLimit-Policy', merged.policyHeader);
    res.setHeader('RateLimit', merged.limitHeader);
    const violated = [requests, tokens].filter((decision) => !decision.allowed);
    if (violated.length > 0) {
      const retryAfter = Math.max(...violated.map((decision) => decision.retryAfterSeconds ?? 1));
      throw new AppError(requests.allowed ? 'quota_exceeded' : 'rate_limited', {
        detail: requests.allowed ? 'The daily model token budget for this key is used up.' : 'Too many requests for this key and task.',
        headers: { 'Retry-After': String(retryAfter) },
        extensions: { 'violated-policies': violated.map((decision) => decision.policy) },
      });
    }
    next();
  };
