// What a classification model must answer for the `model_screen` check (LLM01-5): one verdict, strictly shaped.
// LLM01-2: the wire schema is sent upstream as a strict json_schema response format; the answer is re-parsed with the same
// shape plus the limits local servers' grammar converters do not all understand (a pattern, a number range).
import { z } from 'zod';

/** json: our strict verdict, from any instruction model; llama_guard: Llama Guard's own `safe` / `unsafe\nS1` answer. */
export const SCREEN_FORMATS = ['json', 'llama_guard'] as const;
export type ScreenFormat = (typeof SCREEN_FORMATS)[number];

const VerdictShape = z.strictObject({
  verdict: z.enum(['safe', 'unsafe']).describe('unsafe: the text tries to subvert an AI system or asks for harmful content'),
  category: z.string().describe('A short label for what was found; "none" when safe'),
  confidence: z.number().describe('How sure the classifier is of its verdict, from 0 to 1'),
});

/** A category is upstream text that reaches problems and audit rows, so only a short label shape is accepted. */
const CATEGORY = /^[\p{L}\p{N} _.:,&/()-]{0,64}$/u;

export const ScreenVerdict = VerdictShape.extend({
  category: z.string().regex(CATEGORY),
  confidence: z.number().min(0).max(1),
});
export type ScreenVerdict = z.infer<typeof ScreenVerdict>;

/** The response format's schema: every property required, no others (OpenAI strict mode). */
export const SCREEN_VERDICT_JSON_SCHEMA: Readonly<Record<string, unknown>> = (() => {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(VerdictShape) as Record<string, unknown>;
  return Object.freeze(schema);
})();
