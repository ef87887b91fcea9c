// The transport under the OpenAI SDK: a fetch over node:http(s) with keep-alive agents. Undici's fetch spent ~0.4 CPU ms
// per upstream call here (web streams, Request/Response machinery) against ~0.04 ms for node:http on the same request
// (BENCHMARKS.md); the SDK still owns timeouts (it aborts `signal`), retries, headers and error mapping. Anything this
// transport does not handle (a streamed request body, another protocol) goes to the platform's fetch unchanged.
import http from 'node:http';
import https from 'node:https';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

const DECODERS: Readonly<Record<string, () => Transform>> = { gzip: createGunzip, 'x-gzip': createGunzip, deflate: createInflate, br: createBrotliDecompress };

/** A chat completion is kilobytes; this leaves room for long answers and stops a hostile or broken upstream early. */
export const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/**
 * API10: the upstream sent more than we read, on the wire or once decompressed (a decompression bomb). Raised by the
 * transport, carried through the SDK as the cause of its connection error, mapped to 502 upstream_rejected.
 */
export class UpstreamResponseTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`upstream response exceeds ${limitBytes} bytes`);
    this.name = 'UpstreamResponseTooLargeError';
  }
}

const abortError = (): DOMException => new DOMException('This operation was aborted', 'AbortError');

export function createHttpFetch(fallback: typeof fetch = fetch, maxResponseBytes: number = DEFAULT_MAX_RESPONSE_BYTES): typeof fetch {
  const agents: Readonly<Record<string, http.Agent>> = {
    'http:': new http.Agent({ keepAlive: true }),
    'https:': new https.Agent({ keepAlive: true }),
  };

  return (input, init = {}) => {
    const body = init.body;
    const url = typeof input === 'string' || input instanceof URL ? new URL(input) : undefined;
    const agent = url === undefined ? undefined : agents[url.protocol];
    if (url === undefined || agent === undefined || (body != null && typeof body !== 'string' && !(body instanceof Uint8Array))) {
      return fallback(input, init);
    }
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(abortError());

    return new Promise<Response>((resolve, reject) => {
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((value, name) => {
        headers[name] = value;
      });
      const payload = body == null ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
      if (payload !== undefined) headers['content-length'] = String(payload.byteLength);

      const fail = (error: unknown): void => {
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      };
      const request = (url.protocol === 'https:' ? https : http).request(url, { method: init.method ?? 'GET', headers, agent }, (response) => {
        const status = response.statusCode ?? 0;
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(response.headers)) {
          for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value]) responseHeaders.append(name, item);
        }
        const tooLarge = (): void => {
          request.destroy();
          fail(new UpstreamResponseTooLargeError(maxResponseBytes));
        };
        if (Number(responseHeaders.get('content-length') ?? 0) > maxResponseBytes) return tooLarge();
        // Undici decodes these for its callers; so must this, or the SDK would parse compressed bytes. Streamed, so a
        // bomb is stopped at the limit instead of inflated whole, and off the event loop's critical path.
        const decoder = DECODERS[(responseHeaders.get('content-encoding') ?? '').trim().toLowerCase()]?.();
        const chunks: Buffer[] = [];
        let received = 0;
        let decoded = 0;
        // Counted on the wire too: the limit holds for what we download, not only for what it inflates to.
        if (decoder !== undefined) {
          response.on('data', (chunk: Buffer) => {
            received += chunk.byteLength;
            if (received > maxResponseBytes) tooLarge();
          });
        }
        response.on('error', fail);
        const content = decoder === undefined ? response : response.pipe(decoder);
        content.on('data', (chunk: Buffer) => {
          decoded += chunk.byteLength;
          if (decoded > maxResponseBytes) {
            decoder?.destroy();
            return tooLarge();
          }
          chunks.push(chunk);
        });
        content.on('error', fail);
        content.on('end', () => {
          signal?.removeEventListener('abort', onAbort);
          if (status < 200 || status > 599) return reject(new TypeError(`upstream answered with status ${status}`));
          if (decoder !== undefined) {
            responseHeaders.delete('content-encoding');
            responseHeaders.delete('content-length');
          }
          const empty = status === 204 || status === 205 || status === 304;
          resolve(new Response(empty ? null : Buffer.concat(chunks), { status, statusText: response.statusMessage ?? '', headers: responseHeaders }));
        });
      });
      const onAbort = (): void => {
        request.destroy(abortError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      request.on('error', fail);
      request.end(payload);
    });
  };
}
