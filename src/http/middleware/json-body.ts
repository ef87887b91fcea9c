// Body handling: raw bytes first, within the size limit and before any parsing (LLM10-1), so signatures and
// fingerprints see exactly what was sent (SIG-2, IDEM-4); JSON is parsed only after authentication.
import express, { type RequestHandler } from 'express';
import { AppError } from '../../errors.js';

/**
 * Reads the raw body. A body that cannot be read (too large, cut short, not the Content-Encoding it claims) is not
 * reported yet: authentication runs first, so an address locked out for failed authentications is refused before
 * anything it sent is looked at, and unauthenticated junk counts as a failed authentication (RL-3, API2).
 * parseJson reports the deferred problem.
 */
export const rawBody = (limitBytes: number): RequestHandler => {
  const read = express.raw({ type: () => true, limit: limitBytes });
  return function rawBody(req, res, next) {
    read(req, res, (error?: unknown) => {
      if (error === undefined) return next();
      const problem = bodyReadProblem(error as BodyParserError, req.get('content-encoding'));
      if (problem === undefined) return next(error);
      res.locals['bodyProblem'] = problem;
      req.body = Buffer.alloc(0);
      next();
    });
  };
};

export const rawBodyOf = (body: unknown): Buffer => (Buffer.isBuffer(body) ? body : Buffer.alloc(0));

/** Parses the raw body as JSON into res.locals.json; 415 for other media types, 400 for bad JSON. */
export const parseJson: RequestHandler = (req, res, next) => {
  const deferred = res.locals['bodyProblem'];
  if (deferred instanceof AppError) throw deferred;
  const raw = rawBodyOf(req.body);
  if (raw.length === 0) {
    // No body at all: schemas downstream decide whether one was required.
    res.locals['json'] = undefined;
    next();
    return;
  }
  if (!req.is('application/json')) {
    throw new AppError('unsupported_media_type', { detail: 'Send the body as application/json.' });
  }
  const charset = /charset=([^;]+)/i.exec(req.get('content-type') ?? '')?.[1]?.trim().toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new AppError('unsupported_media_type', { detail: 'Send UTF-8 encoded JSON.' });
  }
  try {
    res.locals['json'] = JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    throw new AppError('malformed_json', { detail: 'The request body could not be parsed as JSON.' });
  }
  next();
};

interface BodyParserError {
  type?: string;
  status?: number;
}

/** body-parser's failures as problems; undefined for anything that is not about the body the caller sent. */
function bodyReadProblem(error: BodyParserError, contentEncoding: string | undefined): AppError | undefined {
  switch (error.type) {
    case 'entity.too.large':
      return new AppError('payload_too_large', { detail: 'The request body is larger than this server accepts.' });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('unsupported_media_type', { detail: 'Send UTF-8 encoded JSON.' });
    case 'request.aborted':
    case 'request.size.invalid':
      return new AppError('validation_failed', { detail: 'The request body was incomplete.' });
    case undefined: {
      // body-parser passes the decompressor's own error on, untyped: gzip, deflate or br bytes that are not.
      const encoded = contentEncoding !== undefined && contentEncoding.trim().toLowerCase() !== 'identity';
      if (error.status === 400 && encoded) return new AppError('malformed_encoding', { detail: `The request body is not valid ${contentEncoding.trim()} data.` });
      return undefined;
    }
    default:
      return undefined;
  }
}
