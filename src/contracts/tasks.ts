// Input and output contracts for the bundled tasks. Outputs are OpenAI strict-mode safe: every property
// required, no optional members, no unions, so z.toJSONSchema() can be sent as a strict json_schema.
import { z } from 'zod';
import type { SchemaVersion } from './envelope.js';

const Text = (max: number) => z.string().trim().min(1).max(max);

export const SupportAnswerInput = z.strictObject({
  question: Text(2000).describe('The customer question, as the customer wrote it'),
});
/** 1.1 adds an optional locale hint; 1.0 callers are unaffected. */
export const SupportAnswerInputV11 = SupportAnswerInput.extend({
  locale: z.enum(['en', 'de', 'fr', 'es', 'nl']).optional().describe('Preferred answer language'),
});
export const SupportAnswerOutput = z.strictObject({
  answer: z.string().max(4000).describe('The answer, grounded only in the cited chunks; empty when abstained'),
  citations: z.array(z.string().max(200)).max(10).describe('Ids of the retrieved chunks that support the answer'),
  confidence: z.number().min(0).max(1),
  abstained: z.boolean().describe('True when the approved corpus does not answer the question'),
});

export const LEAD_CATEGORIES = ['sales', 'support', 'partnership', 'job_application', 'spam', 'other'] as const;
export const LEAD_NEXT_ACTIONS = ['book_demo', 'send_pricing', 'route_to_support', 'forward_to_partnerships', 'nurture', 'discard'] as const;

export const LeadClassifyInput = z.strictObject({
  name: Text(200),
  email: z.email().max(320),
  company: Text(200).optional(),
  message: Text(5000),
  consent: z.boolean().describe('Whether the lead consented to be contacted'),
  utm_source: z.string().trim().max(100).regex(/^[\w.\-]*$/).optional(),
});
export const LeadClassifyInputV11 = LeadClassifyInput.extend({
  phone: z.string().trim().max(40).regex(/^[+\d\s().\-]*$/).optional(),
});
export const LeadClassifyOutput = z.strictObject({
  score: z.int().min(0).max(100),
  category: z.enum(LEAD_CATEGORIES),
  next_action: z.enum(LEAD_NEXT_ACTIONS),
  reasons: z.array(z.string().max(300)).min(1).max(8),
});

export const ContentDraftInput = z.strictObject({
  topic: Text(300),
  audience: Text(200),
  keywords: z.array(Text(60)).max(12),
});
export const ContentDraftInputV11 = ContentDraftInput.extend({
  tone: z.enum(['neutral', 'friendly', 'formal']).optional(),
});
export const ContentDraftOutput = z.strictObject({
  title: z.string().min(1).max(70),
  outline: z.array(z.string().max(200)).min(1).max(12),
  body_html: z.string().min(1).max(20000),
  meta_description: z.string().min(1).max(160),
  citations: z.array(z.string().max(200)).max(10),
  status: z.enum(['draft']).describe('Airlock never publishes; the caller decides'),
});

export type SupportAnswerInput = z.infer<typeof SupportAnswerInputV11>;
export type SupportAnswerOutput = z.infer<typeof SupportAnswerOutput>;
export type LeadClassifyInput = z.infer<typeof LeadClassifyInputV11>;
export type LeadClassifyOutput = z.infer<typeof LeadClassifyOutput>;
export type ContentDraftInput = z.infer<typeof ContentDraftInputV11>;
export type ContentDraftOutput = z.infer<typeof ContentDraftOutput>;

export interface TaskContract<In extends z.ZodType = z.ZodType, Out extends z.ZodType = z.ZodType> {
  readonly inputs: Readonly<Record<SchemaVersion, In>>;
  readonly output: Out;
}

/** Named schemas that policy files refer to; a policy naming anything else fails at boot. */
export const TASK_CONTRACTS = {
  'support.answer': { inputs: { '1.0': SupportAnswerInput, '1.1': SupportAnswerInputV11 }, output: SupportAnswerOutput },
  'lead.classify': { inputs: { '1.0': LeadClassifyInput, '1.1': LeadClassifyInputV11 }, output: LeadClassifyOutput },
  'content.draft': { inputs: { '1.0': ContentDraftInput, '1.1': ContentDraftInputV11 }, output: ContentDraftOutput },
} as const satisfies Record<string, TaskContract>;

export type TaskName = keyof typeof TASK_CONTRACTS;
export const isTaskName = (name: string): name is TaskName => Object.hasOwn(TASK_CONTRACTS, name);

export interface TaskOutputs {
  'support.answer': SupportAnswerOutput;
  'lead.classify': LeadClassifyOutput;
  'content.draft': ContentDraftOutput;
}
export interface TaskInputs {
  'support.answer': SupportAnswerInput;
  'lead.classify': LeadClassifyInput;
  'content.draft': ContentDraftInput;
}
