// The Airlock client for Node: runs any task by name, with an Idempotency-Key reused across retries, optional
// Standard Webhooks signing, and retries only for problems Airlock calls retryable. Tasks are data on the server,
// so the caller brings the output's type (and, ideally, a parser that earns it).
import { randomUUID } from 'node:crypto';
import { SCHEMA_VERSIONS, type SchemaVersion } from '../contracts/envelope.js';
import { TaskResponse } from '../contracts/task-response.js';
import { ProblemDetails } from '../contracts/problem.js';
import { signWebhook } from '../security/webhook-signature.js';
import { backoffDelay, DEFAULT_MAX_RETRY_AFTER_SECONDS, isRetryableStatus, parseRetryAfter } from '../security/retry.js';
import { AirlockConnectionError, AirlockProblemError, AirlockResponseError } from './errors.js';

export { AirlockConnectionError, AirlockProblemError, AirlockResponseError } from './errors.js';

export interface AirlockClientOptions {
  /** The server's origin, e.g. `http://airlock:8080` (no `/v1`). */
  readonly baseUrl: string;
  readonly apiKey: string;
  /** The key's `whsec_` signing secret; when set, every request is signed (Standard Webhooks v1). */
  readonly signingSecret?: string;
  /** Sent as the envelope's `source`; default `airlock-client`. */
  readonly source?: string;
  readonly fetch?: typeof fetch;
  /** Retries after the first attempt, for retryable problems and network errors only. Default 2. */
  readonly maxRetries?: number;
  /** A number in [0, 1) for backoff jitter; default Math.random. */
  readonly random?: () => number;
  /** Waits between attempts; injectable so tests can record the delays instead of sleeping. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Per-attempt timeout; default 60 s. */
  readonly timeoutMs?: number;
  /** A `Retry-After` longer than this means "give up", not "sleep"; default 60 s. */
  readonly maxRetryAfterSeconds?: number;
  readonly clock?: () => Date;
}

export interface TaskCallOptions {
  /** Your own key, e.g. derived from the triggering event, so a re-run of your job replays instead of repeating. Default: a fresh UUID per call. */
  readonly idempotencyKey?: string;
  /** The envelope's `event_id`; default: a fresh UUID. */
  readonly eventId?: string;
  /** The task's input contract version; default the newest of SCHEMA_VERSIONS. */
  readonly schemaVersion?: SchemaVersion | (string & {});
  /** The envelope's `timestamp`; default now. */
  readonly timestamp?: Date;
  readonly signal?: AbortSignal;
}

/**
 * A task result exactly as Airlock returned it. `output` is valid against the task's output schema (checked by the
 * server and again here), but it is still model-generated, **untrusted data**: check it against your own business
 * rules before any side effect, escape it before rendering, and never pass it to a shell, query or HTML as-is.
 * `status: 'abstained'` means the approved corpus had no answer; treat it as a case for a person.
 */
export interface UntrustedResult<T> extends Omit<TaskResponse, 'output'> {
  readonly trust: 'untrusted';
  /** Untrusted: schema-valid, not judgement-valid. Validate before acting. */
  readonly output: T;
  /** True when Airlock replayed a stored response for this Idempotency-Key instead of running the task. */
  readonly replayed: boolean;
  /** How many HTTP attempts this call took. */
  readonly attempts: number;
}

export interface RunTaskOptions<T> extends TaskCallOptions {
  /**
   * Checks `output` and returns it typed (a zod schema's `parse`, an ajv validator, your own guard); a throw becomes
   * an AirlockResponseError. Without it `output` is `unknown` to the type system, as it should be.
   */
  readonly parseOutput?: (output: unknown) => T;
}

export interface AirlockClient {
  /** Runs any task by name, e.g. `runTask('invoice.extract', { email_text })`. */
  runTask<T = unknown>(task: string, data: Readonly<Record<string, unknown>>, options?: RunTaskOptions<T>): Promise<UntrustedResult<T>>;
}

const NEWEST_VERSION = SCHEMA_VERSIONS[SCHEMA_VERSIONS.length - 1] as SchemaVersion;
const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** An error status without a problem body (a proxy's HTML page, say), made into a problem so callers handle one type. */
const synthesisedProblem = (status: number, statusText: string, requestId: string | null): ProblemDetails => ({
  type: 'about:blank',
  title: statusText || `HTTP ${status}`,
  status,
  instance: `urn:airlock:request:${requestId ?? 'unknown'}`,
  code: `http_${status}`,
  request_id: requestId ?? 'unknown',
  retryable: isRetryableStatus(status),
});

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * @example
 * const airlock = createAirlockClient({ baseUrl: process.env.AIRLOCK_URL!, apiKey: process.env.AIRLOCK_API_KEY! });
 * const result = await airlock.runTask('invoice.extract', { email_text }, { parseOutput: (output) => Invoice.parse(output) });
 * if (result.status === 'ok') queueForBookkeeping(result.output);
 */
export function createAirlockClient(options: AirlockClientOptions): AirlockClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? globalThis.fetch;
  const maxRetries = options.maxRetries ?? 2;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? defaultSleep;
  const clock = options.clock ?? ((): Date => new Date());
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxRetryAfter = options.maxRetryAfterSeconds ?? DEFAULT_MAX_RETRY_AFTER_SECONDS;
  if (!Number.isSafeInteger(maxRetries) || maxRetries < 0) throw new RangeError('maxRetries must be a non-negative integer');

  async function runTask<T = unknown>(task: string, data: Readonly<Record<string, unknown>>, callOptions: RunTaskOptions<T> = {}): Promise<UntrustedResult<T>> {
    const idempotencyKey = callOptions.idempotencyKey ?? `airlock-client-${randomUUID()}`;
    const envelope = {
      schema_version: callOptions.schemaVersion ?? NEWEST_VERSION,
      source: options.source ?? 'airlock-client',
      event_id: callOptions.eventId ?? randomUUID(),
      timestamp: (callOptions.timestamp ?? clock()).toISOString(),
      data,
    };
    // Serialised once: every retry sends the same bytes, so the server's fingerprint matches and it replays (IDEM-4).
    const body = Buffer.from(JSON.stringify(envelope), 'utf8');
    const webhookId = `msg_${randomUUID()}`;
    const url = `${baseUrl}/v1/tasks/${encodeURIComponent(task)}`;

    for (let attempt = 0; ; attempt += 1) {
      const headers: Record<string, string> = {
        authorization: `Bearer ${options.apiKey}`,
        'content-type': 'application/json',
        accept: 'application/json, application/problem+json',
        'idempotency-key': idempotencyKey,
      };
      if (options.signingSecret !== undefined) {
        // Same webhook-id on every attempt (it is the same message); a fresh timestamp so a late retry is in tolerance.
        const timestamp = Math.floor(clock().getTime() / 1000);
        headers['webhook-id'] = webhookId;
        headers['webhook-timestamp'] = String(timestamp);
        headers['webhook-signature'] = signWebhook({ id: webhookId, timestamp, rawBody: body, secret: options.signingSecret });
      }
      const signals = [AbortSignal.timeout(timeoutMs), ...(callOptions.signal === undefined ? [] : [callOptions.signal])];
      let response: Response;
      try {
        response = await doFetch(url, { method: 'POST', headers, body, signal: AbortSignal.any(signals) });
      } catch (error) {
        if (callOptions.signal?.aborted === true || attempt >= maxRetries) throw new AirlockConnectionError({ attempts: attempt + 1, cause: error });
        await sleep(backoffDelay(attempt, random));
        continue;
      }

      const json = await readJson(response);
      if (response.ok) return parseResult(task, json, response, attempt + 1, callOptions.parseOutput);

      const parsedProblem = ProblemDetails.safeParse(json);
      const problem = parsedProblem.success ? parsedProblem.data : synthesisedProblem(response.status, response.statusText, response.headers.get('x-request-id'));
      const retryable = isRetryableStatus(response.status, { shouldRetryHeader: response.headers.get('x-should-retry'), problemRetryable: parsedProblem.success ? problem.retryable : undefined });
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'), clock(), Number.MAX_SAFE_INTEGER);
      if (!retryable || attempt >= maxRetries || (retryAfter !== undefined && retryAfter > maxRetryAfter)) {
        throw new AirlockProblemError({ problem, attempts: attempt + 1 });
      }
      // The server's hint wins; without one, exponential backoff with jitter.
      await sleep(retryAfter === undefined ? backoffDelay(attempt, random) : retryAfter * 1000);
    }
  }

  return { runTask };
}

/** Parses the envelope and, when the caller gave a parser, `output` with it, so a static type is earned. */
function parseResult<T>(task: string, json: unknown, response: Response, attempts: number, parseOutput?: (output: unknown) => T): UntrustedResult<T> {
  const envelope = TaskResponse.safeParse(json);
  if (!envelope.success) throw new AirlockResponseError({ message: `The response to ${task} is not a task envelope`, status: response.status, cause: envelope.error });
  let output: T;
  try {
    output = parseOutput === undefined ? (envelope.data.output as T) : parseOutput(envelope.data.output);
  } catch (error) {
    throw new AirlockResponseError({ message: `The output of ${task} does not match its contract`, status: response.status, cause: error });
  }
  return {
    ...envelope.data,
    trust: 'untrusted',
    output,
    replayed: response.headers.get('idempotent-replayed') === 'true',
    attempts,
  };
}
