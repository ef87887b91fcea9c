// The client's error classes: a problem Airlock answered with, a response it could not read, a request that never got an answer.
import type { ProblemDetails } from '../contracts/problem.js';

const PROBLEM_MARKER = Symbol.for('airlock.client.problem-error');

/** Airlock answered with an RFC 9457 problem (or an error status without one, synthesised as `http_<status>`). */
export class AirlockProblemError extends Error {
  readonly [PROBLEM_MARKER] = true;
  readonly problem: ProblemDetails;
  readonly status: number;
  readonly code: string;
  readonly retryable: boolean;
  readonly requestId: string;
  /** Set when the result was queued for a person (`422 sent_to_review`). */
  readonly reviewId: string | undefined;
  /** How many attempts were made, the last one included. */
  readonly attempts: number;

  constructor(options: { problem: ProblemDetails; attempts: number }) {
    super(`${options.problem.status} ${options.problem.code}: ${options.problem.detail ?? options.problem.title}`);
    this.name = 'AirlockProblemError';
    this.problem = options.problem;
    this.status = options.problem.status;
    this.code = options.problem.code;
    this.retryable = options.problem.retryable;
    this.requestId = options.problem.request_id;
    this.reviewId = options.problem.review_id;
    this.attempts = options.attempts;
  }

  /** Works across copies of the package, where `instanceof` does not. */
  static isInstance(value: unknown): value is AirlockProblemError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PROBLEM_MARKER] === true;
  }
}

/** A 2xx response that is not a valid task envelope: a proxy in the way, or a server of another version. */
export class AirlockResponseError extends Error {
  readonly status: number;
  constructor(options: { message: string; status: number; cause?: unknown }) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AirlockResponseError';
    this.status = options.status;
  }
}

/** No HTTP answer at all (refused connection, reset, timeout) after every retry. */
export class AirlockConnectionError extends Error {
  readonly attempts: number;
  constructor(options: { attempts: number; cause: unknown }) {
    super(`No response from Airlock after ${options.attempts} attempt(s)`, { cause: options.cause });
    this.name = 'AirlockConnectionError';
    this.attempts = options.attempts;
  }
}
