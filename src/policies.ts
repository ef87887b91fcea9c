// Loads the task policies from a folder at boot. Any invalid file stops the server before it listens,
// naming the file and the field, so an unknown check or schema can never fail open at request time.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { TaskPolicy } from './contracts/policy.js';
import { TASK_CONTRACTS, isTaskName, type TaskName } from './contracts/tasks.js';
import { validatePolicyRules } from './guard/run-stage.js';
import type { CheckRegistry } from './guard/types.js';

export class PolicyError extends Error {
  override readonly name = 'PolicyError';
}

export type PolicySet = ReadonlyMap<TaskName, TaskPolicy>;

/** Tasks whose output can express "the corpus does not answer this" without a model call. */
const TASKS_THAT_CAN_ABSTAIN: ReadonlySet<TaskName> = new Set(['support.answer']);

export function parsePolicy(fileName: string, source: string, registry: CheckRegistry): TaskPolicy {
  let raw: unknown;
  try {
    raw = JSON.parse(source);
  } catch (error) {
    throw new PolicyError(`${fileName}: not valid JSON (${(error as Error).message})`);
  }
  const parsed = TaskPolicy.safeParse(raw);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new PolicyError(`${fileName}: ${fields.join('; ')}`);
  }
  const policy = parsed.data;
  const fail = (field: string, message: string): never => {
    throw new PolicyError(`${fileName}: ${field}: ${message}`);
  };
  if (!isTaskName(policy.task)) fail('task', `unknown task "${policy.task}" (known: ${Object.keys(TASK_CONTRACTS).join(', ')})`);
  if (policy.input.schema !== `${policy.task}.input`) fail('input.schema', `must be "${policy.task}.input"`);
  if (policy.output.schema !== `${policy.task}.output`) fail('output.schema', `must be "${policy.task}.output"`);
  if (policy.output.version !== '1.0') fail('output.version', 'only output contract 1.0 exists');
  if (policy.no_context === 'abstain' && !TASKS_THAT_CAN_ABSTAIN.has(policy.task as TaskName)) {
    fail('no_context', `"${policy.task}" has no abstaining output; use "review" or "proceed"`);
  }
  try {
    validatePolicyRules(registry, policy);
  } catch (error) {
    fail('rules', (error as Error).message);
  }
  return policy;
}

export function loadPolicies(dir: string, registry: CheckRegistry): PolicySet {
  let files: string[];
  try {
    files = readdirSync(dir).filter((name) => name.endsWith('.json')).sort();
  } catch (error) {
    throw new PolicyError(`${dir}: cannot read policies folder (${(error as Error).message})`);
  }
  const policies = new Map<TaskName, TaskPolicy>();
  for (const file of files) {
    const policy = parsePolicy(file, readFileSync(join(dir, file), 'utf8'), registry);
    if (policies.has(policy.task as TaskName)) throw new PolicyError(`${file}: task "${policy.task}" is declared twice`);
    policies.set(policy.task as TaskName, policy);
  }
  if (policies.size === 0) throw new PolicyError(`${dir}: no policy files`);
  return policies;
}

/** The strict-mode JSON Schema sent upstream, derived once per task from the zod output contract. */
export function outputJsonSchema(task: TaskName): Record<string, unknown> {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(TASK_CONTRACTS[task].output, { target: 'draft-2020-12' }) as Record<string, unknown>;
  return schema;
}
