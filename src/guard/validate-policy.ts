// Boot-time validation of a policy's guard rules against the registry, so that a typo in a policy file stops the
// server before it listens instead of failing (closed) on every request.
import { z } from 'zod';
import type { PolicyRule, TaskPolicy } from '../contracts/policy.js';
import type { CheckRegistry, GuardStage } from './types.js';

/** Thrown at boot; `issues` name each offending rule as `input_rules[0] (secrets): …`. */
export class PolicyRuleError extends Error {
  readonly issues: readonly string[];

  constructor(issues: readonly string[]) {
    super(`invalid guard rules: ${issues.join('; ')}`);
    this.name = 'PolicyRuleError';
    this.issues = issues;
  }
}

function ruleIssues(registry: CheckRegistry, rule: PolicyRule, stage: GuardStage, label: string): string[] {
  const where = `${label} (${rule.check})`;
  const definition = registry.get(rule.check);
  if (definition === undefined) return [`${where}: unknown check`];
  const issues: string[] = [];
  if (!definition.stages.includes(stage)) issues.push(`${where}: check does not support the ${stage} stage`);
  if (rule.action === 'redact' && !definition.canRepair) issues.push(`${where}: action redact needs a check that can repair`);
  const parsed = definition.configSchema.safeParse(rule.config);
  if (!parsed.success) issues.push(`${where}: invalid config: ${z.prettifyError(parsed.error).replace(/\n/g, ' ')}`);
  return issues;
}

/** Throws PolicyRuleError listing every problem in the policy's input and output rules. */
export function validatePolicyRules(
  registry: CheckRegistry,
  policy: Pick<TaskPolicy, 'input_rules' | 'output_rules'>,
): void {
  const issues = [
    ...policy.input_rules.flatMap((rule, i) => ruleIssues(registry, rule, 'input', `input_rules[${i}]`)),
    ...policy.output_rules.flatMap((rule, i) => ruleIssues(registry, rule, 'output', `output_rules[${i}]`)),
  ];
  if (issues.length > 0) throw new PolicyRuleError(issues);
}
