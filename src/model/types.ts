// The model seam: one interface for the offline extractive provider and any OpenAI-compatible upstream.
import type { RetrievedChunk } from '../retrieval/types.js';
import type { TaskName } from '../contracts/tasks.js';
import type { Usage } from '../contracts/task-response.js';

export interface ModelRequest {
  readonly task: TaskName;
  readonly system: string;
  readonly user: string;
  /** Wire name of the output schema (OpenAI requires ^[a-zA-Z0-9_-]+$). */
  readonly schemaName: string;
  readonly jsonSchema: Readonly<Record<string, unknown>>;
  readonly maxOutputTokens: number;
  /** The parsed task input and the retrieved chunks, for providers that work on structure rather than prompt text. */
  readonly input: Readonly<Record<string, unknown>>;
  readonly chunks: readonly RetrievedChunk[];
  readonly signal?: AbortSignal;
}

export interface ModelResponse {
  /** The raw answer text; always re-parsed and validated by the pipeline, whatever the provider. */
  readonly text: string;
  readonly usage: Usage;
  /** LLM03-3: the model the upstream says answered (a dated snapshot such as gpt-4o-mini-2024-07-18), when it says. */
  readonly model?: string;
}

export interface ModelClient {
  readonly provider: string;
  readonly modelName: string;
  complete(request: ModelRequest): Promise<ModelResponse>;
}
