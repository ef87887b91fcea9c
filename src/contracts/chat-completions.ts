// The part of OpenAI's chat-completions request that /v1/chat/completions accepts; the OpenAPI document derives from it.
import { z } from 'zod';

export const TextPart = z.looseObject({ type: z.literal('text'), text: z.string() });
export const ChatMessage = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string() })), z.null()]).optional(),
});

/**
 * What we accept of OpenAI's chat request. Sampling parameters (temperature, max_tokens, ...) are accepted and
 * ignored: the task's policy owns the model call. Anything that would let the caller widen what the model can do
 * or leak is refused (LLM06-1 tools, LLM10-4 streaming and logprobs).
 */
export const ChatRequest = z.looseObject({
  model: z.string().min(1).max(200),
  messages: z.array(ChatMessage).min(1).max(100),
  stream: z.boolean().nullable().optional(),
  n: z.int().nullable().optional(),
  logprobs: z.boolean().nullable().optional(),
  top_logprobs: z.int().nullable().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
});
export type ChatRequest = z.infer<typeof ChatRequest>;
