// One task call from parsed envelope to recorded outcome: the idempotency claim around the pipeline, and the
// audit row, stored response and review item committed together (IDEM-5..IDEM-8).
import { AppError } from '../errors.js';
import { TaskRequestEnvelope } from '../contracts/envelope.js';
import { zodIssuesToFieldErrors } from './field-errors.js';
import type { Principal } from '../scopes.js';
import { IdempotencyClaimLostError, type AuditRecord, type FinishingWrite, type StoredResponse, type Store } from '../store/types.js';
import { runFinishing } from '../store/finishing.js';
import { parseTaskInput, resolveTask, type TaskOutcome, type TaskPipeline } from './run-task.js';
import type { TaskRegistry } from '../tasks/registry.js';
import type { ModelCatalogue } from '../model/catalogue.js';
import { canCallTask } from '../scopes.js';
import { resultRecord, resultUrl } from './results.js';
import type { PlanDeliveries } from '../webhooks/events.js';
import type { SignedMessage } from '../security/replay-cache.js';
import type { RateLimits } from '../security/rate-limit.js';

export interface TaskServiceDeps {
  readonly store: Store;
  readonly tasks: TaskRegistry;
  readonly models: ModelCatalogue;
  readonly pipeline: TaskPipeline;
  readonly clock: () => Date;
  readonly newId: () => string;
  readonly idempotencyTtlMs: number;
  /** How long a duplicate waits for the in-flight original before it is told 409 (0: never wait). */
  readonly idempotencyWaitMs: number;
  /** Per-key concurrent execution slots (LLM10-6, B6). */
  readonly limits: Pick<RateLimits, 'acquireSlot'>;
  /** A claim older than this belongs to a request that died with its process (IDEM-8). */
  readonly staleClaimMs: number;
  /** Outbox rows for `request.completed`; absent, no webhook is raised. */
  readonly planDeliveries?: PlanDeliveries;
  readonly onOutcome?: (event: { task: string; status: number; decision: string; replayed: boolean; usage: number; keyId: string }) => void;
}

export interface TaskCall {
  readonly taskName: string;
  /** The parsed JSON body, not yet validated. */
  readonly body: unknown;
  readonly principal: Principal;
  readonly requestId: string;
  readonly startedAt: number;
  /** Present when the caller sent a valid Idempotency-Key; `scope` is already the composite key (IDEM-3). */
  readonly idempotency?: { readonly scope: string; readonly fingerprint: string };
  /** The webhook-id of a signed request (SIG-5): settled here with the outcome, so a transient failure frees it (B8). */
  readonly signedMessage?: SignedMessage;
  readonly signal?: AbortSignal;
}

export interface TaskReply {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string>>;
  readonly replayed: boolean;
}

export function createTaskService(deps: TaskServiceDeps) {
  // Duplicates of a request running in this process wait on it instead of polling the store.
  const running = new Map<string, Promise<unknown>>();

  const toReply = (response: StoredResponse, replayed: boolean): TaskReply => ({ ...response, replayed });

  async function claim(scope: string, fingerprint: string, token: string): Promise<TaskReply | undefined> {
    const deadline = Date.now() + deps.idempotencyWaitMs;
    for (;;) {
      const result = await deps.store.idempotency.claim({ scope, fingerprint, token, now: deps.clock(), staleAfterMs: deps.staleClaimMs });
      switch (result.kind) {
        case 'claimed':
          return undefined;
        case 'replay':
          return toReply(result.response, true);
        case 'mismatch':
          throw new AppError('idempotency_key_reused', { detail: 'This Idempotency-Key was used with a different request body.' });
        case 'in_flight': {
          const remaining = deadline - Date.now();
          if (remaining <= 0) {
            throw new AppError('idempotency_request_in_progress', { headers: { 'Retry-After': '1' } });
          }
          const original = running.get(scope);
          // Across processes there is no promise to wait on, so poll gently until the deadline.
          await settledOrElapsed(original, original === undefined ? Math.min(50, remaining) : remaining);
        }
      }
    }
  }

  /**
   * A repeated webhook-id whose first request stored an idempotent response (SIG-5): it is answered from that record
   * and nothing else. Another Idempotency-Key, or a record that is gone, refuses it; it never executes (B2).
   */
  async function replayOfSignedMessage(replayScope: string, idempotency: TaskCall['idempotency']): Promise<TaskReply> {
    const refused = new AppError('request_replayed', { detail: 'This webhook-id was already received.' });
    if (idempotency?.scope !== replayScope) throw refused;
    const token = deps.newId();
    const replay = await claim(idempotency.scope, idempotency.fingerprint, token);
    if (replay !== undefined) return replay;
    await deps.store.idempotency.release(idempotency.scope, token);
    throw refused;
  }

  /**
   * This request executed, but its claim was reclaimed as abandoned and it lost the key to the request that took it
   * over (B3). Its audit row says so; its answer is dropped, and the caller gets the one stored for the key, or a
   * retryable 409 while that is not there yet, never a second, different answer.
   */
  async function afterLostClaim(audit: AuditRecord, idempotency: NonNullable<TaskCall['idempotency']>): Promise<TaskReply> {
    await deps.store.recordOutcome({ audit: { ...audit, detail: { ...audit.detail, idempotency_claim: 'lost' } } });
    const token = deps.newId();
    const stored = await claim(idempotency.scope, idempotency.fingerprint, token);
    if (stored !== undefined) return stored;
    await deps.store.idempotency.release(idempotency.scope, token);
    throw new AppError('idempotency_request_in_progress', { headers: { 'Retry-After': '1' } });
  }

  return async function handleTask(call: TaskCall): Promise<TaskReply> {
    // One lookup: this request runs on this version to the end, whatever is activated meanwhile.
    const definition = resolveTask(deps.tasks, call.taskName);
    const task = definition.name;
    if (!canCallTask(call.principal, task)) {
      throw new AppError('forbidden_scope', { detail: `This key may not call ${task}.` });
    }
    if (definition.spec.idempotency === 'required' && call.idempotency === undefined) {
      throw new AppError('idempotency_key_missing', { detail: `${task} requires an Idempotency-Key header so retries cannot duplicate work.` });
    }
    const parsedEnvelope = TaskRequestEnvelope.safeParse(call.body);
    if (!parsedEnvelope.success) {
      throw new AppError('validation_failed', { errors: zodIssuesToFieldErrors(parsedEnvelope.error.issues) });
    }
    const envelope = parsedEnvelope.data;
    const input = parseTaskInput(definition, envelope);
    // After validation (a bad request is told so first), before any work: a task no configured model can fill is a 503.
    const model = deps.models.forTask(definition.spec.model, definition.modelTask);

    const idempotency = call.idempotency;
    const signed = call.signedMessage;
    if (signed?.kind === 'repeat') return replayOfSignedMessage(signed.replayScope, idempotency);
    const claimToken = deps.newId();
    if (idempotency !== undefined) {
      const replay = await claim(idempotency.scope, idempotency.fingerprint, claimToken);
      if (replay !== undefined) {
        await signed?.complete(idempotency.scope);
        deps.onOutcome?.({ task, status: replay.status, decision: 'replayed', replayed: true, usage: 0, keyId: call.principal.keyId });
        return replay;
      }
    }
    /** Nothing final happened: the idempotency claim and the webhook-id are freed for the retry (IDEM-7, B8). */
    const releaseClaims = async (): Promise<void> => {
      if (idempotency !== undefined) await deps.store.idempotency.release(idempotency.scope, claimToken).catch(() => undefined);
      await signed?.release();
    };

    // LLM10-6: only executions take a slot; replays and refusals above cost nothing.
    const slot = await deps.limits.acquireSlot(call.principal.keyId, claimToken);
    if (!slot.allowed) {
      await releaseClaims();
      throw new AppError('rate_limited', {
        detail: 'Too many requests of this key are running at once.',
        headers: { 'Retry-After': String(slot.decision.retryAfterSeconds ?? 1) },
        extensions: { 'violated-policies': [slot.decision.policy] },
      });
    }

    const execution = (async (): Promise<TaskOutcome> => {
      try {
        return await deps.pipeline({ task: definition, model, envelope, input, principal: call.principal, requestId: call.requestId, ...(call.signal === undefined ? {} : { signal: call.signal }) });
      } catch (error) {
        await releaseClaims();
        throw error;
      }
    })();
    const settled = execution.catch(() => undefined);
    if (idempotency !== undefined) running.set(idempotency.scope, settled);

    try {
      const outcome = await execution;
      const now = deps.clock();
      const audit: AuditRecord = {
        id: deps.newId(),
        requestId: call.requestId,
        at: now.toISOString(),
        keyId: call.principal.keyId,
        action: 'task.run',
        task,
        eventId: envelope.event_id,
        source: envelope.source,
        decision: outcome.decision,
        status: outcome.status,
        code: outcome.code,
        chunkIds: outcome.chunkIds,
        model: outcome.status === 200 ? ((outcome.body as { model: { provider: string; name: string } }).model.name ?? null) : null,
        latencyMs: Date.now() - call.startedAt,
        detail: { ...outcome.detail, usage: outcome.usage, schema_version: envelope.schema_version, task_version: definition.version, task_digest: definition.digest },
      };
      // The stored response names the task version, so a replay after an activation still says which version answered.
      const response: StoredResponse = { status: outcome.status, headers: { ...outcome.headers, 'Airlock-Task-Version': String(definition.version) }, body: outcome.body };
      const storeResponse = idempotency !== undefined && !outcome.transient;
      try {
        // A transient failure has no result to address: a retry runs the request again.
        const result = outcome.transient
          ? undefined
          : resultRecord({
              requestId: call.requestId,
              keyId: call.principal.keyId,
              task,
              at: now,
              response,
              reviewId: outcome.review?.id ?? null,
              idempotencyScope: storeResponse ? idempotency.scope : null,
              context: { schema_version: envelope.schema_version, event_id: envelope.event_id, output_schema: { name: `${task}.output`, version: definition.spec.output_version } },
              ttlMs: deps.idempotencyTtlMs,
            });
        const deliveries =
          result === undefined || result.state !== 'done' || deps.planDeliveries === undefined
            ? []
            : await deps.planDeliveries('request.completed', { keyId: call.principal.keyId, task }, {
                request_id: call.requestId,
                task,
                status: response.status,
                result_url: resultUrl(call.requestId),
                result: response.body,
              });
        // Everything that ends the call goes with the outcome: on the embedded store it all lives in one file, so the
        // token settlement, the slot, the webhook-id and a transient outcome's claim release commit once with it.
        const finishing: FinishingWrite[] = [...outcome.finishing, slot.releasing()];
        if (signed !== undefined) finishing.push(outcome.transient ? signed.releasing() : signed.completing(storeResponse ? idempotency.scope : null));
        await deps.store.recordOutcome({
          audit,
          ...(storeResponse ? { idempotency: { scope: idempotency.scope, token: claimToken, response, expiresAt: new Date(now.getTime() + deps.idempotencyTtlMs).toISOString() } } : {}),
          ...(outcome.transient && idempotency !== undefined ? { releaseClaim: { scope: idempotency.scope, token: claimToken } } : {}),
          ...(outcome.review === undefined ? {} : { review: outcome.review }),
          ...(result === undefined ? {} : { result }),
          ...(deliveries.length === 0 ? {} : { deliveries }),
          finishing,
        });
      } catch (error) {
        // The outcome did not commit, nor anything that was to go with it: the token settlement happens on its own
        // (the slot is released below); the webhook-id and claim are settled by what the failure means.
        await runFinishing(outcome.finishing);
        if (error instanceof IdempotencyClaimLostError && idempotency !== undefined) {
          const stored = await afterLostClaim(audit, idempotency).catch(async (lost: unknown) => {
            await signed?.release();
            throw lost;
          });
          await signed?.complete(idempotency.scope);
          return stored;
        }
        // Fail closed: an answer whose audit row could not be written is never delivered as a success.
        await releaseClaims();
        throw new AppError('store_unavailable', { cause: error, headers: { 'Retry-After': '2' } });
      }
      deps.onOutcome?.({ task, status: outcome.status, decision: outcome.decision, replayed: false, usage: outcome.usage.total_tokens, keyId: call.principal.keyId });
      return toReply(response, false);
    } finally {
      // A slot whose release fails stays leased until its lease ends: capacity lost for a while, never exceeded.
      await slot.release().catch(() => undefined);
      // A request that took the key over meanwhile registered its own execution; that one stays.
      if (idempotency !== undefined && running.get(idempotency.scope) === settled) running.delete(idempotency.scope);
    }
  };
}

export type TaskService = ReturnType<typeof createTaskService>;

/**
 * Resolves when `work` settles or after `ms`, whichever comes first, and clears its timer: a bare race with a sleep
 * would leave one timer per waiting duplicate, and a race with an already-resolved promise never sleeps at all.
 */
const settledOrElapsed = (work: Promise<unknown> | undefined, ms: number): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void work?.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
