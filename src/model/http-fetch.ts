// The transport under the OpenAI SDK: a fetch over node:http(s) with keep-alive agents. Undici's fetch spent ~0.4 CPU ms
// per upstream call here (web streams, Request/Response machinery) against ~0.04 ms for node:http on the same request
// (BENCHMARKS.md); the SDK still owns timeouts (it aborts `signal`), retries, headers and error mapping. Anything this
// transport does not handle (a streamed request body, another protocol) goes to the platform's fetch unchanged.
import http from 'node:http';
import https from 'node:https';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

const DECODERS: Readonly<Record<string, (body: Buffer) => Buffer>> = { gzip: gunzipSync, 'x-gzip': gunzipSync, deflate: inflateSync, br: brotliDecompressSync };

const abortError = (): DOMException => new DOMException('This operation was aborted', 'AbortError');

export function createHttpFetch(fallback: typeof fetch = fetch): typeof fetch {
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
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', fail);
        response.on('end', () => {
          signal?.removeEventListener('abort', onAbort);
          const status = response.statusCode ?? 0;
          if (status < 200 || status > 599) return reject(new TypeError(`upstream answered with status ${status}`));
          try {
            const responseHeaders = new Headers();
            for (const [name, value] of Object.entries(response.headers)) {
              for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value]) responseHeaders.append(name, item);
            }
            let raw: Buffer = Buffer.concat(chunks);
            // Undici decodes these for its callers; so must this, or the SDK would parse compressed bytes.
            const decode = DECODERS[(responseHeaders.get('content-encoding') ?? '').trim().toLowerCase()];
            if (decode !== undefined) {
              raw = decode(raw);
              responseHeaders.delete('content-encoding');
              responseHeaders.delete('content-length');
            }
            const empty = status === 204 || status === 205 || status === 304;
            resolve(new Response(empty ? null : raw, { status, statusText: response.statusMessage ?? '', headers: responseHeaders }));
          } catch (error) {
            reject(error);
          }
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
