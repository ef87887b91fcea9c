// The OpenAI-compatible provider (OpenAI, Ollama, vLLM, llama.cpp) through the official SDK. The SDK owns
// timeouts and retries (408/409/429/5xx and connection errors only); we map what is left to stable problems.
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { AppError } from '../errors.js';
import { createHttpFetch } from './http-fetch.js';
import type { ModelClient } from './types.js';
import { explainUpstreamFailure } from './upstream-diagnosis.js';

export interface OpenAIModelOptions {
  readonly apiKey: string;
  readonly baseURL?: string;
  readonly model: string;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  /** Called for every HTTP attempt, so retries are visible in metrics. */
  readonly onAttempt?: () => void;
}

const REPORTED_MODEL = /^[\w.:/@-]{1,128}$/;

export function createOpenAIModel(options: OpenAIModelOptions): ModelClient {
  const transport = createHttpFetch();
  const client = new OpenAI({
    apiKey: options.apiKey,
    ...(options.baseURL === undefined ? {} : { baseURL: options.baseURL }),
    timeout: options.timeoutMs,
    maxRetries: options.maxRetries,
    fetch: (url, init) => {
      options.onAttempt?.();
      return transport(url, init);
    },
  });

  return {
    provider: 'openai',
    modelName: options.model,
    async complete(request) {
      try {
        const completion = await client.chat.completions.create(
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
          request.signal === undefined ? {} : { signal: request.signal },
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
      } catch (error) {
        throw toUpstreamProblem(error);
      }
    },
  };
}

/** RETRY-2: the final upstream failure, after the SDK's own retries, as one of our problems. Upstream text is never echoed. */
function toUpstreamProblem(error: unknown): AppError {
  const retryLater = { cause: error, detail: explainUpstreamFailure(error), headers: { 'Retry-After': '5' } };
  if (error instanceof APIConnectionTimeoutError || error instanceof APIUserAbortError) return new AppError('upstream_timeout', retryLater);
  if (error instanceof APIConnectionError) return new AppError('upstream_unavailable', retryLater);
  if (error instanceof APIError) {
    const status = error.status ?? 0;
    if (status === 408) return new AppError('upstream_timeout', retryLater);
    if (status === 409 || status === 429 || status >= 500) return new AppError('upstream_unavailable', retryLater);
    return new AppError('upstream_rejected', { cause: error, detail: explainUpstreamFailure(error) });
  }
  return new AppError('upstream_unavailable', retryLater);
}
