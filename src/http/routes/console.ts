// /console: the admin console, three static files (HTML, one JS module, CSS) read once at startup and served under a
// strict Content-Security-Policy. The page holds no secrets; it calls /admin/* with the admin key the user types in.
import { existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Router } from 'express';
import { AppError } from '../../errors.js';

/** No inline script or style, no third-party origin, no framing: the key in sessionStorage is only reachable by our own module. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const ASSETS = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'styles.css': 'text/css; charset=utf-8',
} as const;

/**
 * The assets live in src/console. Under tsx this module sits in src/http/routes; compiled, in dist/src/http/routes,
 * where tsc copies no static files, so the source folder is the fallback. Undefined when neither exists (an image
 * that ships only dist/): the console is then absent, never a reason for the gateway not to start.
 */
export function consoleAssetDir(): string | undefined {
  const candidates = [join(import.meta.dirname, '..', '..', 'console'), join(import.meta.dirname, '..', '..', '..', '..', 'src', 'console')];
  return candidates.find((dir) => existsSync(join(dir, 'index.html')));
}

/** `assetDir: null` (or no assets found) mounts a 404 that says why, instead of the console. */
export function consoleRoutes(options: { assetDir?: string | null } = {}): Router {
  const dir = options.assetDir === undefined ? consoleAssetDir() : options.assetDir ?? undefined;
  const router = Router();
  if (dir === undefined) {
    router.get(['/console', '/console/{*rest}'], () => {
      throw new AppError('not_found', { detail: 'The admin console is not installed in this build (src/console is missing).' });
    });
    return router;
  }
  const files = Object.entries(ASSETS).map(([name, type]) => {
    const body = readFileSync(join(dir, name));
    return { name, type, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
  });
  for (const file of files) {
    const paths = file.name === 'index.html' ? ['/console', '/console/'] : [`/console/${file.name}`];
    router.get(paths, (req, res) => {
      res.setHeader('Content-Security-Policy', CONSOLE_CSP);
      res.setHeader('Referrer-Policy', 'no-referrer');
      res.setHeader('X-Frame-Options', 'DENY');
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      // Revalidate every time so a deploy is picked up at once; the ETag keeps that to a 304.
      res.setHeader('Cache-Control', 'no-cache');
      res.setHeader('ETag', file.etag);
      if (req.get('if-none-match') === file.etag) {
        res.status(304).end();
        return;
      }
      res.type(file.type).send(file.body);
    });
  }
  return router;
}
