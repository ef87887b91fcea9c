// The guard rules a task folder's task.json lists; each check parses its own config at load.
import { z } from 'zod';

export const RuleAction = z.enum(['deny', 'redact', 'review']);
export type RuleAction = z.infer<typeof RuleAction>;

export const PolicyRule = z.strictObject({
  check: z.string().min(1).describe('Name of a registered check'),
  action: RuleAction.describe('What happens when the check trips'),
  config: z.record(z.string(), z.unknown()).default({}).describe("Parsed by the check's own config schema at boot"),
});
export type PolicyRule = z.infer<typeof PolicyRule>;

/** The two rule lists of a task, as the guard reads them. */
export interface TaskRules {
  readonly input_rules: readonly PolicyRule[];
  readonly output_rules: readonly PolicyRule[];
}
