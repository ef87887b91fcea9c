// The untrusted envelope every successful task call returns (LLM05-1): callers must validate `output` before any side effect.
import { z } from 'zod';

export const Citation = z.strictObject({
  chunk_id: z.string(),
  document_id: z.string(),
  document_version: z.int().min(1),
  collection: z.string(),
  score: z.number(),
});
export type Citation = z.infer<typeof Citation>;

export const CheckOutcome = z.strictObject({
  name: z.string(),
  stage: z.enum(['input', 'output']),
  result: z.enum(['pass', 'redacted', 'neutralised']),
  detail: z.string().optional(),
});
export type CheckOutcome = z.infer<typeof CheckOutcome>;

export const Usage = z.strictObject({
  prompt_tokens: z.int().min(0),
  completion_tokens: z.int().min(0),
  total_tokens: z.int().min(0),
});
export type Usage = z.infer<typeof Usage>;

export const TaskResponse = z.strictObject({
  trust: z.literal('untrusted'),
  content_format: z.literal('json'),
  task: z.string(),
  status: z.enum(['ok', 'abstained']),
  schema_version: z.string().describe('The input contract version that answered'),
  output_schema: z.strictObject({ name: z.string(), version: z.string() }),
  output: z.record(z.string(), z.unknown()).describe('Valid against output_schema; still untrusted data'),
  citations: z.array(Citation),
  checks: z.array(CheckOutcome),
  request_id: z.string(),
  event_id: z.string(),
  model: z.strictObject({ provider: z.string(), name: z.string() }),
  usage: Usage,
  review: z
    .strictObject({ id: z.string(), decision: z.literal('approved'), reviewed_by: z.string(), reviewed_at: z.string() })
    .optional()
    .describe('Present when a person approved this output after it was sent to review; the output is still untrusted'),
});
export type TaskResponse = z.infer<typeof TaskResponse>;
