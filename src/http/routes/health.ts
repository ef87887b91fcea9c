// Liveness, readiness and the OpenAPI document.
import { Router } from 'express';
import { AppError } from '../../errors.js';
import { sendProblem } from '../middleware/problems.js';

export interface HealthDeps {
  /** Resolves to a reason when not ready (database closed, corpus not loaded, draining), or undefined when ready. */
  readonly notReadyReason: () => Promise<string | undefined>;
  /** The current document; it changes when another task version becomes active. */
  readonly openApi: () => Readonly<Record<string, unknown>>;
}

export function healthRoutes(deps: HealthDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const reason = await deps.notReadyReason().catch(() => 'readiness check failed');
    // Answered here rather than thrown: a probe's answer is for the load balancer, not a request failure to log every
    // few seconds.
    if (reason !== undefined) {
      sendProblem(res, new AppError('not_ready', { detail: reason, headers: { 'Retry-After': '2' } }));
      return;
    }
    res.json({ status: 'ready' });
  });
  router.get('/openapi.json', (_req, res) => {
    res.json(deps.openApi());
  });
  return router;
}
