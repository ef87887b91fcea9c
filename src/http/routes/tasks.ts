// POST /v1/tasks/{task}: the task API. A thin adapter from HTTP to the task service and back.
import { Router, type Response } from 'express';
import { AppError } from '../../errors.js';
import { idempotencyScope, parseIdempotencyKey, requestFingerprint } from '../../security/idempotency-key.js';
import type { TaskReply, TaskService } from '../../pipeline/handle-task.js';
import { parseJson, rawBody, rawBodyOf } from '../middleware/json-body.js';
import { principalOf, withSignedMessage } from '../middleware/auth.js';
import type { RequestHandler } from 'express';

export interface TaskRouteDeps {
  readonly handleTask: TaskService;
  readonly bodyLimitBytes: number;
  readonly authenticate: RequestHandler;
  readonly rateLimit: RequestHandler;
}

/** LLM05-1: results are data for the caller to validate, never instructions or markup to trust. */
export function sendReply(res: Response, reply: TaskReply): void {
  for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value);
  if (reply.replayed) res.setHeader('Idempotent-Replayed', 'true');
  const isProblem = reply.status >= 400;
  if (isProblem) {
    res.locals['problemCode'] = (reply.body as { code?: string }).code;
    res.setHeader('Cache-Control', 'no-store');
  } else {
    res.setHeader('Airlock-Trust', 'untrusted');
  }
  res.status(reply.status).type(isProblem ? 'application/problem+json' : 'application/json').send(JSON.stringify(reply.body));
}

export function taskRoutes(deps: TaskRouteDeps): Router {
  const router = Router();
  router.post('/v1/tasks/:task', rawBody(deps.bodyLimitBytes), deps.authenticate, deps.rateLimit, parseJson, async (req, res) => {
    const principal = principalOf(res.locals);
    const task = String(req.params['task']);
    res.locals['task'] = task;
    const header = parseIdempotencyKey(req.get('idempotency-key'));
    if (!header.ok && !header.absent) throw new AppError('idempotency_key_invalid', { detail: `Idempotency-Key ${header.reason}.` });
    const route = `/v1/tasks/${task}`;
    const reply = await deps.handleTask({
      taskName: task,
      body: res.locals['json'],
      principal,
      requestId: String(res.locals['requestId']),
      startedAt: Number(res.locals['startedAt']),
      ...withSignedMessage(res.locals),
      ...(header.ok
        ? { idempotency: { scope: idempotencyScope(principal.keyId, 'POST', route, header.key), fingerprint: requestFingerprint('POST', route, rawBodyOf(req.body)) } }
        : {}),
    });
    res.locals['audited'] = true;
    sendReply(res, reply);
  });
  return router;
}
