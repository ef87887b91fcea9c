// The last handlers: unknown routes become 404 problems, every error becomes an RFC 9457 problem, and an error
// that is not ours becomes a generic 500 whose details reach only the log (LLM02-3, API8).
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { AppError, isAppError, toProblem } from '../../errors.js';

export function sendProblem(res: Response, error: AppError): void {
  const requestId = String(res.locals['requestId'] ?? 'unknown');
  res.locals['problemCode'] = error.code;
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  if (error.status === 401 && !res.hasHeader('WWW-Authenticate')) res.setHeader('WWW-Authenticate', 'Bearer realm="airlock"');
  // RETRY-1 (beat): tell Stainless-style SDKs not to retry permanent failures.
  if (!toProblem(error, requestId).retryable) res.setHeader('x-should-retry', 'false');
  res.status(error.status).type('application/problem+json').setHeader('Cache-Control', 'no-store');
  res.send(JSON.stringify(toProblem(error, requestId)));
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new AppError('not_found', { detail: `No route for ${req.method} ${req.path}.` }));
};

/**
 * Our own errors as they are, and the router's refusal of a path it cannot percent-decode as the 400 it is; undefined
 * for anything else, which is a bug and answers 500.
 */
export function knownProblem(error: unknown): AppError | undefined {
  if (isAppError(error)) return error;
  // router decodes :params with decodeURIComponent and passes the URIError on, marked 400.
  if (error instanceof URIError) return new AppError('malformed_path', { detail: 'The request path is not valid percent-encoded UTF-8.' });
  return undefined;
}

export const problemHandler = (logger: Logger): ErrorRequestHandler =>
  function problemHandler(error: unknown, req, res, _next) {
    if (res.headersSent) {
      req.socket.destroy();
      return;
    }
    const known = knownProblem(error);
    if (known !== undefined) {
      // A stack helps only when something underneath failed; an error we raise on purpose is logged as its code.
      if (known.status >= 500) {
        logger.warn({ request_id: res.locals['requestId'], code: known.code, ...(known.cause === undefined ? {} : { err: known.cause }) }, 'request failed');
      }
      sendProblem(res, known);
      return;
    }
    logger.error({ request_id: res.locals['requestId'], err: error }, 'unexpected error');
    sendProblem(res, new AppError('internal_error', { detail: 'An unexpected error occurred; the request id identifies it in our logs.' }));
  };
