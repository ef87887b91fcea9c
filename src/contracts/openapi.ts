// The OpenAPI 3.1 document, derived from the zod contracts and the task folders' JSON Schemas, so it cannot drift
// from what the server enforces.
import { z } from 'zod';
import { TaskRequestEnvelope } from './envelope.js';
import { TaskResponse } from './task-response.js';
import { ProblemDetails } from './problem.js';
import { ChatRequest } from './chat-completions.js';

const schemaOf = (schema: z.ZodType, io: 'input' | 'output' = 'output'): Record<string, unknown> => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

/**
 * An HTTP operation documented from the zod schemas its handler parses, declared beside the handler (the admin
 * routes) so the document cannot drift from what the server enforces; a test checks every route is documented.
 */
export interface DocumentedOperation {
  readonly method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express-style path (`/admin/keys/:id/revoke`); `:name` becomes an OpenAPI `{name}` path parameter. */
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  /** The success status and what it returns. */
  readonly success: { readonly status: 200 | 201; readonly description: string };
  /** Problem responses beyond the ones every admin operation has (or a fuller description of one of those). */
  readonly problems?: Readonly<Record<number, string>>;
}

/** A name OpenAPI tooling accepts as a component key (letters, digits, `.`, `-`, `_`). */
const componentName = (name: string): string => name.replace(/[^A-Za-z0-9._-]/g, '_');

function operationObject(operation: DocumentedOperation): [string, Record<string, unknown>] {
  const path = operation.path.replace(/:(\w+)/g, '{$1}');
  const pathParameters = [...operation.path.matchAll(/:(\w+)/g)].map((match) => ({ name: match[1], in: 'path', required: true, schema: { type: 'string' } }));
  const queryParameters = Object.entries(operation.query?.shape ?? {}).map(([name, schema]) => ({
    name,
    in: 'query',
    required: !(schema as z.ZodType).safeParse(undefined).success,
    schema: schemaOf(schema as z.ZodType, 'input'),
  }));
  const parameters = [...pathParameters, ...queryParameters];
  return [
    path,
    {
      operationId: `${operation.method}${path.replace(/[{}]/g, '').split(/[/_-]/).map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('')}`,
      summary: operation.summary,
      tags: [operation.tag],
      ...(parameters.length === 0 ? {} : { parameters }),
      ...(operation.body === undefined ? {} : { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(operation.body, 'input') } } } }),
      responses: {
        [operation.success.status]: { description: operation.success.description },
        400: problemResponse('Invalid parameters or body'),
        401: problemResponse('Missing or invalid key'),
        403: problemResponse('The key lacks the admin scope'),
        ...(pathParameters.length === 0 ? {} : { 404: problemResponse('Not found') }),
        503: problemResponse('Storage unavailable'),
        ...Object.fromEntries(Object.entries(operation.problems ?? {}).map(([status, description]) => [status, problemResponse(description)])),
      },
    },
  ];
}

/** What the document needs of a task: its name and its schemas as in the task folder. */
export interface DocumentedTask {
  readonly name: string;
  readonly inputSchemas: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly outputSchema: Readonly<Record<string, unknown>>;
  readonly spec: { readonly output_version: string };
}

export function buildOpenApiDocument(documented: readonly DocumentedTask[], serverVersion: string, operations: readonly DocumentedOperation[] = []): Record<string, unknown> {
  const tasks = documented.map((task) => task.name);
  const taskSchemas = Object.fromEntries(
    documented.flatMap((task) => [
      ...Object.entries(task.inputSchemas).map(([version, schema]) => [componentName(`${task.name}.input_${version}`), schema]),
      [componentName(`${task.name}.output_${task.spec.output_version}`), task.outputSchema],
    ]),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: 'Airlock',
      version: serverVersion,
      license: { name: 'MIT', identifier: 'MIT' },
      description:
        'A guarded gateway between automations and AI models. Every success is marked untrusted: validate `output` against ' +
        '`output_schema` before acting on it. Idempotency records are kept for the configured TTL (default 24 hours).',
    },
    // Relative: the document is served by the server it describes, whatever host and port that is.
    servers: [{ url: '/', description: 'This Airlock server' }],
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An Airlock API key (ak_<env>_…)' } },
      schemas: {
        TaskRequestEnvelope: schemaOf(TaskRequestEnvelope, 'input'),
        TaskResponse: schemaOf(TaskResponse),
        Problem: schemaOf(ProblemDetails),
        ChatRequest: schemaOf(ChatRequest, 'input'),
        ...taskSchemas,
      },
    },
    security: [{ apiKey: [] }],
    paths: {
      '/v1/tasks/{task}': {
        post: {
          operationId: 'runTask',
          summary: 'Run a guarded task',
          parameters: [
            { name: 'task', in: 'path', required: true, schema: { type: 'string', enum: tasks } },
            { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 255 }, description: 'Required by tasks whose policy says so' },
            { name: 'webhook-id', in: 'header', required: false, schema: { type: 'string' } },
            { name: 'webhook-timestamp', in: 'header', required: false, schema: { type: 'string' } },
            { name: 'webhook-signature', in: 'header', required: false, schema: { type: 'string' } },
          ],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/TaskRequestEnvelope' } } } },
          responses: {
            200: { description: 'An untrusted, schema-valid result', content: { 'application/json': { schema: { $ref: '#/components/schemas/TaskResponse' } } } },
            400: problemResponse('Invalid envelope, data, schema version or Idempotency-Key'),
            401: problemResponse('Missing or invalid key or signature'),
            403: problemResponse('Key lacks the scope for this task'),
            404: problemResponse('Unknown task'),
            409: problemResponse('Idempotent request in progress, or signed request replayed'),
            413: problemResponse('Body too large'),
            415: problemResponse('Not application/json'),
            422: problemResponse('Idempotency-Key reused, input denied, output rejected or sent to review'),
            429: problemResponse('Rate limit or token budget exceeded'),
            502: problemResponse('Upstream rejected the request'),
            503: problemResponse('Upstream, storage or a required model screen unavailable'),
            504: problemResponse('Upstream timed out'),
          },
        },
      },
      '/v1/results/{requestId}': {
        get: {
          operationId: 'getResult',
          summary: 'The result of an earlier task request (the key that made it, or an admin): the envelope, pending review, the approved output or the rejection',
          parameters: [{ name: 'requestId', in: 'path', required: true, schema: { type: 'string', maxLength: 128 } }],
          responses: {
            200: { description: 'The untrusted envelope; after an approval it carries `review` (by whom, when)', content: { 'application/json': { schema: { $ref: '#/components/schemas/TaskResponse' } } } },
            202: { description: 'Waiting for a person: `status: pending_review` with `review_id`; poll again after Retry-After' },
            401: problemResponse('Missing or invalid key'),
            404: problemResponse('No result for this request id is visible to this key'),
            422: problemResponse('The request ended in a problem: review_rejected, input_denied, output_rejected'),
          },
        },
      },
      '/v1/chat/completions': {
        post: {
          operationId: 'chatCompletion',
          summary: 'OpenAI-compatible entry: model "airlock:<task>"; the reply content is the task output as JSON, citations under `airlock`',
          parameters: [{ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 255 } }],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/ChatRequest' } } } },
          responses: {
            200: { description: 'A chat.completion whose message content is the untrusted task output' },
            400: { description: 'OpenAI error shape: invalid request, or streaming/tools/logprobs requested' },
            401: { description: 'OpenAI error shape: missing or invalid key' },
            404: { description: 'OpenAI error shape: unknown model' },
            422: { description: 'OpenAI error shape: sent to review or rejected' },
            429: { description: 'OpenAI error shape: rate limited' },
          },
        },
      },
      '/v1/models': {
        get: { operationId: 'listModels', summary: 'The airlock:<task> models this key may call', responses: { 200: { description: 'A model list' }, 401: problemResponse('Missing or invalid key') } },
      },
      '/v1/models/{model}': {
        get: {
          operationId: 'retrieveModel',
          summary: 'One airlock:<task> model, if this key may call it',
          parameters: [{ name: 'model', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: { description: 'The model' }, 401: problemResponse('Missing or invalid key'), 404: problemResponse('Unknown model') },
        },
      },
      '/openapi.json': { get: { operationId: 'openApi', summary: 'This document', security: [], responses: { 200: { description: 'The OpenAPI 3.1 document' } } } },
      '/metrics': {
        get: { operationId: 'metrics', summary: 'Prometheus metrics (admin scope)', responses: { 200: { description: 'text/plain exposition' }, 401: problemResponse('Missing or invalid key'), 403: problemResponse('The key lacks the admin scope') } },
      },
      '/healthz': { get: { operationId: 'health', summary: 'Liveness', security: [], responses: { 200: { description: 'The process is up' } } } },
      '/readyz': { get: { operationId: 'ready', summary: 'Readiness', security: [], responses: { 200: { description: 'Ready' }, 503: problemResponse('Not ready') } } },
      ...documentedPaths(operations),
    },
  };
}

/** Operations grouped by path, as OpenAPI's paths object wants them. */
function documentedPaths(operations: readonly DocumentedOperation[]): Record<string, Record<string, unknown>> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const operation of operations) {
    const [path, object] = operationObject(operation);
    paths[path] = { ...paths[path], [operation.method]: object };
  }
  return paths;
}
