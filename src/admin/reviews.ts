// Working the review queue, shared by the CLI and /admin/reviews: list, inspect, approve with an output that must
// pass the task's own output contract, or reject. Every resolution is an audit row.
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { TaskRegistry } from '../tasks/registry.js';
import type { AuditStore, ReviewRecord, ReviewState, ReviewStore } from '../store/types.js';

export const ResolveReviewRequest = z.strictObject({
  decision: z.enum(['approve', 'reject']),
  output: z.unknown().optional().describe('Required when approving: the corrected output, valid against the task output schema'),
  note: z.string().trim().max(2000).optional(),
});
export type ResolveReviewRequest = z.infer<typeof ResolveReviewRequest>;

export interface ReviewAdminDeps {
  readonly reviews: ReviewStore;
  readonly audit: AuditStore;
  readonly tasks: TaskRegistry;
  readonly clock: () => Date;
  readonly newId: () => string;
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
      const rows = await deps.reviews.list({
        ...(state === undefined ? {} : { state: state as ReviewState }),
        limit: limit + 1,
        ...(filter.after === undefined ? {} : { after: filter.after }),
      });
      return { reviews: rows.slice(0, limit).map(describeReview), more: rows.length > limit };
    },
    async get(id: string) {
      const review = await deps.reviews.get(id);
      if (review === undefined) throw new AppError('not_found', { detail: `No review item ${id}.` });
      return describeReview(review);
    },
    async depth() {
      return deps.reviews.countOpen();
    },
    async resolve(id: string, request: ResolveReviewRequest & { by: string; requestId?: string }) {
      const review = await deps.reviews.get(id);
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
      const resolved = await deps.reviews.resolve(id, { state: request.decision === 'approve' ? 'approved' : 'rejected', at: deps.clock().toISOString(), by: request.by, detail });
      if (resolved === undefined) throw new AppError('state_conflict', { detail: `Review ${id} was resolved concurrently.` });
      await deps.audit.append({
        id: deps.newId(),
        requestId: request.requestId ?? deps.newId(),
        at: deps.clock().toISOString(),
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
      });
      return describeReview(resolved);
    },
  };
}

export type ReviewAdmin = ReturnType<typeof createReviewAdmin>;
