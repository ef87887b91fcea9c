// Working the review queue, shared by the CLI and /admin/reviews: list, inspect, approve with an output that must
// pass the task's own output contract, or reject. A resolution commits in one transaction with its audit row, the
// request's decided result (what GET /v1/results and an idempotent replay answer from then on) and its webhooks.
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { TaskRegistry } from '../tasks/registry.js';
import type { ReviewRecord, ReviewState, Store } from '../store/types.js';
import { decidedResponse, resultUrl } from '../pipeline/results.js';
import type { PlanDeliveries } from '../webhooks/events.js';

export const ResolveReviewRequest = z.strictObject({
  decision: z.enum(['approve', 'reject']),
  output: z.unknown().optional().describe('Required when approving: the corrected output, valid against the task output schema'),
  note: z.string().trim().max(2000).optional(),
});
export type ResolveReviewRequest = z.infer<typeof ResolveReviewRequest>;

export interface ReviewAdminDeps {
  readonly store: Pick<Store, 'reviews' | 'results' | 'recordReviewDecision'>;
  readonly tasks: TaskRegistry;
  readonly clock: () => Date;
  readonly newId: () => string;
  /** How long a decided result stays addressable (the idempotency retention). */
  readonly resultTtlMs: number;
  /** Outbox rows for `review.resolved`; absent, no webhook is raised. */
  readonly planDeliveries?: PlanDeliveries;
}

export const describeReview = (review: ReviewRecord) => ({
  id: review.id,
  created_at: review.createdAt,
  request_id: review.requestId,
  key_id: review.keyId,
  task: review.task,
  state: review.state,
  reasons: review.reasons,
  input: review.input,
  raw_output: review.rawOutput,
  chunk_ids: review.chunkIds,
  resolved_at: review.resolvedAt,
  resolved_by: review.resolvedBy,
  resolution: review.resolution,
});

const REVIEW_STATES = ['open', 'approved', 'rejected'] as const;

export function createReviewAdmin(deps: ReviewAdminDeps) {
  return {
    /** A page of the queue, newest first; `after` is the last item of the previous page. */
    async list(filter: { state?: string | undefined; limit?: number | undefined; after?: { createdAt: string; id: string } | undefined }) {
      const state = filter.state === undefined ? undefined : z.enum(REVIEW_STATES).parse(filter.state);
      const limit = Math.min(filter.limit ?? 100, 500);
      // One extra row says whether another page follows.
      const rows = await deps.store.reviews.list({
        ...(state === undefined ? {} : { state: state as ReviewState }),
        limit: limit + 1,
        ...(filter.after === undefined ? {} : { after: filter.after }),
      });
      return { reviews: rows.slice(0, limit).map(describeReview), more: rows.length > limit };
    },
    async get(id: string) {
      const review = await deps.store.reviews.get(id);
      if (review === undefined) throw new AppError('not_found', { detail: `No review item ${id}.` });
      return describeReview(review);
    },
    async depth() {
      return deps.store.reviews.countOpen();
    },
    async resolve(id: string, request: ResolveReviewRequest & { by: string; requestId?: string }) {
      const review = await deps.store.reviews.get(id);
      if (review === undefined) throw new AppError('not_found', { detail: `No review item ${id}.` });
      if (review.state !== 'open') throw new AppError('state_conflict', { detail: `Review ${id} is already ${review.state}.` });
      let detail: Record<string, unknown> = { decision: request.decision, ...(request.note === undefined ? {} : { note: request.note }) };
      if (request.decision === 'approve') {
        const task = deps.tasks.get(review.task);
        if (task === undefined) throw new AppError('state_conflict', { detail: `Task ${review.task} is no longer served.` });
        // The reviewer's output is held to the same contract as the model's (the active version): no way around the schema.
        const errors = task.outputErrors(request.output, ['output']);
        if (errors.length > 0) throw new AppError('validation_failed', { errors });
        detail = { ...detail, output: request.output };
      }
      const now = deps.clock();
      const resolution = { state: request.decision === 'approve' ? 'approved' : 'rejected', at: now.toISOString(), by: request.by, detail } as const;
      const decidedReview: ReviewRecord = { ...review, state: resolution.state, resolvedAt: resolution.at, resolvedBy: resolution.by, resolution: detail };
      // Reviews raised before results were stored have no result to replace; the decision still stands.
      const result = await deps.store.results.findByReview(id);
      const decided = result === undefined ? undefined : decidedResponse(result, decidedReview);
      const deliveries =
        deps.planDeliveries === undefined || review.keyId === null
          ? []
          : await deps.planDeliveries('review.resolved', { keyId: review.keyId, task: review.task }, {
              request_id: review.requestId,
              review_id: review.id,
              task: review.task,
              decision: resolution.state,
              reviewed_by: resolution.by,
              reviewed_at: resolution.at,
              result_url: resultUrl(review.requestId),
              result: decided?.body ?? null,
            });
      const resolved = await deps.store.recordReviewDecision({
        reviewId: id,
        resolution,
        ...(decided === undefined ? {} : { decided: { response: decided, expiresAt: new Date(now.getTime() + deps.resultTtlMs).toISOString() } }),
        deliveries,
        audit: {
          id: deps.newId(),
          requestId: request.requestId ?? deps.newId(),
          at: resolution.at,
          keyId: request.by,
          action: `review.${request.decision}`,
          task: review.task,
          eventId: null,
          source: null,
          decision: 'admin',
          status: 200,
          code: null,
          chunkIds: review.chunkIds,
          model: null,
          latencyMs: 0,
          detail: { review_id: id, ...(request.note === undefined ? {} : { note: request.note }) },
        },
      });
      if (resolved === undefined) throw new AppError('state_conflict', { detail: `Review ${id} was resolved concurrently.` });
      return describeReview(resolved);
    },
  };
}

export type ReviewAdmin = ReturnType<typeof createReviewAdmin>;
