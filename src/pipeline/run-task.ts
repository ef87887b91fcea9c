// The guarded task pipeline, protocol-free: contract parse → input guard → approved retrieval → model under a
// forced schema → re-parse → output guard → untrusted envelope. Every path ends in a TaskOutcome value; only
// http/ turns it into a response, and the caller records it (audit, idempotency, review) in one transaction.
import { AppError, toProblem, type ProblemCode } from '../errors.js';
import { TASK_CONTRACTS, type TaskName } from '../contracts/tasks.js';
import type { TaskRequestEnvelope } from '../contracts/envelope.js';
import type { CheckOutcome, Citation, TaskResponse, Usage } from '../contracts/task-response.js';
import type { TaskPolicy } from '../contracts/policy.js';
import type { PolicySet } from '../policies.js';
import { outputJsonSchema } from '../policies.js';
import type { Retriever, RetrievedChunk } from '../retrieval/types.js';
import type { ModelClient } from '../model/types.js';
import { buildPrompt } from '../model/prompt.js';
import { runStage, type StageOutcome } from '../guard/run-stage.js';
import type { CheckRegistry } from '../guard/types.js';
import { allowedCollections, type Principal } from '../scopes.js';
import type { AuditDecision, ReviewRecord } from '../store/types.js';
import { zodIssuesToFieldErrors } from './field-errors.js';
import type { PipelineObserver } from '../metrics.js';
import { resultUrl } from './results.js';

export interface TaskPipelineDeps {
  readonly policies: PolicySet;
  readonly retriever: Retriever;
  readonly model: ModelClient;
  readonly checks: CheckRegistry;
  readonly clock: () => Date;
  readonly newId: () => string;
  readonly random: (bytes: number) => Buffer;
  readonly observer: PipelineObserver;
}

export interface TaskRun {
  readonly task: TaskName;
  readonly policy: TaskPolicy;
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
}

const NO_USAGE: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };

/** The text each task retrieves with: what the caller is asking about, not the whole payload. */
const retrievalQuery = (task: TaskName, input: Readonly<Record<string, unknown>>): string => {
  switch (task) {
    case 'support.answer':
      return String(input['question']);
    case 'lead.classify':
      return `${String(input['message'])} ${String(input['company'] ?? '')}`;
    case 'content.draft':
      return `${String(input['topic'])} ${(input['keywords'] as string[]).join(' ')}`;
  }
};

/** Resolves the task and its policy or says why not, before any work is done. */
export function resolveTask(policies: PolicySet, task: string): { task: TaskName; policy: TaskPolicy } {
  const policy = policies.get(task as TaskName);
  if (policy === undefined) throw new AppError('unknown_task', { detail: `No task named "${task}" is configured.` });
  return { task: task as TaskName, policy };
}

/** Parses `data` with the input contract the envelope's schema_version selects. */
export function parseTaskInput(task: TaskName, policy: TaskPolicy, envelope: TaskRequestEnvelope): Record<string, unknown> {
  const version = envelope.schema_version;
  if (!(policy.input.versions as readonly string[]).includes(version)) {
    throw new AppError('unsupported_schema_version', {
      detail: `schema_version "${version}" is not served for ${task}; supported: ${policy.input.versions.join(', ')}.`,
      extensions: { supported_versions: policy.input.versions },
    });
  }
  const schema = TASK_CONTRACTS[task].inputs[version as keyof (typeof TASK_CONTRACTS)[TaskName]['inputs']];
  const parsed = schema.safeParse(envelope.data);
  if (!parsed.success) {
    throw new AppError('validation_failed', { errors: zodIssuesToFieldErrors(parsed.error.issues, ['data']) });
  }
  return parsed.data as Record<string, unknown>;
}

export function createTaskPipeline(deps: TaskPipelineDeps) {
  const jsonSchemas = new Map([...deps.policies.keys()].map((task) => [task, outputJsonSchema(task)]));

  return async function runTask(run: TaskRun): Promise<TaskOutcome> {
    const { task, policy, envelope, requestId } = run;
    const checkOutcomes: CheckOutcome[] = [];
    let chunks: readonly RetrievedChunk[] = [];
    let usage = NO_USAGE;

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
      };
    };

    const sendToReview = (reasons: readonly string[], input: Readonly<Record<string, unknown>>, rawOutput: string): TaskOutcome => {
      const review: ReviewRecord = {
        id: deps.newId(),
        createdAt: deps.clock().toISOString(),
        requestId,
        keyId: run.principal.keyId,
        task,
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
      rules: policy.input_rules,
      stage: 'input',
      context: { requestId, task, retrievedChunkIds: new Set(), canary: '', allowedLinkHosts: policy.allowed_link_hosts, systemPrompt: '' },
      value: run.input,
    }));
    if (inputStage.decision === 'deny') {
      return failure('input_denied', 'denied', { detail: 'The input was refused by policy.', extensions: { violations: reasonsOf(inputStage) }, audit: { reasons: reasonsOf(inputStage) } });
    }
    if (inputStage.decision === 'review') return sendToReview(reasonsOf(inputStage), inputStage.value, '');
    recordChecks(inputStage);
    const guardedInput = inputStage.value;

    const retrievalStarted = performance.now();
    chunks = await deps.retriever.search({
      query: retrievalQuery(task, guardedInput),
      collections: allowedCollections(run.principal, policy.retrieval.collections),
      k: policy.retrieval.k,
      minScore: policy.retrieval.min_score,
    });
    deps.observer.retrieval((performance.now() - retrievalStarted) / 1000);

    if (chunks.length === 0 && policy.no_context !== 'proceed') {
      if (policy.no_context === 'review') return sendToReview(['no approved context cleared the relevance floor'], guardedInput, '');
      // LLM09-2: nothing relevant is approved, so the answer is an abstention and no model is called.
      return success({ answer: '', citations: [], confidence: 0, abstained: true }, 'abstained', { provider: 'airlock', name: 'abstain' });
    }

    const prompt = buildPrompt({
      policyDescription: policy.description,
      taskName: task,
      outputSchemaName: policy.output.schema,
      input: guardedInput,
      chunks: chunks.map((chunk) => ({ chunkId: chunk.chunkId, title: chunk.title, text: chunk.text })),
      random: deps.random,
    });
    let completion;
    const upstreamStarted = performance.now();
    try {
      completion = await deps.model.complete({
        task,
        system: prompt.system,
        user: prompt.user,
        schemaName: policy.output.schema.replaceAll('.', '_'),
        jsonSchema: jsonSchemas.get(task) ?? outputJsonSchema(task),
        maxOutputTokens: policy.max_output_tokens,
        input: guardedInput,
        chunks,
        ...(run.signal === undefined ? {} : { signal: run.signal }),
      });
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      deps.observer.upstream((performance.now() - upstreamStarted) / 1000, error.code.replace('upstream_', ''));
      const outcome = failure(error.code, 'error', { ...(error.detail === undefined ? {} : { detail: error.detail }), headers: { ...error.headers } });
      return { ...outcome, transient: error.code !== 'upstream_rejected' };
    }
    deps.observer.upstream((performance.now() - upstreamStarted) / 1000, 'ok');
    usage = completion.usage;

    // LLM01-2 / LLM05-3: the answer is data until our own code has parsed and validated it; anything else is reviewed.
    let candidate: unknown;
    try {
      candidate = JSON.parse(completion.text);
    } catch {
      return sendToReview(['model output is not JSON'], guardedInput, completion.text);
    }
    const contract = TASK_CONTRACTS[task].output;
    const parsedOutput = contract.safeParse(candidate);
    if (!parsedOutput.success) {
      const reasons = zodIssuesToFieldErrors(parsedOutput.error.issues, ['output']).map((issue) => `${issue.path}: ${issue.message}`);
      return sendToReview(['model output failed the output schema', ...reasons], guardedInput, completion.text);
    }

    const outputStage = observeStage(await runStage({
      registry: deps.checks,
      rules: policy.output_rules,
      stage: 'output',
      context: {
        requestId,
        task,
        retrievedChunkIds: new Set(chunks.map((chunk) => chunk.chunkId)),
        canary: prompt.canary,
        allowedLinkHosts: policy.allowed_link_hosts,
        systemPrompt: prompt.system,
      },
      value: parsedOutput.data as Record<string, unknown>,
    }));
    if (outputStage.decision === 'deny') {
      return failure('output_rejected', 'rejected', { detail: 'The model output was blocked by policy.', audit: { reasons: reasonsOf(outputStage) } });
    }
    if (outputStage.decision === 'review') return sendToReview(reasonsOf(outputStage), guardedInput, completion.text);
    recordChecks(outputStage);
    // A repair (sanitised HTML, redaction) must still satisfy the contract: fail closed if it does not.
    const finalOutput = contract.safeParse(outputStage.value);
    if (!finalOutput.success) return sendToReview(['repaired output failed the output schema'], guardedInput, completion.text);

    const output = finalOutput.data as Record<string, unknown>;
    return success(output, output['abstained'] === true ? 'abstained' : 'ok', { provider: deps.model.provider, name: completion.model ?? deps.model.modelName });

    function success(output: Record<string, unknown>, status: 'ok' | 'abstained', model: { provider: string; name: string }): TaskOutcome {
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
        task,
        status,
        schema_version: envelope.schema_version,
        output_schema: { name: policy.output.schema, version: policy.output.version },
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
      };
    }
  };
}

export type TaskPipeline = ReturnType<typeof createTaskPipeline>;
