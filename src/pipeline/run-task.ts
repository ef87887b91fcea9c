// The guarded task pipeline, protocol-free: contract parse → input guard → approved retrieval → model under a
// forced schema → re-parse → output guard → untrusted envelope. Every path ends in a TaskOutcome value; only
// http/ turns it into a response, and the caller records it (audit, idempotency, review) in one transaction.
import { AppError, toProblem, type ProblemCode } from '../errors.js';
import type { TaskRequestEnvelope } from '../contracts/envelope.js';
import type { CheckOutcome, Citation, TaskResponse, Usage } from '../contracts/task-response.js';
import type { TaskDefinition } from '../tasks/types.js';
import type { TaskRegistry } from '../tasks/registry.js';
import type { Retriever, RetrievedChunk } from '../retrieval/types.js';
import type { ModelClient, ModelResponse } from '../model/types.js';
import { buildPrompt, estimatePromptTokens, type Prompt } from '../model/prompt.js';
import { POLICIES, type RateLimits } from '../security/rate-limit.js';
import { runStage, type StageOutcome } from '../guard/run-stage.js';
import type { CheckRegistry, ScreenUnavailable } from '../guard/types.js';
import { allowedCollections, type Principal } from '../scopes.js';
import type { AuditDecision, FinishingWrite, ReviewRecord } from '../store/types.js';
import type { PipelineObserver } from '../metrics.js';
import { resultUrl } from './results.js';

export interface TaskPipelineDeps {
  readonly retriever: Retriever;
  readonly checks: CheckRegistry;
  readonly clock: () => Date;
  readonly newId: () => string;
  readonly random: (bytes: number) => Buffer;
  readonly observer: PipelineObserver;
  /** The per-key daily token budget, reserved before each model call and settled after it (LLM10-5, B6). */
  readonly limits: Pick<RateLimits, 'reserveTokens'>;
}

export interface TaskRun {
  /** The task version this run started with; it finishes on it whatever is activated meanwhile. */
  readonly task: TaskDefinition;
  /** The model that serves this task (see ModelCatalogue). */
  readonly model: ModelClient;
  readonly envelope: TaskRequestEnvelope;
  /** `data`, already parsed with the input contract of the envelope's schema_version. */
  readonly input: Readonly<Record<string, unknown>>;
  readonly principal: Principal;
  readonly requestId: string;
  readonly signal?: AbortSignal;
}

/** What a finished run produced: the response to send and everything the audit trail needs. */
export interface TaskOutcome {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string>>;
  readonly decision: AuditDecision;
  readonly code: ProblemCode | null;
  readonly chunkIds: readonly string[];
  readonly usage: Usage;
  readonly detail: Readonly<Record<string, unknown>>;
  readonly review?: ReviewRecord;
  /** A transient upstream failure: not stored for idempotent replay, so a retry re-executes (IDEM-7). */
  readonly transient: boolean;
  /** The token reservation's settlement (or release), for the caller to commit with the outcome. */
  readonly finishing: readonly FinishingWrite[];
}

const NO_USAGE: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };

/** The text a task retrieves with: its query_fields' values (lists joined), not the whole payload. */
const retrievalQuery = (fields: readonly string[], input: Readonly<Record<string, unknown>>): string =>
  fields
    .map((field) => input[field])
    .map((value) => (Array.isArray(value) ? value.filter((item) => typeof item === 'string').join(' ') : typeof value === 'string' ? value : ''))
    .filter((text) => text !== '')
    .join(' ');

/**
 * When every denying rule of a stage failed only because its check could not decide (model_screen without a verdict),
 * the longest wait any of them asked for; undefined when the stage did not deny or some rule denied on the merits.
 */
function undecidedDenial(stage: StageOutcome): ScreenUnavailable | undefined {
  if (stage.decision !== 'deny') return undefined;
  const denying = stage.outcomes.filter((outcome) => outcome.result === 'failed' && outcome.action === 'deny');
  const undecided = denying.flatMap((outcome) => (outcome.unavailable === undefined ? [] : [outcome.unavailable]));
  if (undecided.length < denying.length) return undefined;
  return {
    retryAfterSeconds: Math.max(...undecided.map((entry) => entry.retryAfterSeconds)),
    budgetSpent: undecided.some((entry) => entry.budgetSpent),
  };
}

/** Resolves the task's active definition or says why not, before any work is done. */
export function resolveTask(tasks: TaskRegistry, name: string): TaskDefinition {
  const task = tasks.get(name);
  if (task === undefined) throw new AppError('unknown_task', { detail: `No task named "${name}" is configured.` });
  return task;
}

/** Validates `data` with the input schema the envelope's schema_version selects; unknown fields are refused. */
export function parseTaskInput(task: TaskDefinition, envelope: TaskRequestEnvelope): Readonly<Record<string, unknown>> {
  const version = envelope.schema_version;
  const versions = Object.keys(task.inputSchemas);
  if (!versions.includes(version)) {
    throw new AppError('unsupported_schema_version', {
      detail: `schema_version "${version}" is not served for ${task.name}; supported: ${versions.join(', ')}.`,
      extensions: { supported_versions: versions },
    });
  }
  const checked = task.validateInput(version, envelope.data, ['data']);
  if (!checked.ok) throw new AppError('validation_failed', { errors: checked.errors });
  return checked.value;
}

export function createTaskPipeline(deps: TaskPipelineDeps) {
  return async function runTask(run: TaskRun): Promise<TaskOutcome> {
    const { task, envelope, requestId } = run;
    const { spec } = task;
    const outputSchemaName = `${task.name}.output`;
    const checkOutcomes: CheckOutcome[] = [];
    let chunks: readonly RetrievedChunk[] = [];
    let usage = NO_USAGE;
    let finishing: readonly FinishingWrite[] = [];

    const failure = (code: ProblemCode, decision: AuditDecision, options: { detail?: string; extensions?: Record<string, unknown>; headers?: Record<string, string>; audit?: Record<string, unknown>; review?: ReviewRecord } = {}): TaskOutcome => {
      const error = new AppError(code, {
        ...(options.detail === undefined ? {} : { detail: options.detail }),
        extensions: { ...options.extensions, ...(options.review === undefined ? {} : { review_id: options.review.id }) },
        headers: options.headers ?? {},
      });
      return {
        status: error.status,
        body: toProblem(error, requestId),
        headers: error.headers,
        decision,
        code,
        chunkIds: chunks.map((chunk) => chunk.chunkId),
        usage,
        detail: { checks: checkOutcomes, ...options.audit },
        ...(options.review === undefined ? {} : { review: options.review }),
        transient: false,
        finishing,
      };
    };

    const sendToReview = (reasons: readonly string[], input: Readonly<Record<string, unknown>>, rawOutput: string): TaskOutcome => {
      const review: ReviewRecord = {
        id: deps.newId(),
        createdAt: deps.clock().toISOString(),
        requestId,
        keyId: run.principal.keyId,
        task: task.name,
        state: 'open',
        reasons,
        input,
        rawOutput,
        chunkIds: chunks.map((chunk) => chunk.chunkId),
        resolvedAt: null,
        resolvedBy: null,
        resolution: null,
      };
      return failure('sent_to_review', 'review', {
        detail: 'The result needs a person to look at it before it can be used.',
        extensions: { result_url: resultUrl(requestId) },
        review,
        audit: { reasons },
      });
    };

    const observeStage = (outcome: StageOutcome): StageOutcome => {
      for (const check of outcome.outcomes) deps.observer.check(check.name, check.stage, check.result);
      return outcome;
    };
    const recordChecks = (outcome: StageOutcome): void => {
      // Only allowed stages are recorded here, so a failed check cannot appear in a success envelope.
      for (const check of outcome.outcomes) {
        if (check.result === 'failed') continue;
        checkOutcomes.push({
          name: check.name,
          stage: check.stage,
          result: check.result,
          ...(check.reasons.length > 0 ? { detail: check.reasons.join('; ') } : {}),
        });
      }
    };
    const reasonsOf = (outcome: StageOutcome): string[] =>
      outcome.outcomes.filter((check) => check.result === 'failed').flatMap((check) => check.reasons.map((reason) => `${check.name}: ${reason}`));

    const inputStage = observeStage(await runStage({
      registry: deps.checks,
      rules: spec.input_rules,
      stage: 'input',
      context: { requestId, task: task.name, retrievedChunkIds: new Set(), canary: '', allowedLinkHosts: spec.allowed_link_hosts, systemPrompt: '', keyId: run.principal.keyId },
      value: run.input,
    }));
    const undecided = undecidedDenial(inputStage);
    if (undecided !== undefined) {
      // Nothing was judged unsafe, but a screen the policy requires gave no verdict: retryable, and not stored for replay.
      const headers = { 'Retry-After': String(undecided.retryAfterSeconds) };
      const refused = undecided.budgetSpent
        ? failure('quota_exceeded', 'denied', {
            detail: 'The model screen call budget of this key is spent for now; nothing was sent to the model.',
            headers,
            extensions: { 'violated-policies': [POLICIES.screenCalls.name] },
            audit: { reasons: reasonsOf(inputStage) },
          })
        : failure('screen_unavailable', 'error', {
            detail: 'A screen this task requires could not decide (unavailable, too slow or out of shape); nothing was sent to the model.',
            headers,
            extensions: { violations: reasonsOf(inputStage) },
            audit: { reasons: reasonsOf(inputStage) },
          });
      return { ...refused, transient: true };
    }
    if (inputStage.decision === 'deny') {
      return failure('input_denied', 'denied', { detail: 'The input was refused by policy.', extensions: { violations: reasonsOf(inputStage) }, audit: { reasons: reasonsOf(inputStage) } });
    }
    if (inputStage.decision === 'review') return sendToReview(reasonsOf(inputStage), inputStage.value, '');
    recordChecks(inputStage);
    const guardedInput = inputStage.value;

    const query = spec.retrieval === null ? '' : retrievalQuery(spec.retrieval.query_fields, guardedInput);
    if (spec.retrieval !== null) {
      const retrievalStarted = performance.now();
      chunks = await deps.retriever.search({
        query,
        collections: allowedCollections(run.principal, spec.retrieval.collections),
        k: spec.retrieval.k,
        minScore: spec.retrieval.min_score,
      });
      deps.observer.retrieval((performance.now() - retrievalStarted) / 1000);

      if (chunks.length === 0 && spec.no_context !== 'proceed') {
        if (spec.no_context === 'review') return sendToReview(['no approved context cleared the relevance floor'], guardedInput, '');
        // LLM09-2: nothing relevant is approved, so the answer is the task's abstention and no model is called.
        return success(spec.abstain_output ?? {}, 'abstained', { provider: 'airlock', name: 'abstain' });
      }
    }

    const prompt = buildPrompt({
      policyDescription: spec.description,
      instructions: task.instructions,
      taskName: task.name,
      outputSchemaName,
      input: guardedInput,
      chunks: chunks.map((chunk) => ({ chunkId: chunk.chunkId, title: chunk.title, text: chunk.text })),
      random: deps.random,
    });
    // B6: the call's worst case (prompt estimate plus the output cap) is set aside first, so concurrent calls cannot
    // all spend the same remainder of the budget; a refusal is transient, like any 429 (IDEM-7).
    const reservation = await deps.limits.reserveTokens(run.principal.keyId, estimatePromptTokens(prompt) + spec.max_output_tokens);
    if (!reservation.allowed) {
      const { decision } = reservation;
      const refused = failure('quota_exceeded', 'denied', {
        detail: 'The daily model token budget of this key cannot cover this call.',
        headers: { 'Retry-After': String(decision.retryAfterSeconds ?? 1), 'RateLimit-Policy': decision.policyHeader, RateLimit: decision.limitHeader },
        extensions: { 'violated-policies': [decision.policy] },
      });
      return { ...refused, transient: true };
    }
    let completion;
    const upstreamStarted = performance.now();
    try {
      completion = await run.model.complete({
        task: task.name,
        system: prompt.system,
        user: prompt.user,
        schemaName: outputSchemaName.replaceAll('.', '_'),
        jsonSchema: task.outputSchema,
        maxOutputTokens: spec.max_output_tokens,
        input: guardedInput,
        chunks,
        query,
        ...(spec.answer_threshold === undefined ? {} : { answerThreshold: spec.answer_threshold }),
        ...(run.signal === undefined ? {} : { signal: run.signal }),
      });
    } catch (error) {
      // Nothing is charged for a call that did not answer (LLM10: a stall past the deadline costs no budget).
      if (!(error instanceof AppError)) {
        await reservation.release();
        throw error;
      }
      finishing = [reservation.releasing()];
      deps.observer.upstream((performance.now() - upstreamStarted) / 1000, error.code.replace('upstream_', ''));
      const outcome = failure(error.code, 'error', { ...(error.detail === undefined ? {} : { detail: error.detail }), headers: { ...error.headers } });
      return { ...outcome, transient: error.code !== 'upstream_rejected' };
    }
    deps.observer.upstream((performance.now() - upstreamStarted) / 1000, 'ok');
    usage = completion.usage;
    // Settled with the outcome (one commit on the embedded store); settled here if no outcome comes back.
    const settlement = reservation.settling(usage.total_tokens);
    finishing = [settlement];
    try {
      return await answered(completion, prompt, guardedInput);
    } catch (error) {
      await settlement.run();
      throw error;
    }

    /** The model answered: parse, validate and guard its output into the outcome. */
    async function answered(completion: ModelResponse, prompt: Prompt, guardedInput: Readonly<Record<string, unknown>>): Promise<TaskOutcome> {
      // LLM01-2 / LLM05-3: the answer is data until our own code has parsed and validated it; anything else is reviewed.
      let candidate: unknown;
      try {
        candidate = JSON.parse(completion.text);
      } catch {
        return sendToReview(['model output is not JSON'], guardedInput, completion.text);
      }
      const schemaErrors = task.outputErrors(candidate, ['output']);
      if (schemaErrors.length > 0) {
        const reasons = schemaErrors.map((issue) => `${issue.path}: ${issue.message}`);
        return sendToReview(['model output failed the output schema', ...reasons], guardedInput, completion.text);
      }

      const outputStage = observeStage(await runStage({
        registry: deps.checks,
        rules: spec.output_rules,
        stage: 'output',
        context: {
          requestId,
          task: task.name,
          retrievedChunkIds: new Set(chunks.map((chunk) => chunk.chunkId)),
          canary: prompt.canary,
          allowedLinkHosts: spec.allowed_link_hosts,
          systemPrompt: prompt.system,
        },
        value: candidate as Record<string, unknown>,
      }));
      if (outputStage.decision === 'deny') {
        return failure('output_rejected', 'rejected', { detail: 'The model output was blocked by policy.', audit: { reasons: reasonsOf(outputStage) } });
      }
      if (outputStage.decision === 'review') return sendToReview(reasonsOf(outputStage), guardedInput, completion.text);
      recordChecks(outputStage);
      // A repair (sanitised HTML, redaction) must still satisfy the contract: fail closed if it does not.
      if (task.outputErrors(outputStage.value).length > 0) return sendToReview(['repaired output failed the output schema'], guardedInput, completion.text);

      const output = outputStage.value;
      return success(output, output['abstained'] === true ? 'abstained' : 'ok', { provider: run.model.provider, name: completion.model ?? run.model.modelName });
    }

    function success(output: Readonly<Record<string, unknown>>, status: 'ok' | 'abstained', model: { provider: string; name: string }): TaskOutcome {
      const cited = new Set(Array.isArray(output['citations']) ? (output['citations'] as string[]) : []);
      const citations: Citation[] = chunks
        .filter((chunk) => cited.has(chunk.chunkId))
        .map((chunk) => ({
          chunk_id: chunk.chunkId,
          document_id: chunk.documentId,
          document_version: chunk.documentVersion,
          collection: chunk.collection,
          score: Math.round(chunk.score * 10_000) / 10_000,
        }));
      const body: TaskResponse = {
        trust: 'untrusted',
        content_format: 'json',
        task: task.name,
        status,
        schema_version: envelope.schema_version,
        output_schema: { name: outputSchemaName, version: spec.output_version },
        output,
        citations,
        checks: checkOutcomes,
        request_id: requestId,
        event_id: envelope.event_id,
        model,
        usage,
      };
      return {
        status: 200,
        body,
        headers: {},
        decision: status === 'ok' ? 'allowed' : 'abstained',
        code: null,
        chunkIds: chunks.map((chunk) => chunk.chunkId),
        usage,
        detail: { checks: checkOutcomes, cited: [...cited] },
        transient: false,
        finishing,
      };
    }
  };
}

export type TaskPipeline = ReturnType<typeof createTaskPipeline>;
