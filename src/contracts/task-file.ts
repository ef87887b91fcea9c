// The shape of a task folder's task.json: which files hold the task's schemas and instructions, how it retrieves,
// which model serves it and which guard rules run. The files it names are read and compiled by src/tasks/.
import { z } from 'zod';
import { PolicyRule } from './policy.js';

export const TASK_NAME = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;
export const CONTRACT_VERSION = /^\d{1,3}\.\d{1,3}$/;

/** A plain file name inside the task folder: no directories, so a task cannot read files outside its folder. */
const FolderFile = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, 'a file name inside the task folder (no slashes)');
const FieldName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'a top-level input field name');

export const TaskFile = z.strictObject({
  description: z.string().min(1).max(500).describe('One sentence; it opens the system message'),
  instructions: FolderFile.describe('Markdown or text: the task instructions for the model. Caller data never goes in it'),
  input: z
    .record(z.string().regex(CONTRACT_VERSION, 'a contract version such as "1.0"'), FolderFile)
    .refine((versions) => Object.keys(versions).length > 0, 'name at least one input version')
    .describe('Contract version → JSON Schema file of `data`; every version is served side by side'),
  output: FolderFile.describe('JSON Schema file of the output; must be OpenAI strict structured-output compatible'),
  output_version: z.string().regex(CONTRACT_VERSION).default('1.0'),
  retrieval: z
    .strictObject({
      collections: z.array(z.string().regex(/^[a-z][a-z0-9_-]*$/)).min(1),
      k: z.int().min(1).max(20).default(5),
      min_score: z.number().min(0).max(1).default(0.2).describe('Relevance floor; chunks below it are not context'),
      query_fields: z.array(FieldName).min(1).describe('Input fields whose text forms the retrieval query'),
    })
    .nullable()
    .describe('null: the task uses no corpus'),
  no_context: z.enum(['abstain', 'review', 'proceed']).default('proceed').describe('What to do when no approved chunk clears the floor'),
  abstain_output: z.record(z.string(), z.unknown()).optional().describe('The answer when no_context is abstain; must pass the output schema'),
  model: z.string().min(1).max(128).optional().describe('"offline" or an id on AIRLOCK_ALLOWED_MODELS; default: the configured model'),
  chat_text_field: FieldName.optional().describe('The input field a plain-text chat message fills on /v1/chat/completions'),
  idempotency: z.enum(['optional', 'required']).default('optional'),
  allowed_link_hosts: z
    .array(z.string().regex(/^[a-z0-9.-]+$/, 'a lower-case host name without scheme'))
    .default([])
    .describe('Hosts that links and images in the output may point to; everything else is the exfiltration channel'),
  max_output_tokens: z.int().min(64).max(8192).default(1024),
  answer_threshold: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe('Grounded answers: the calibrated confidence below which the offline provider abstains; default: its own'),
  input_rules: z.array(PolicyRule).default([]),
  output_rules: z.array(PolicyRule).default([]),
});
export type TaskFile = z.infer<typeof TaskFile>;
