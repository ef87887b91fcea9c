// The model seam: one interface for the offline extractive provider and any OpenAI-compatible upstream.
import type { RetrievedChunk } from '../retrieval/types.js';
import type { Usage } from '../contracts/task-response.js';

/** What a provider needs to know to say whether it can fill a task's output. */
export interface ModelTask {
  readonly name: string;
  /** Whether the task retrieves approved chunks (and so has a retrieval query). */
  readonly retrieves: boolean;
  /** Whether a value passes the task's output schema. */
  acceptsOutput(output: unknown): boolean;
}

export interface ModelRequest {
  readonly task: string;
  readonly system: string;
  readonly user: string;
  /** Wire name of the output schema (OpenAI requires ^[a-zA-Z0-9_-]+$). */
  readonly schemaName: string;
  readonly jsonSchema: Readonly<Record<string, unknown>>;
  readonly maxOutputTokens: number;
  /** The parsed task input and the retrieved chunks, for providers that work on structure rather than prompt text. */
  readonly input: Readonly<Record<string, unknown>>;
  readonly chunks: readonly RetrievedChunk[];
  /** The text the task retrieved with (its query_fields); empty for a task without retrieval. */
  readonly query: string;
  /** The task's answer threshold (task.json answer_threshold), for a provider whose confidence is calibrated. */
  readonly answerThreshold?: number;
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
  /** Why this provider cannot fill the task's output, or undefined when it can; absent: it fills any schema. */
  refuses?(task: ModelTask): string | undefined;
  complete(request: ModelRequest): Promise<ModelResponse>;
}
