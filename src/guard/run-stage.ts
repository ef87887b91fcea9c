// Runs one stage (input or output) of a task policy's rules and folds the results into a single decision value,
// and validates those rules at boot. Fail closed throughout: an unknown check, a config that does not parse, a
// throw, or a malformed result is a failure that applies the rule's action (a failed `redact` becomes `review`).
import { z } from 'zod';
import type { PolicyRule, RuleAction, TaskRules } from '../contracts/policy.js';
import type { CheckContext, CheckRegistry, CheckResult, GuardStage, ScreenUnavailable } from './types.js';

export type StageDecision = 'allow' | 'deny' | 'review';
export type RuleResult = 'pass' | 'redacted' | 'neutralised' | 'failed';

export interface RuleOutcome {
  readonly name: string;
  readonly stage: GuardStage;
  readonly result: RuleResult;
  /** The action that applies; absent when the rule passed. */
  readonly action?: RuleAction;
  readonly reasons: readonly string[];
  readonly redactions?: Readonly<Record<string, number>>;
  readonly score?: number;
  readonly unavailable?: ScreenUnavailable;
}

export interface StageOutcome {
  readonly decision: StageDecision;
  /** The value after every `redact` repair, in rule order. */
  readonly value: Readonly<Record<string, unknown>>;
  readonly outcomes: readonly RuleOutcome[];
}

export interface RunStageArgs {
  readonly registry: CheckRegistry;
  readonly rules: readonly PolicyRule[];
  readonly stage: GuardStage;
  readonly context: CheckContext;
  readonly value: Readonly<Record<string, unknown>>;
}

const SEVERITY: Readonly<Record<StageDecision, number>> = { allow: 0, review: 1, deny: 2 };

/** A rule that could not run cannot repair, so `redact` escalates to a human. */
const failureAction = (action: RuleAction): RuleAction => (action === 'redact' ? 'review' : action);

const isCheckResult = (result: unknown): result is CheckResult =>
  typeof result === 'object' &&
  result !== null &&
  typeof (result as { tripped?: unknown }).tripped === 'boolean' &&
  Array.isArray((result as { reasons?: unknown }).reasons);

async function runRule(
  { registry, stage, context }: RunStageArgs,
  rule: PolicyRule,
  value: Readonly<Record<string, unknown>>,
): Promise<{ outcome: RuleOutcome; value: Readonly<Record<string, unknown>> }> {
  const failed = (reason: string, action = failureAction(rule.action)) => ({
    outcome: { name: rule.check, stage, result: 'failed' as const, action, reasons: [reason] },
    value,
  });
  const definition = registry.get(rule.check);
  if (definition === undefined) return failed('unknown check');
  if (!definition.stages.includes(stage)) return failed(`check does not support the ${stage} stage`);
  const config = definition.configSchema.safeParse(rule.config);
  if (!config.success) return failed('check config is invalid');

  let result: unknown;
  try {
    result = await definition.run(context, value, config.data);
  } catch (error) {
    // Only the error's class name: a message could quote the very input being screened.
    return failed(`check threw ${error instanceof Error ? error.name : 'a non-error value'}`);
  }
  if (!isCheckResult(result)) return failed('check returned a malformed result');

  const extras = {
    ...(result.redactions === undefined ? {} : { redactions: result.redactions }),
    ...(result.score === undefined ? {} : { score: result.score }),
    ...(result.unavailable === undefined ? {} : { unavailable: result.unavailable }),
  };
  const base = { name: rule.check, stage, reasons: result.reasons, ...extras };
  if (!result.tripped) return { outcome: { ...base, result: 'pass' }, value };
  if (rule.action !== 'redact') return { outcome: { ...base, result: 'failed', action: rule.action }, value };
  if (!definition.canRepair || result.repaired === undefined) {
    return { outcome: { ...base, result: 'failed', action: 'review', reasons: [...result.reasons, 'no repair available'] }, value };
  }
  return {
    outcome: { ...base, result: stage === 'input' ? 'redacted' : 'neutralised', action: 'redact' },
    value: result.repaired,
  };
}

/**
 * Runs `rules` in order, feeding each repaired value to the next rule, so redactions compose.
 * Decision: deny beats review beats allow; a successful redaction allows.
 */
export async function runStage(args: RunStageArgs): Promise<StageOutcome> {
  let value = args.value;
  const outcomes: RuleOutcome[] = [];
  let decision: StageDecision = 'allow';
  for (const rule of args.rules) {
    // A text already refused is not also handed to an outside classifier (it may hold the very secret refused).
    if (decision === 'deny' && args.registry.get(rule.check)?.sendsTextOut === true) continue;
    const step = await runRule(args, rule, value);
    value = step.value;
    outcomes.push(step.outcome);
    const action = step.outcome.result === 'failed' ? step.outcome.action : undefined;
    if ((action === 'deny' || action === 'review') && SEVERITY[action] > SEVERITY[decision]) decision = action;
  }
  return { decision, value, outcomes };
}

// Boot-time validation: a typo in a policy file stops the server before it listens, instead of failing (closed)
// on every request.

/** Thrown at boot; `issues` name each offending rule by its JSON pointer in task.json, as `/input_rules/0 (secrets): …`. */
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
  policy: TaskRules,
): void {
  const issues = [
    ...policy.input_rules.flatMap((rule, i) => ruleIssues(registry, rule, 'input', `/input_rules/${i}`)),
    ...policy.output_rules.flatMap((rule, i) => ruleIssues(registry, rule, 'output', `/output_rules/${i}`)),
  ];
  if (issues.length > 0) throw new PolicyRuleError(issues);
}
