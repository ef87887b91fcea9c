// Input check `topic_allowlist`: the caller's text must touch at least one topic the task is for. Topics are
// keyword lists from the policy file, matched as escaped literals at word starts (never as user-supplied regex).
import { z } from 'zod';
import { FieldSelection, stringLeaves } from '../fields.js';
import { normaliseText } from '../normalise.js';
import type { CheckDefinition } from '../types.js';

export const TopicAllowlistConfig = z.strictObject({
  topics: z
    .record(z.string().min(1), z.array(z.string().trim().min(2)).min(1))
    .refine((topics) => Object.keys(topics).length > 0, 'at least one topic is required')
    .describe('Topic name → keywords; a keyword matches at a word start, so "refund" also matches "refunds"'),
  min_topics: z.int().min(1).default(1).describe('How many distinct topics must be mentioned'),
  fields: FieldSelection,
});
export type TopicAllowlistConfig = z.infer<typeof TopicAllowlistConfig>;

const escapeRegExp = (literal: string): string => literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const keywordPattern = (keyword: string): RegExp =>
  new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(normaliseText(keyword).toLowerCase())}`, 'u');

export const topicAllowlistCheck: CheckDefinition<TopicAllowlistConfig> = {
  name: 'topic_allowlist',
  description: 'Caller text must mention at least one of the topics configured for the task',
  stages: ['input'],
  canRepair: false,
  configSchema: TopicAllowlistConfig,
  run: (_context, value, config) => {
    const text = stringLeaves(value, config.fields)
      .map((leaf) => normaliseText(leaf.text).toLowerCase())
      .join('\n');
    const matched = Object.entries(config.topics)
      .filter(([, keywords]) => keywords.some((keyword) => keywordPattern(keyword).test(text)))
      .map(([topic]) => topic);
    return matched.length >= config.min_topics
      ? { tripped: false, reasons: [] }
      : { tripped: true, reasons: [`off-topic: matched ${matched.length} of ${config.min_topics} required topics`] };
  },
};
