// GET /v1/results/{request_id}: where a request's result can be fetched again, and where a request sent to review
// is followed to its decision. Only the key that made the request, or an admin, sees it; anyone else gets 404 so
// that request ids of other keys cannot be probed (API1).
import { Router, type RequestHandler } from 'express';
import { AppError } from '../../errors.js';
import type { ResultStore } from '../../store/types.js';
import { isAdmin } from '../../scopes.js';
import { pendingResult } from '../../pipeline/results.js';
import { principalOf } from '../middleware/auth.js';
import { sendReply } from './tasks.js';

export interface ResultRouteDeps {
  readonly authenticate: RequestHandler;
  readonly results: ResultStore;
}

/** How often a poller should come back while a person decides. */
const PENDING_RETRY_AFTER_SECONDS = '30';

export function resultRoutes(deps: ResultRouteDeps): Router {
  const router = Router();
  router.get('/v1/results/:requestId', deps.authenticate, async (req, res) => {
    const principal = principalOf(res.locals);
    const requestId = String(req.params['requestId']);
    const result = await deps.results.find(requestId, isAdmin(principal) ? undefined : principal.keyId);
    if (result === undefined) throw new AppError('not_found', { detail: `No result for request ${requestId} is visible to this key.` });
    if (result.state === 'pending_review') {
      res.status(202).setHeader('Retry-After', PENDING_RETRY_AFTER_SECONDS).setHeader('Cache-Control', 'no-store').json(pendingResult(result));
      return;
    }
    sendReply(res, { ...result.response, replayed: false });
  });
  return router;
}
