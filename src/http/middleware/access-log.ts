// One log line per request with the correlation ids, and an audit row for requests that ended before the task
// pipeline recorded its own (401, 400, 429 ...), so every request leaves one secret-free trace.
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { AuditStore } from '../../store/types.js';

/** B12: unauthenticated failures from one address are summed per window of this length into one audit row. */
const AUTH_FAILURE_WINDOW_MS = 60_000;

export interface AccessLogDeps {
  readonly logger: Logger;
  readonly audit: AuditStore;
  readonly clock: () => Date;
  readonly newId: () => string;
  /** Paths whose requests are too frequent or too dull to audit (health probes, metrics). */
  readonly quietPaths: ReadonlySet<string>;
  readonly onFinish: (route: string, task: string, status: number, seconds: number) => void;
}

export const accessLog = (deps: AccessLogDeps): RequestHandler =>
  function accessLog(req, res, next) {
    const startedAt = Date.now();
    res.locals['startedAt'] = startedAt;
    res.on('finish', () => {
      const locals = res.locals;
      const principal = locals['principal'] as { keyId: string } | undefined;
      const entry = {
        request_id: locals['requestId'],
        key_id: principal?.keyId ?? null,
        method: req.method,
        route: req.route?.path ?? req.path,
        task: locals['task'] ?? null,
        status: res.statusCode,
        code: locals['problemCode'] ?? null,
        latency_ms: Date.now() - startedAt,
        replayed: res.getHeader('Idempotent-Replayed') === 'true',
      };
      // Unmatched paths share one label so probes for random URLs cannot blow up metric cardinality.
      const routeLabel = typeof req.route?.path === 'string' ? req.route.path : 'unmatched';
      const taskLabel = typeof entry.task === 'string' && entry.task.length <= 64 && entry.code !== 'unknown_task' ? entry.task : '';
      deps.onFinish(routeLabel, taskLabel, res.statusCode, entry.latency_ms / 1000);
      if (deps.quietPaths.has(req.path)) return;
      deps.logger.info(entry, 'request');
      // A replay (IDEM-6) ran no pipeline and so wrote no row of its own; who fetched a stored result is still audited.
      if (locals['audited'] === true && !entry.replayed) return;
      // Successful reads change nothing, so they are logged but not audited; every write and every failure is.
      if ((req.method === 'GET' || req.method === 'HEAD') && res.statusCode < 400) return;
      // Rejected before any key was accepted (bad key, or the per-address auth-failure limit): counted, not one row each.
      if (entry.key_id === null && (res.statusCode === 401 || entry.code === 'rate_limited')) {
        const at = deps.clock();
        const windowStart = new Date(Math.floor(at.getTime() / AUTH_FAILURE_WINDOW_MS) * AUTH_FAILURE_WINDOW_MS).toISOString();
        const source = req.ip ?? 'unknown';
        deps.audit
          .countAuthFailure({
            summaryId: `auth-failures:${windowStart}:${source}`,
            requestId: String(locals['requestId']),
            at: at.toISOString(),
            source,
            windowStart,
            status: res.statusCode,
            code: typeof entry.code === 'string' ? entry.code : null,
          })
          .catch((error: unknown) => deps.logger.error({ err: error, request_id: entry.request_id }, 'audit append failed'));
        return;
      }
      deps.audit
        .append({
          id: deps.newId(),
          requestId: String(locals['requestId']),
          at: deps.clock().toISOString(),
          keyId: entry.key_id,
          action: `${req.method} ${String(entry.route)}`.slice(0, 200),
          task: typeof entry.task === 'string' ? entry.task.slice(0, 100) : null,
          eventId: null,
          source: null,
          decision: res.statusCode >= 400 ? 'error' : req.path.startsWith('/admin/') ? 'admin' : 'allowed',
          status: res.statusCode,
          code: typeof entry.code === 'string' ? entry.code : null,
          chunkIds: [],
          model: null,
          latencyMs: entry.latency_ms,
          detail: { ...(locals['auditDetail'] as Record<string, unknown> | undefined), ...(entry.replayed ? { replayed: true } : {}) },
        })
        .catch((error: unknown) => deps.logger.error({ err: error, request_id: entry.request_id }, 'audit append failed'));
    });
    next();
  };
