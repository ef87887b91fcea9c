// The addressable result of a task request (GET /v1/results/{request_id}): the record stored with the outcome, and
// the result a review decision puts in its place, an approved envelope or the rejection problem.
import { AppError, toProblem } from '../errors.js';
import type { TaskResponse } from '../contracts/task-response.js';
import type { ReviewRecord, StoredResponse, TaskResultRecord } from '../store/types.js';

export const resultUrl = (requestId: string): string => `/v1/results/${encodeURIComponent(requestId)}`;

/** What a decided review needs from the original request to build its envelope. */
export type ResultContext = {
  readonly schema_version: string;
  readonly event_id: string;
  readonly output_schema: { readonly name: string; readonly version: string };
};

export function resultRecord(args: {
  readonly requestId: string;
  readonly keyId: string;
  readonly task: string;
  readonly at: Date;
  readonly response: StoredResponse;
  readonly reviewId: string | null;
  readonly idempotencyScope: string | null;
  readonly context: ResultContext;
  readonly ttlMs: number;
}): TaskResultRecord {
  const at = args.at.toISOString();
  return {
    requestId: args.requestId,
    keyId: args.keyId,
    task: args.task,
    createdAt: at,
    updatedAt: at,
    state: args.reviewId === null ? 'done' : 'pending_review',
    reviewId: args.reviewId,
    idempotencyScope: args.idempotencyScope,
    context: args.context,
    response: args.response,
    // A pending result is kept until its review is decided; the retention clock starts then.
    expiresAt: args.reviewId === null ? new Date(args.at.getTime() + args.ttlMs).toISOString() : null,
  };
}

/** The body GET /v1/results answers while a person has not decided yet. */
export const pendingResult = (result: TaskResultRecord) => ({
  request_id: result.requestId,
  task: result.task,
  status: 'pending_review' as const,
  review_id: result.reviewId,
  created_at: result.createdAt,
  result_url: resultUrl(result.requestId),
});

/**
 * The decided result of a request that went to review. An approval is the task's envelope around the reviewer's
 * output, marked reviewed and still untrusted (LLM05-1); a rejection is a `review_rejected` problem.
 */
export function decidedResponse(result: TaskResultRecord, review: ReviewRecord): StoredResponse {
  const context = result.context as unknown as ResultContext;
  // The task version that ran the request still names it after the decision.
  const headers = Object.fromEntries(Object.entries(result.response.headers).filter(([name]) => name.toLowerCase() === 'airlock-task-version'));
  if (review.state === 'approved') {
    const body: TaskResponse = {
      trust: 'untrusted',
      content_format: 'json',
      task: result.task,
      status: 'ok',
      schema_version: context.schema_version,
      output_schema: context.output_schema,
      output: (review.resolution?.['output'] ?? {}) as Record<string, unknown>,
      // The reviewer's output passed the output contract; no retrieval or model call produced it.
      citations: [],
      checks: [],
      request_id: result.requestId,
      event_id: context.event_id,
      model: { provider: 'airlock', name: 'review' },
      usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
      review: { id: review.id, decision: 'approved', reviewed_by: review.resolvedBy ?? '', reviewed_at: review.resolvedAt ?? '' },
    };
    return { status: 200, headers, body };
  }
  const error = new AppError('review_rejected', {
    detail: 'A reviewer rejected this result; it must not be used.',
    extensions: { review_id: review.id, result_url: resultUrl(result.requestId) },
  });
  return { status: error.status, headers, body: toProblem(error, result.requestId) };
}
