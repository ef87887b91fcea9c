// The package's public surface: the app factory, the typed client and the wire contracts.
export { createApp, type AppDeps } from './app.js';
export {
  createAirlockClient,
  AirlockProblemError,
  AirlockResponseError,
  AirlockConnectionError,
  type AirlockClient,
  type AirlockClientOptions,
  type TaskCallOptions,
  type UntrustedResult,
} from './client/index.js';
export * from './contracts/tasks.js';
export * from './contracts/envelope.js';
export * from './contracts/task-response.js';
export * from './contracts/problem.js';
export { buildOpenApiDocument } from './contracts/openapi.js';
