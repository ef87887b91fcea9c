// One signed webhook attempt over node:http(s): Standard Webhooks v1 headers, the SSRF check on every address DNS
// returns (the connection uses the address that was checked, so a rebinding answer cannot slip in between), no
// redirects, a timeout, and at most a few KiB of the response read and thrown away (never logged).
import http from 'node:http';
import https from 'node:https';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { signWebhook } from '../security/webhook-signature.js';
import { hostOf, isForbiddenAddress } from './url-safety.js';

export interface WebhookMessage {
  readonly url: string;
  /** The `webhook-id`: the same on every attempt so the receiver can deduplicate. */
  readonly messageId: string;
  readonly payload: string;
  readonly secret: string;
}

export type AttemptResult =
  | { readonly kind: 'response'; readonly status: number; readonly retryAfter: string | undefined }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'network'; readonly detail: string }
  /** The target resolved to an address webhooks may not reach (SSRF); never retried. */
  | { readonly kind: 'refused'; readonly detail: string };

export interface SendOptions {
  readonly allowHosts: ReadonlySet<string>;
  readonly timeoutMs: number;
  readonly clock: () => Date;
  /** How much of a response body is read before the connection is dropped. */
  readonly maxResponseBytes?: number;
}

const DEFAULT_MAX_RESPONSE_BYTES = 4096;

class RefusedAddressError extends Error {
  override readonly name = 'RefusedAddressError';
}

/** A DNS lookup that fails when any returned address is forbidden: one bad record refuses the whole name. */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, '', 4);
    const refused = addresses.find((entry) => isForbiddenAddress(entry.address));
    if (refused !== undefined || addresses.length === 0) {
      return callback(new RefusedAddressError(`${hostname} resolves to ${refused?.address ?? 'nothing'}`), '', 4);
    }
    if (options.all === true) return (callback as unknown as (e: null, list: LookupAddress[]) => void)(null, addresses);
    const first = addresses[0]!;
    callback(null, first.address, first.family);
  });
};

export async function sendWebhook(message: WebhookMessage, options: SendOptions): Promise<AttemptResult> {
  const url = new URL(message.url);
  const host = hostOf(url);
  const allowlisted = options.allowHosts.has(host);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowlisted)) return { kind: 'refused', detail: 'scheme not allowed' };
  // A literal address never goes through DNS, so it is checked here.
  if (!allowlisted && isIP(host) !== 0 && isForbiddenAddress(host)) return { kind: 'refused', detail: `${host} is not reachable for webhooks` };

  const body = Buffer.from(message.payload, 'utf8');
  const timestamp = Math.floor(options.clock().getTime() / 1000);
  const headers = {
    'content-type': 'application/json',
    'content-length': String(body.byteLength),
    'user-agent': 'Airlock-Webhooks/1',
    'webhook-id': message.messageId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signWebhook({ id: message.messageId, timestamp, rawBody: body, secret: message.secret }),
  };
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const transport = url.protocol === 'https:' ? https : http;

  return new Promise<AttemptResult>((resolve) => {
    let settled = false;
    const finish = (result: AttemptResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const request = transport.request(
      url,
      {
        method: 'POST',
        headers,
        agent: false,
        ...(allowlisted ? {} : { lookup: guardedLookup }),
      },
      (response) => {
        // Status and Retry-After are all we need; a few KiB are drained so the receiver sees a clean close.
        let read = 0;
        const done = (): void => finish({ kind: 'response', status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'] });
        response.on('data', (chunk: Buffer) => {
          read += chunk.byteLength;
          if (read > maxBytes) {
            response.destroy();
            done();
          }
        });
        response.on('end', done);
        response.on('error', done);
        response.on('close', done);
      },
    );
    // One deadline for connecting, sending and reading the answer.
    const timer = setTimeout(() => {
      request.destroy();
      finish({ kind: 'timeout' });
    }, options.timeoutMs);
    request.on('error', (error) => {
      if (error instanceof RefusedAddressError) finish({ kind: 'refused', detail: error.message });
      else finish({ kind: 'network', detail: (error as NodeJS.ErrnoException).code ?? 'connection failed' });
    });
    request.end(body);
  });
}

export type SendWebhook = typeof sendWebhook;
