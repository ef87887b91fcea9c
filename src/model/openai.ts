// The OpenAI-compatible provider (OpenAI, Ollama, vLLM, llama.cpp) through the official SDK. The SDK owns per-attempt
// timeouts and retries (408/409/429/5xx and connection errors only); one deadline of ours bounds the whole call,
// waits included, and we map what is left to stable problems.
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { AppError } from '../errors.js';
import { createHttpFetch, UpstreamResponseTooLargeError } from './http-fetch.js';
import type { ModelClient } from './types.js';
import { explainUpstreamFailure } from './upstream-diagnosis.js';

export interface OpenAIModelOptions {
  readonly apiKey: string;
  readonly baseURL?: string;
  readonly model: string;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  /**
   * The whole call, every attempt and every wait between them included, ends by this many milliseconds (B3, LLM10-6):
   * the SDK honours any Retry-After, however long, so without it a call could outlive its idempotency claim.
   * Defaults to upstreamDeadlineMs(timeoutMs, maxRetries).
   */
  readonly deadlineMs?: number;
  /** Called for every HTTP attempt, so retries are visible in metrics. */
  readonly onAttempt?: () => void;
}

const REPORTED_MODEL = /^[\w.:/@-]{1,128}$/;
/** The SDK's longest default backoff between attempts (openai-node calculateDefaultRetryTimeoutMillis). */
const MAX_DEFAULT_BACKOFF_MS = 8_000;

/** Every attempt at its full timeout plus the SDK's default backoff before each retry. */
export const upstreamDeadlineMs = (timeoutMs: number, maxRetries: number): number => timeoutMs * (maxRetries + 1) + MAX_DEFAULT_BACKOFF_MS * maxRetries;

/** Rejects with the signal's reason once it aborts, whatever `work` is doing (an SDK sleep ignores the signal). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  // The abandoned call still settles later (the SDK notices the abort when it wakes); that outcome is nobody's.
  work.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The SDK client over our transport, every HTTP attempt reported to `onAttempt`; shared by the task model and the screen. */
export function createUpstreamClient(options: Pick<OpenAIModelOptions, 'apiKey' | 'baseURL' | 'timeoutMs' | 'maxRetries' | 'onAttempt'>): OpenAI {
  const transport = createHttpFetch();
  return new OpenAI({
    apiKey: options.apiKey,
    ...(options.baseURL === undefined ? {} : { baseURL: options.baseURL }),
    timeout: options.timeoutMs,
    maxRetries: options.maxRetries,
    fetch: (url, init) => {
      options.onAttempt?.();
      return transport(url, init);
    },
  });
}

/**
 * Runs one upstream call under our deadline (and the caller's signal, when given); any failure comes back as one of
 * our problems (RETRY-2), upstream text never echoed.
 */
export async function withinDeadline<T>(deadlineMs: number, callerSignal: AbortSignal | undefined, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const deadline = AbortSignal.timeout(deadlineMs);
  const signal = callerSignal === undefined ? deadline : AbortSignal.any([callerSignal, deadline]);
  try {
    return await untilAborted(call(signal), signal);
  } catch (error) {
    throw toUpstreamProblem(error);
  }
}

export function createOpenAIModel(options: OpenAIModelOptions): ModelClient {
  const client = createUpstreamClient(options);
  const deadlineMs = options.deadlineMs ?? upstreamDeadlineMs(options.timeoutMs, options.maxRetries);

  return {
    provider: 'openai',
    modelName: options.model,
    async complete(request) {
      const completion = await withinDeadline(deadlineMs, request.signal, (signal) =>
        client.chat.completions.create(
          {
            model: options.model,
            messages: [
              { role: 'system', content: request.system },
              { role: 'user', content: request.user },
            ],
            // LLM10-3: the output cap is ours, whatever the caller sent; logprobs and logit_bias are never forwarded (LLM10-4).
            max_completion_tokens: request.maxOutputTokens,
            response_format: {
              type: 'json_schema',
              json_schema: { name: request.schemaName, strict: true, schema: { ...request.jsonSchema } },
            },
          },
          { signal },
        ),
      );
      const usage = completion.usage;
      return {
        text: completion.choices[0]?.message.content ?? '',
        usage: {
          prompt_tokens: usage?.prompt_tokens ?? 0,
          completion_tokens: usage?.completion_tokens ?? 0,
          total_tokens: usage?.total_tokens ?? 0,
        },
        // An alias such as gpt-4o-mini resolves to a dated snapshot upstream; the reply names the one that answered.
        // Only an id-shaped value is kept: it is upstream text that lands in responses and the audit log.
        ...(typeof completion.model === 'string' && REPORTED_MODEL.test(completion.model) ? { model: completion.model } : {}),
      };
    },
  };
}

/** RETRY-2: the final upstream failure, after the SDK's own retries, as one of our problems. Upstream text is never echoed. */
function toUpstreamProblem(error: unknown): AppError {
  const retryLater = { cause: error, detail: explainUpstreamFailure(error), headers: { 'Retry-After': '5' } };
  // Our deadline (TimeoutError) or the caller's abort ends the call from outside the SDK: a timeout to the caller.
  const endedFromOutside = error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError');
  if (endedFromOutside) return new AppError('upstream_timeout', { ...retryLater, detail: 'The upstream model did not answer within the call deadline (retries and their waits included).' });
  if (error instanceof APIConnectionTimeoutError || error instanceof APIUserAbortError) return new AppError('upstream_timeout', retryLater);
  // API10: an answer over the size limit (a decompression bomb, an endless body) is the upstream misbehaving, not a
  // network blip; the transport stopped reading it, and the SDK reports it as the cause of a connection error.
  if (error instanceof APIConnectionError && error.cause instanceof UpstreamResponseTooLargeError) {
    return new AppError('upstream_rejected', { cause: error, detail: `The upstream answer was larger than ${error.cause.limitBytes} bytes; it was not read further.` });
  }
  if (error instanceof APIConnectionError) return new AppError('upstream_unavailable', retryLater);
  if (error instanceof APIError) {
    const status = error.status ?? 0;
    if (status === 408) return new AppError('upstream_timeout', retryLater);
    if (status === 409 || status === 429 || status >= 500) return new AppError('upstream_unavailable', retryLater);
    return new AppError('upstream_rejected', { cause: error, detail: explainUpstreamFailure(error) });
  }
  return new AppError('upstream_unavailable', retryLater);
}
