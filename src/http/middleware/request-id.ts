// Correlation id: keep the caller's X-Request-Id only when it is short and safe, otherwise mint one; echo it back.
import type { RequestHandler } from 'express';

const SAFE_ID = /^[\w\-=.:]{1,128}$/;

export const requestId = (newId: () => string): RequestHandler =>
  function requestId(req, res, next) {
    const inbound = req.get('x-request-id');
    const id = inbound !== undefined && SAFE_ID.test(inbound) ? inbound : newId();
    res.locals['requestId'] = id;
    res.setHeader('X-Request-Id', id);
    next();
  };
