// Body handling: raw bytes first, within the size limit and before any parsing (LLM10-1), so signatures and
// fingerprints see exactly what was sent (SIG-2, IDEM-4); JSON is parsed only after authentication.
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { AppError } from '../../errors.js';

export const rawBody = (limitBytes: number): RequestHandler => express.raw({ type: () => true, limit: limitBytes });

export const rawBodyOf = (body: unknown): Buffer => (Buffer.isBuffer(body) ? body : Buffer.alloc(0));

/** Parses the raw body as JSON into res.locals.json; 415 for other media types, 400 for bad JSON. */
export const parseJson: RequestHandler = (req, res, next) => {
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
}

/** Maps body-parser's typed errors onto the problem table; anything else goes on to the general handler. */
export const bodyParserErrors: ErrorRequestHandler = (error: BodyParserError, _req, _res, next) => {
  switch (error.type) {
    case 'entity.too.large':
      next(new AppError('payload_too_large', { detail: 'The request body is larger than this server accepts.' }));
      return;
    case 'encoding.unsupported':
    case 'charset.unsupported':
      next(new AppError('unsupported_media_type', { detail: 'Send UTF-8 encoded JSON.' }));
      return;
    case 'request.aborted':
    case 'request.size.invalid':
      next(new AppError('validation_failed', { detail: 'The request body was incomplete.' }));
      return;
    default:
      next(error);
  }
};
