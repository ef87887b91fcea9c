// The package's public surface: the app factory, the client, the wire contracts and the task loader.
export { createApp, type AppDeps } from './app.js';
export {
  createAirlockClient,
  AirlockProblemError,
  AirlockResponseError,
  AirlockConnectionError,
  type AirlockClient,
  type AirlockClientOptions,
  type TaskCallOptions,
  type RunTaskOptions,
  type UntrustedResult,
} from './client/index.js';
export * from './contracts/task-file.js';
export { loadTaskFolders } from './tasks/load.js';
export { compileTask, TaskLoadError } from './tasks/compile.js';
export type { TaskDefinition } from './tasks/types.js';
export * from './contracts/envelope.js';
export * from './contracts/task-response.js';
export * from './contracts/problem.js';
export { buildOpenApiDocument } from './contracts/openapi.js';
