// What a loaded task is: its task.json, its files and the validators compiled from its schemas once at load.
import type { TaskFile } from '../contracts/task-file.js';
import type { FieldError } from '../errors.js';
import type { ModelTask } from '../model/types.js';

export type JsonSchema = Readonly<Record<string, unknown>>;

export type InputCheck =
  | { readonly ok: true; readonly value: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly errors: readonly FieldError[] };

export interface TaskDefinition {
  readonly name: string;
  /** 1 for a folder read at boot; the store numbers the versions it manages. */
  readonly version: number;
  /** SHA-256 over the folder's files, so an audit row names the exact definition that served it. */
  readonly digest: string;
  readonly spec: TaskFile;
  readonly instructions: string;
  /** The input schema per contract version and the output schema, as in their files (without `$schema`). */
  readonly inputSchemas: Readonly<Record<string, JsonSchema>>;
  readonly outputSchema: JsonSchema;
  /** Validates `data` against the version's input schema; errors carry dotted paths and JSON pointers under `prefix`. */
  validateInput(version: string, data: unknown, prefix?: readonly string[]): InputCheck;
  /** Field errors of an output against the output schema; empty when it is valid. */
  outputErrors(output: unknown, prefix?: readonly string[]): readonly FieldError[];
  /** What a model provider needs to know to say whether it can fill this task. */
  readonly modelTask: ModelTask;
  /** Every file of the folder by name, as text. */
  readonly files: Readonly<Record<string, string>>;
}
