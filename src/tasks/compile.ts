// Turns a task folder's files into a TaskDefinition: task.json parsed with zod, every JSON Schema compiled once with
// ajv (draft 2020-12, strict), input schemas checked to refuse unknown fields, the output schema checked against
// OpenAI's strict subset, abstain_output validated, rules and model checked. Any problem names the file and the
// JSON pointer in it; nothing half-valid is ever returned.
import { createHash } from 'node:crypto';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { TASK_NAME, TaskFile } from '../contracts/task-file.js';
import { jsonPointer, type FieldError } from '../errors.js';
import { validatePolicyRules, PolicyRuleError } from '../guard/run-stage.js';
import type { CheckRegistry } from '../guard/types.js';
import type { ModelTask } from '../model/types.js';
import { inputSchemaIssues, strictOutputIssues, type SchemaIssue } from './schema-rules.js';
import type { InputCheck, JsonSchema, TaskDefinition } from './types.js';

export const TASK_FILE = 'task.json';

export interface TaskIssue {
  /** The file, relative to the tasks folder: `invoice.extract/output.schema.json`. */
  readonly file: string;
  /** RFC 6901 pointer into that file; empty for the whole file. */
  readonly pointer: string;
  readonly message: string;
}

export class TaskLoadError extends Error {
  override readonly name = 'TaskLoadError';
  readonly issues: readonly TaskIssue[];

  constructor(issues: readonly TaskIssue[]) {
    super(issues.map((issue) => `${issue.file}${issue.pointer === '' ? '' : `#${issue.pointer}`}: ${issue.message}`).join('\n'));
    this.issues = issues;
  }
}

export interface TaskCompileDeps {
  readonly checks: CheckRegistry;
  /** Model ids a task may name besides "offline" (AIRLOCK_ALLOWED_MODELS). */
  readonly allowedModels: readonly string[];
  /** Why the offline provider cannot fill a task, or undefined when it can; asked only for tasks routed to "offline". */
  readonly offlineRefusal: (task: ModelTask) => string | undefined;
}

const segmentsOf = (pointer: string): string[] =>
  pointer === '' ? [] : pointer.slice(1).split('/').map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));

/** ajv's errors as problem field errors: a dotted path (the house style) and the JSON pointer of the offending value. */
export function fieldErrorsOf(errors: readonly ErrorObject[], prefix: readonly string[]): FieldError[] {
  return errors.map((error) => {
    const segments = [...prefix, ...segmentsOf(error.instancePath)];
    let message = error.message ?? 'is invalid';
    if (error.keyword === 'additionalProperties' || error.keyword === 'unevaluatedProperties') {
      const field = String((error.params as { additionalProperty?: string; unevaluatedProperty?: string }).additionalProperty ?? (error.params as { unevaluatedProperty?: string }).unevaluatedProperty);
      segments.push(field);
      message = 'unknown field';
    } else if (error.keyword === 'required') {
      segments.push(String((error.params as { missingProperty: string }).missingProperty));
      message = 'is required';
    }
    return { path: segments.join('.') || '(body)', pointer: jsonPointer(segments), message };
  });
}

const withoutDialect = (schema: JsonSchema): JsonSchema => {
  const { $schema: _dialect, ...rest } = schema;
  return rest;
};

/** Compiles one task from its files (name → text). Throws TaskLoadError listing every problem found. */
export function compileTask(name: string, files: Readonly<Record<string, string>>, deps: TaskCompileDeps, version = 1): TaskDefinition {
  const issues: TaskIssue[] = [];
  const at = (file: string, pointer: string, message: string): void => {
    issues.push({ file: `${name}/${file}`, pointer, message });
  };
  const fail = (): never => {
    throw new TaskLoadError(issues);
  };
  if (!TASK_NAME.test(name)) at('', '', 'a task folder is named <area>.<action> in lower case, e.g. invoice.extract');

  const json = (file: string): unknown => {
    const text = files[file];
    if (text === undefined) {
      at(file, '', 'file not found in the task folder');
      return undefined;
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      at(file, '', `not valid JSON (${(error as Error).message})`);
      return undefined;
    }
  };

  const rawSpec = json(TASK_FILE);
  if (rawSpec === undefined) fail();
  const parsed = TaskFile.safeParse(rawSpec);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) at(TASK_FILE, jsonPointer(issue.path.map(String)), issue.message);
    fail();
  }
  const spec = parsed.data as TaskFile;

  // One ajv per task: schemas of different tasks may reuse $id values without clashing.
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  const compile = (file: string, schema: unknown, schemaIssues: (schema: unknown) => SchemaIssue[]): ValidateFunction | undefined => {
    if (schema === undefined) return undefined;
    const found = schemaIssues(schema);
    for (const issue of found) at(file, issue.pointer, issue.message);
    if (found.length > 0) return undefined;
    try {
      return ajv.compile(schema as object);
    } catch (error) {
      at(file, '', `not a valid JSON Schema (draft 2020-12, strict): ${(error as Error).message}`);
      return undefined;
    }
  };

  const inputSchemas: Record<string, JsonSchema> = {};
  const inputValidators = new Map<string, ValidateFunction>();
  for (const [contractVersion, file] of Object.entries(spec.input)) {
    const schema = json(file);
    const validate = compile(file, schema, inputSchemaIssues);
    if (validate === undefined) continue;
    inputSchemas[contractVersion] = withoutDialect(schema as JsonSchema);
    inputValidators.set(contractVersion, validate);
  }
  const outputFile = json(spec.output);
  const validateOutput = compile(spec.output, outputFile, strictOutputIssues);
  if (validateOutput === undefined || issues.length > 0) fail();
  const outputValidator = validateOutput as ValidateFunction;
  const outputErrors = (output: unknown, prefix: readonly string[] = []): readonly FieldError[] =>
    outputValidator(output) ? [] : fieldErrorsOf(outputValidator.errors ?? [], prefix);

  if (files[spec.instructions] === undefined) at(spec.instructions, '', 'file not found in the task folder');
  const retrieval = spec.retrieval;
  if (retrieval === null && spec.answer_threshold !== undefined) at(TASK_FILE, '/answer_threshold', 'a task without retrieval gives no grounded answer to hold to a threshold; drop the key');
  if (retrieval === null && spec.no_context !== 'proceed') at(TASK_FILE, '/no_context', 'a task without retrieval has no "no context" case; use "proceed" or drop the key');
  if (spec.no_context === 'abstain') {
    if (spec.abstain_output === undefined) at(TASK_FILE, '/abstain_output', 'no_context "abstain" needs an abstain_output');
    else for (const error of outputErrors(spec.abstain_output)) at(TASK_FILE, `/abstain_output${error.pointer ?? ''}`, `fails ${spec.output}: ${error.message}`);
  } else if (spec.abstain_output !== undefined) at(TASK_FILE, '/abstain_output', 'only used when no_context is "abstain"');

  for (const [contractVersion, schema] of Object.entries(inputSchemas)) {
    const properties = (schema['properties'] ?? {}) as Record<string, JsonSchema>;
    const fields: Array<readonly [string, string]> = retrieval?.query_fields.map((field, i) => [field, `/retrieval/query_fields/${i}`] as const) ?? [];
    if (spec.chat_text_field !== undefined) fields.push([spec.chat_text_field, '/chat_text_field']);
    for (const [field, pointer] of fields) {
      if (properties[field] === undefined) at(TASK_FILE, pointer, `"${field}" is not a field of input ${contractVersion} (${spec.input[contractVersion]})`);
    }
    if (spec.chat_text_field !== undefined && properties[spec.chat_text_field]?.['type'] !== 'string') {
      at(TASK_FILE, '/chat_text_field', `"${spec.chat_text_field}" must be a string field in input ${contractVersion}`);
    }
  }

  try {
    validatePolicyRules(deps.checks, spec);
  } catch (error) {
    if (!(error instanceof PolicyRuleError)) throw error;
    for (const issue of error.issues) {
      const pointer = /^\/\w+\/\d+/.exec(issue)?.[0] ?? '';
      at(TASK_FILE, pointer, issue.slice(pointer.length).replace(/^\s*/, ''));
    }
  }

  const modelTask: ModelTask = { name, retrieves: retrieval !== null, acceptsOutput: (output) => outputValidator(output) };
  if (spec.model !== undefined && spec.model !== 'offline' && !deps.allowedModels.includes(spec.model)) {
    at(TASK_FILE, '/model', `unknown model "${spec.model}": use "offline" or an id on AIRLOCK_ALLOWED_MODELS (${deps.allowedModels.join(', ')})`);
  }
  if (spec.model === 'offline') {
    const refusal = deps.offlineRefusal(modelTask);
    if (refusal !== undefined) at(TASK_FILE, '/model', `the offline provider cannot fill this task: ${refusal}`);
  }
  if (issues.length > 0) fail();

  return {
    name,
    version,
    digest: digestOf(files),
    spec,
    instructions: files[spec.instructions] ?? '',
    inputSchemas,
    outputSchema: withoutDialect(outputFile as JsonSchema),
    validateInput(contractVersion, data, prefix = []): InputCheck {
      const validate = inputValidators.get(contractVersion);
      if (validate === undefined) throw new RangeError(`no input version ${contractVersion} for ${name}`);
      return validate(data) ? { ok: true, value: data as Record<string, unknown> } : { ok: false, errors: fieldErrorsOf(validate.errors ?? [], prefix) };
    },
    outputErrors,
    modelTask,
    files,
  };
}

/** A stable digest of a folder: file names sorted, each name and text length-prefixed. */
export function digestOf(files: Readonly<Record<string, string>>): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(files).sort()) hash.update(`${name.length}:${name}${Buffer.byteLength(files[name] ?? '')}:${files[name] ?? ''}`);
  return hash.digest('hex');
}
