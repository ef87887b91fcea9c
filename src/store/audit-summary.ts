// B12: repeated unauthenticated failures are kept as one counted audit row per source address and window rather than
// one row each, so a flood of bad keys cannot grow the audit log (the request metric still counts every one).
import type { AuditRecord, AuthFailure } from './types.js';

export const AUTH_FAILURES_ACTION = 'auth.failures';

/** The row a window's first failure creates; later ones only raise `detail.count` and move `last_at`. */
export const authFailureRow = (failure: AuthFailure): AuditRecord => ({
  id: failure.summaryId,
  requestId: failure.requestId,
  at: failure.at,
  keyId: null,
  action: AUTH_FAILURES_ACTION,
  task: null,
  eventId: null,
  source: failure.source,
  decision: 'error',
  status: failure.status,
  code: failure.code,
  chunkIds: [],
  model: null,
  latencyMs: 0,
  detail: { count: 1, window_start: failure.windowStart, last_at: failure.at, last_request_id: failure.requestId },
});
