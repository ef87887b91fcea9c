// The OpenAI-compatible surface: POST /v1/chat/completions with `model: "airlock:<task>"` and GET /v1/models, so
// existing OpenAI SDKs and tools can call Airlock by changing only their base URL. A thin adapter: the last user
// message becomes a task envelope, the same task service runs it (auth, limits, idempotency, policies, audit), and
// the reply is re-shaped as a chat completion. Errors use OpenAI's `{error:{message,type,code,param}}` shape.
import { Router, type ErrorRequestHandler, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { AppError, isAppError, toProblem, type Problem } from '../../errors.js';
import { idempotencyScope, parseIdempotencyKey, requestFingerprint } from '../../security/idempotency-key.js';
import type { TaskReply, TaskService } from '../../pipeline/handle-task.js';
import type { TaskResponse } from '../../contracts/task-response.js';
import { SCHEMA_VERSIONS } from '../../contracts/envelope.js';
import { ChatMessage, ChatRequest, TextPart } from '../../contracts/chat-completions.js';
import type { TaskRegistry } from '../../tasks/registry.js';
import { canCallTask } from '../../scopes.js';
import { parseJson, rawBody, rawBodyOf } from '../middleware/json-body.js';
import { principalOf, withSignedMessage } from '../middleware/auth.js';
import { knownProblem } from '../middleware/problems.js';

export interface OpenAiCompatDeps {
  readonly handleTask: TaskService;
  /** The tasks this server serves, looked up per request so an activated version is seen at once. */
  readonly tasks: TaskRegistry;
  readonly bodyLimitBytes: number;
  readonly authenticate: RequestHandler;
  /** The task route's rate limiter; it reads the task from `req.params.task`. */
  readonly rateLimit: RequestHandler;
  readonly clock: () => Date;
  readonly logger: Logger;
}

export const MODEL_PREFIX = 'airlock:';
const ROUTE = '/v1/chat/completions';
export const COMPAT_SOURCE = 'openai-compat';

/** Parameters that must be absent (or falsy), with the reason given to the caller. */
const REFUSED: ReadonlyArray<readonly [string, string]> = [
  ['stream', 'Streaming is not supported: a result is only released after the output guard has seen all of it.'],
  ['tools', 'Tools are not supported: Airlock tasks never let the model call functions.'],
  ['tool_choice', 'Tools are not supported: Airlock tasks never let the model call functions.'],
  ['functions', 'Functions are not supported: Airlock tasks never let the model call functions.'],
  ['function_call', 'Functions are not supported: Airlock tasks never let the model call functions.'],
  ['parallel_tool_calls', 'Tools are not supported: Airlock tasks never let the model call functions.'],
  ['logprobs', 'Log probabilities are not returned.'],
  ['top_logprobs', 'Log probabilities are not returned.'],
  ['audio', 'Only text input and JSON output are supported.'],
  ['prediction', 'Predicted outputs are not supported.'],
  ['web_search_options', 'Web search is not supported: answers come only from the approved corpus.'],
];

const refuse = (param: string, detail: string): AppError => new AppError('validation_failed', { detail, errors: [{ path: param, message: detail }] });

/** Rejects unsupported parameters before any work is done, naming the parameter as OpenAI does. */
function checkParameters(body: Record<string, unknown>, request: ChatRequest): void {
  for (const [param, reason] of REFUSED) {
    const value = body[param];
    if (value !== undefined && value !== null && value !== false && !(Array.isArray(value) && value.length === 0)) throw refuse(param, reason);
  }
  if (request.n !== undefined && request.n !== null && request.n !== 1) throw refuse('n', 'Only one choice (n = 1) is returned.');
  const format = body['response_format'] as { type?: unknown } | undefined | null;
  if (format !== undefined && format !== null && format.type !== 'text' && format.type !== 'json_object') {
    throw refuse('response_format', "The task's own output schema is always enforced; send no response_format, or json_object.");
  }
}

/** The task a model name selects, or a 404 in the words OpenAI uses for an unknown model. */
function taskOfModel(model: string, tasks: TaskRegistry): string {
  const name = model.startsWith(MODEL_PREFIX) ? model.slice(MODEL_PREFIX.length) : undefined;
  const found = name === undefined ? undefined : tasks.get(name);
  if (found === undefined) {
    throw new AppError('unknown_task', {
      detail: `The model "${model.slice(0, 200)}" does not exist. Use "${MODEL_PREFIX}<task>", one of: ${tasks.list().map((task) => MODEL_PREFIX + task.name).join(', ')}.`,
      errors: [{ path: 'model', message: 'unknown model' }],
    });
  }
  return found.name;
}

const textOf = (content: z.infer<typeof ChatMessage>['content']): string => {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    if (content.some((part) => part.type !== 'text')) throw refuse('messages', 'Only text content parts are supported.');
    return content
      .map((part) => {
        const text = TextPart.safeParse(part);
        if (!text.success) throw refuse('messages', 'A text content part needs its text as a string.');
        return text.data.text;
      })
      .join('\n');
  }
  return '';
};

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The task `data` from the last user message: a JSON object `{"data": {...}}` or the data object itself; anything else
 * is plain text for the task's `chat_text_field`. System and developer messages are refused, not ignored: the task
 * folder's instructions own the prompt, a caller-supplied system prompt would be an injection channel, and silently
 * dropping it would let a caller believe it had an effect. Assistant turns are earlier replies and carry no input.
 */
export function taskDataFromMessages(task: string, textField: string | undefined, messages: ChatRequest['messages']): Record<string, unknown> {
  const instruction = messages.findIndex((message) => message.role === 'system' || message.role === 'developer');
  if (instruction !== -1) {
    throw new AppError('validation_failed', {
      detail: `System and developer messages are not accepted: the instructions of ${task} come from its task folder. Send the task input in a user message.`,
      errors: [{ path: `messages.${instruction}.role`, pointer: `/messages/${instruction}/role`, message: 'system and developer messages are refused' }],
    });
  }
  const last = messages.findLast((message) => message.role === 'user');
  if (last === undefined) throw refuse('messages', 'Send at least one user message; its content becomes the task input.');
  const text = textOf(last.content);
  if (text.trim().startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (isPlainObject(parsed)) {
        const keys = Object.keys(parsed);
        return keys.length === 1 && keys[0] === 'data' && isPlainObject(parsed['data']) ? parsed['data'] : parsed;
      }
    } catch {
      // Not JSON after all: a question may well start with a brace. Treat it as text.
    }
  }
  if (textField === undefined) throw refuse('messages', `${task} takes a JSON object as input; send it as the user message ({"data": {...}} or the object itself).`);
  return { [textField]: text };
}

/** Request ids may hold characters an event id may not (`=`); the envelope's event id is derived, not copied. */
const eventIdFrom = (requestId: string): string => `oai-${requestId.replace(/[^A-Za-z0-9._:-]/g, '-')}`.slice(0, 128);

const OPENAI_ERROR_TYPES: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'invalid_request_error',
  405: 'invalid_request_error',
  409: 'conflict_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
  422: 'invalid_request_error',
  429: 'rate_limit_error',
};

/**
 * A problem re-shaped for OpenAI clients: `error` carries exactly OpenAI's four members; `airlock` keeps what an
 * Airlock-aware caller needs (request id, retryable, review id, field errors).
 */
export function toOpenAiError(problem: Problem): { error: { message: string; type: string; code: string; param: string | null }; airlock: Record<string, unknown> } {
  const param = problem.errors?.[0]?.path ?? null;
  return {
    error: {
      message: problem.detail ?? problem.title,
      type: problem.code === 'quota_exceeded' ? 'insufficient_quota' : (OPENAI_ERROR_TYPES[problem.status] ?? 'api_error'),
      code: problem.code === 'unknown_task' ? 'model_not_found' : problem.code,
      param: problem.code === 'unknown_task' ? 'model' : param === null ? null : param.split('.')[0] ?? null,
    },
    airlock: {
      status: problem.status,
      code: problem.code,
      request_id: problem.request_id,
      retryable: problem.retryable,
      ...(typeof problem['review_id'] === 'string' ? { review_id: problem['review_id'] } : {}),
      ...(problem.errors === undefined ? {} : { errors: problem.errors }),
    },
  };
}

function sendOpenAiError(res: Response, problem: Problem, headers: Readonly<Record<string, string>> = {}): void {
  res.locals['problemCode'] = problem.code;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (problem.status === 401 && !res.hasHeader('WWW-Authenticate')) res.setHeader('WWW-Authenticate', 'Bearer realm="airlock"');
  // The OpenAI SDKs obey this header over their own status table (409 and 5xx are otherwise retried blindly).
  res.setHeader('x-should-retry', problem.retryable ? 'true' : 'false');
  res.setHeader('Cache-Control', 'no-store');
  res.status(problem.status).json(toOpenAiError(problem));
}

/** A task reply as a chat completion whose message content is the task output as JSON text. */
export function toChatCompletion(body: TaskResponse, model: string, created: Date) {
  return {
    id: `chatcmpl-${body.request_id}`,
    object: 'chat.completion' as const,
    created: Math.floor(created.getTime() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant' as const, content: JSON.stringify(body.output), refusal: null },
        finish_reason: 'stop' as const,
        logprobs: null,
      },
    ],
    usage: body.usage,
    /** Airlock's extension: what the task envelope says besides `output`. The content is untrusted data (LLM05-1). */
    airlock: {
      trust: body.trust,
      status: body.status,
      task: body.task,
      schema_version: body.schema_version,
      output_schema: body.output_schema,
      citations: body.citations,
      checks: body.checks,
      request_id: body.request_id,
      event_id: body.event_id,
      model: body.model,
    },
  };
}

function sendCompletion(res: Response, reply: TaskReply, model: string, now: Date): void {
  for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value);
  if (reply.replayed) res.setHeader('Idempotent-Replayed', 'true');
  if (reply.status >= 400) {
    sendOpenAiError(res, reply.body as Problem);
    return;
  }
  res.setHeader('Airlock-Trust', 'untrusted');
  res.status(reply.status).json(toChatCompletion(reply.body as TaskResponse, model, now));
}

export function openAiCompatRoutes(deps: OpenAiCompatDeps): Router {
  const router = Router();
  const listed = (principal: ReturnType<typeof principalOf>) =>
    deps.tasks
      .list()
      .filter((task) => canCallTask(principal, task.name))
      .map((task) => ({ id: MODEL_PREFIX + task.name, object: 'model' as const, created: 0, owned_by: 'airlock' }));

  router.get('/v1/models', deps.authenticate, (_req, res) => {
    res.json({ object: 'list', data: listed(principalOf(res.locals)) });
  });
  router.get('/v1/models/:model', deps.authenticate, (req, res) => {
    const model = listed(principalOf(res.locals)).find((entry) => entry.id === req.params['model']);
    if (model === undefined) throw new AppError('unknown_task', { detail: `The model "${String(req.params['model']).slice(0, 200)}" does not exist or this key may not call it.` });
    res.json(model);
  });

  const selectTask: RequestHandler = (req, res, next) => {
    const body: unknown = res.locals['json'];
    if (!isPlainObject(body)) throw new AppError('validation_failed', { detail: 'Send a chat completion request as a JSON object.' });
    const parsed = ChatRequest.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = issue?.path.join('.') ?? '';
      throw new AppError('validation_failed', { detail: `Invalid ${path || 'request'}: ${issue?.message ?? 'malformed'}.`, errors: [{ path, message: issue?.message ?? 'malformed' }] });
    }
    checkParameters(body, parsed.data);
    const task = taskOfModel(parsed.data.model, deps.tasks);
    res.locals['task'] = task;
    res.locals['chatRequest'] = parsed.data;
    // The shared per-task limiter reads the task from the route parameters, as on /v1/tasks/{task}.
    req.params['task'] = task;
    next();
  };

  router.post(ROUTE, rawBody(deps.bodyLimitBytes), deps.authenticate, parseJson, selectTask, deps.rateLimit, async (req, res) => {
    const principal = principalOf(res.locals);
    const task = res.locals['task'] as string;
    const request = res.locals['chatRequest'] as ChatRequest;
    const header = parseIdempotencyKey(req.get('idempotency-key'));
    if (!header.ok && !header.absent) throw new AppError('idempotency_key_invalid', { detail: `Idempotency-Key ${header.reason}.` });
    const requestId = String(res.locals['requestId']);
    const metadata = request.metadata ?? {};
    const schemaVersion = metadata['schema_version'] ?? SCHEMA_VERSIONS[0];
    const now = deps.clock();
    const reply = await deps.handleTask({
      taskName: task,
      body: {
        schema_version: schemaVersion,
        source: COMPAT_SOURCE,
        event_id: metadata['event_id'] ?? eventIdFrom(requestId),
        timestamp: now.toISOString(),
        data: taskDataFromMessages(task, deps.tasks.get(task)?.spec.chat_text_field, request.messages),
      },
      principal,
      requestId,
      startedAt: Number(res.locals['startedAt']),
      ...withSignedMessage(res.locals),
      // The fingerprint is over the chat request as sent, so a retry with the same key and body replays (IDEM-4).
      ...(header.ok
        ? { idempotency: { scope: idempotencyScope(principal.keyId, 'POST', ROUTE, header.key), fingerprint: requestFingerprint('POST', ROUTE, rawBodyOf(req.body)) } }
        : {}),
    });
    res.locals['audited'] = true;
    sendCompletion(res, reply, request.model, now);
  });
  router.all(ROUTE, () => {
    throw new AppError('method_not_allowed', { detail: 'Use POST.', headers: { Allow: 'POST' } });
  });

  // Errors from this router's routes (auth, limits, validation, the service) leave in OpenAI's shape.
  const openAiErrors: ErrorRequestHandler = (error: unknown, _req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    let appError = knownProblem(error);
    if (appError === undefined) {
      deps.logger.error({ request_id: res.locals['requestId'], err: error }, 'unexpected error');
      appError = new AppError('internal_error', { detail: 'An unexpected error occurred; the request id identifies it in our logs.' });
    }
    if (appError.status >= 500 && isAppError(error)) deps.logger.warn({ request_id: res.locals['requestId'], code: appError.code, err: appError.cause ?? appError }, 'request failed');
    sendOpenAiError(res, toProblem(appError, String(res.locals['requestId'] ?? 'unknown')), appError.headers);
  };
  router.use(openAiErrors);
  return router;
}
