// The shape of a task policy file under policies/. Parsed once at boot; an invalid file stops the server before it listens.
import { z } from 'zod';
import { SCHEMA_VERSIONS } from './envelope.js';

export const RuleAction = z.enum(['deny', 'redact', 'review']);
export type RuleAction = z.infer<typeof RuleAction>;

export const PolicyRule = z.strictObject({
  check: z.string().min(1).describe('Name of a registered check'),
  action: RuleAction.describe('What happens when the check trips'),
  config: z.record(z.string(), z.unknown()).default({}).describe("Parsed by the check's own config schema at boot"),
});
export type PolicyRule = z.infer<typeof PolicyRule>;

export const TaskPolicy = z.strictObject({
  task: z.string().regex(/^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/),
  description: z.string().max(500),
  input: z.strictObject({
    schema: z.string(),
    versions: z.array(z.enum(SCHEMA_VERSIONS)).min(1),
  }),
  output: z.strictObject({ schema: z.string(), version: z.string().regex(/^\d+\.\d+$/) }),
  retrieval: z.strictObject({
    collections: z.array(z.string().regex(/^[a-z][a-z0-9_-]*$/)).min(1),
    k: z.int().min(1).max(20).default(5),
    min_score: z.number().min(0).max(1).default(0.2).describe('Relevance floor; chunks below it are not context'),
  }),
  no_context: z.enum(['abstain', 'review', 'proceed']).describe('What to do when no approved chunk clears the floor'),
  idempotency: z.enum(['optional', 'required']).default('optional'),
  allowed_link_hosts: z
    .array(z.string().regex(/^[a-z0-9.-]+$/, 'a lower-case host name without scheme'))
    .default([])
    .describe('Hosts that links and images in the output may point to; everything else is the exfiltration channel'),
  max_output_tokens: z.int().min(64).max(8192).default(1024),
  input_rules: z.array(PolicyRule).default([]),
  output_rules: z.array(PolicyRule).default([]),
});
export type TaskPolicy = z.infer<typeof TaskPolicy>;
