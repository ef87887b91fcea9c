// Why an upstream call failed, in words an operator can act on (DNS, refused, TLS, timeout, key, model), without
// the upstream's own text: that is untrusted and may echo the key or the prompt back.
import OpenAI, { APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';

const TLS_CODE = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_TLS_|ERR_SSL_|HOSTNAME_MISMATCH|ERR_OSSL_)/;

/** The first Node error code found along the cause chain (the SDK wraps the transport's error, which may wrap another). */
function systemCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth += 1) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code !== '') return code;
  }
  return undefined;
}

/** One sentence naming the cause of an upstream failure; safe to show callers and to log. */
export function explainUpstreamFailure(error: unknown): string {
  if (error instanceof APIConnectionTimeoutError || error instanceof APIUserAbortError) return 'The upstream model did not answer in time.';
  if (error instanceof APIError && error.status !== undefined) {
    const status = error.status;
    if (status === 401 || status === 403) return `The upstream refused the API key (HTTP ${status}); check OPENAI_API_KEY.`;
    if (status === 404) return 'The upstream does not serve the configured model or endpoint (HTTP 404); check AIRLOCK_MODEL and AIRLOCK_UPSTREAM_BASE_URL.';
    if (status === 429) return 'The upstream is rate-limiting this deployment (HTTP 429).';
    if (status >= 500) return `The upstream failed (HTTP ${status}).`;
    return `The upstream model refused the request (HTTP ${status}).`;
  }
  const code = systemCode(error);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'The upstream host name did not resolve (DNS); check AIRLOCK_UPSTREAM_BASE_URL.';
  if (code === 'ECONNREFUSED') return 'The upstream refused the connection: nothing is listening at AIRLOCK_UPSTREAM_BASE_URL.';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'The upstream closed the connection mid-request.';
  if (code === 'ETIMEDOUT' || code === 'ENETUNREACH' || code === 'EHOSTUNREACH') return `The upstream could not be reached (${code}).`;
  if (code !== undefined && TLS_CODE.test(code)) return `The TLS handshake with the upstream failed (${code}).`;
  return 'The upstream model could not be reached.';
}

export interface UpstreamProbe {
  readonly ok: boolean;
  readonly detail: string;
}

/**
 * `airlock doctor`'s upstream check: lists the upstream's models once, without retries, and says whether the
 * configured model is among them, or why the upstream could not be asked.
 */
export async function probeUpstream(options: { apiKey: string; baseURL?: string; model: string; timeoutMs: number }): Promise<UpstreamProbe> {
  const client = new OpenAI({
    apiKey: options.apiKey,
    ...(options.baseURL === undefined ? {} : { baseURL: options.baseURL }),
    timeout: options.timeoutMs,
    maxRetries: 0,
  });
  try {
    const ids: string[] = [];
    for await (const model of client.models.list()) {
      ids.push(model.id);
      if (ids.length >= 1_000) break;
    }
    if (ids.includes(options.model)) return { ok: true, detail: `model ${options.model} is served` };
    const shown = ids.slice(0, 5).join(', ');
    return { ok: false, detail: `model ${options.model} not found upstream (it serves ${ids.length === 0 ? 'no models' : shown + (ids.length > 5 ? ', …' : '')})` };
  } catch (error) {
    return { ok: false, detail: explainUpstreamFailure(error) };
  }
}
