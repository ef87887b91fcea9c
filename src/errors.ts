// The one table of stable problem codes (RFC 9457) and the error class that carries them.
// Only http/ turns an AppError into a response; domain code throws or returns codes from this table.

export interface ProblemSpec {
  readonly status: number;
  readonly title: string;
  /** RETRY-1: whether a client may retry the same request unchanged. */
  readonly retryable: boolean;
}

export const PROBLEMS = {
  validation_failed: { status: 400, title: 'Request failed validation', retryable: false },
  malformed_json: { status: 400, title: 'Request body is not valid JSON', retryable: false },
  malformed_encoding: { status: 400, title: 'Request body does not match its Content-Encoding', retryable: false },
  malformed_path: { status: 400, title: 'Request path is not valid percent-encoding', retryable: false },
  unsupported_schema_version: { status: 400, title: 'Unsupported schema version', retryable: false },
  idempotency_key_missing: { status: 400, title: 'Idempotency-Key header is required', retryable: false },
  idempotency_key_invalid: { status: 400, title: 'Idempotency-Key header is invalid', retryable: false },
  webhook_url_refused: { status: 400, title: 'Webhook URL not allowed', retryable: false },
  unauthenticated: { status: 401, title: 'Missing or invalid API key', retryable: false },
  signature_missing: { status: 401, title: 'Signed request required', retryable: false },
  signature_invalid: { status: 401, title: 'Request signature does not match', retryable: false },
  signature_timestamp_out_of_tolerance: { status: 401, title: 'Signature timestamp outside tolerance', retryable: false },
  forbidden_scope: { status: 403, title: 'API key lacks the required scope', retryable: false },
  unknown_task: { status: 404, title: 'Unknown task', retryable: false },
  not_found: { status: 404, title: 'Not found', retryable: false },
  method_not_allowed: { status: 405, title: 'Method not allowed', retryable: false },
  request_replayed: { status: 409, title: 'Signed request already received', retryable: false },
  signed_request_in_progress: { status: 409, title: 'A request with this webhook-id is in progress', retryable: true },
  idempotency_request_in_progress: { status: 409, title: 'A request with this Idempotency-Key is in progress', retryable: true },
  state_conflict: { status: 409, title: 'Resource is not in a state that allows this action', retryable: false },
  payload_too_large: { status: 413, title: 'Payload too large', retryable: false },
  unsupported_media_type: { status: 415, title: 'Unsupported media type', retryable: false },
  idempotency_key_reused: { status: 422, title: 'Idempotency-Key already used with a different request', retryable: false },
  input_denied: { status: 422, title: 'Input denied by policy', retryable: false },
  output_rejected: { status: 422, title: 'Model output rejected', retryable: false },
  sent_to_review: { status: 422, title: 'Result sent to the review queue', retryable: false },
  review_rejected: { status: 422, title: 'Result rejected in review', retryable: false },
  rate_limited: { status: 429, title: 'Rate limit exceeded', retryable: true },
  quota_exceeded: { status: 429, title: 'Token budget exhausted', retryable: true },
  internal_error: { status: 500, title: 'Internal error', retryable: true },
  upstream_rejected: { status: 502, title: 'Upstream model rejected the request', retryable: false },
  upstream_unavailable: { status: 503, title: 'Upstream model unavailable', retryable: true },
  model_not_configured: { status: 503, title: 'No model is configured for this task', retryable: false },
  store_unavailable: { status: 503, title: 'Storage unavailable', retryable: true },
  not_ready: { status: 503, title: 'Service not ready', retryable: true },
  screen_unavailable: { status: 503, title: 'A required screen could not decide', retryable: true },
  upstream_timeout: { status: 504, title: 'Upstream model timed out', retryable: true },
} as const satisfies Record<string, ProblemSpec>;

export type ProblemCode = keyof typeof PROBLEMS;

export const problemType = (code: ProblemCode): string => `urn:airlock:problem:${code.replaceAll('_', '-')}`;

export interface FieldError {
  readonly path: string;
  /** RFC 6901 pointer into the request body, when the error is about one value. */
  readonly pointer?: string;
  readonly message: string;
}

/** RFC 6901: a JSON pointer from path segments, `~` and `/` escaped. */
export const jsonPointer = (segments: ReadonlyArray<string | number>): string =>
  segments.map((segment) => `/${String(segment).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');

export interface AppErrorOptions {
  readonly detail?: string;
  readonly errors?: readonly FieldError[];
  /** Extra problem members (e.g. review_id, supported_versions); names follow RFC 9457's extension advice. */
  readonly extensions?: Readonly<Record<string, unknown>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly cause?: unknown;
}

/** An operational error with a stable code from PROBLEMS. */
export class AppError extends Error {
  readonly code: ProblemCode;
  readonly status: number;
  readonly detail: string | undefined;
  readonly errors: readonly FieldError[] | undefined;
  readonly extensions: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ProblemCode, options: AppErrorOptions = {}) {
    super(options.detail ?? PROBLEMS[code].title, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = PROBLEMS[code].status;
    this.detail = options.detail;
    this.errors = options.errors;
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }
}

export const isAppError = (value: unknown): value is AppError => value instanceof AppError;

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance: string;
  code: ProblemCode;
  request_id: string;
  retryable: boolean;
  errors?: readonly FieldError[];
  [extension: string]: unknown;
}

/** Builds the RFC 9457 body; `instance` reuses the request id so logs, audit and the caller share one id (PD-3). */
export function toProblem(error: AppError, requestId: string): Problem {
  const spec = PROBLEMS[error.code];
  return {
    ...error.extensions,
    type: problemType(error.code),
    title: spec.title,
    status: spec.status,
    ...(error.detail === undefined ? {} : { detail: error.detail }),
    instance: `urn:airlock:request:${requestId}`,
    code: error.code,
    request_id: requestId,
    retryable: spec.retryable,
    ...(error.errors === undefined ? {} : { errors: error.errors }),
  };
}
