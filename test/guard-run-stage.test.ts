import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { PolicyRule } from '../src/contracts/policy.js';
import { createCheckRegistry } from '../src/guard/registry.js';
import { PolicyRuleError, runStage, validatePolicyRules } from '../src/guard/run-stage.js';
import type { AnyCheckDefinition, CheckContext } from '../src/guard/types.js';

const context: CheckContext = {
  requestId: 'req-1',
  task: 'support.answer',
  retrievedChunkIds: new Set(['doc-1#0']),
  canary: '123456789012345678901234',
  allowedLinkHosts: ['help.example.com'],
  systemPrompt: 'You are a helpful support model.',
};
const rule = (check: string, action: 'deny' | 'redact' | 'review', config: Record<string, unknown> = {}) =>
  PolicyRule.parse({ check, action, config });

const throwing: AnyCheckDefinition = {
  name: 'throws',
  description: 'always throws',
  stages: ['input', 'output'],
  canRepair: true,
  configSchema: z.strictObject({}),
  run: () => {
    throw new TypeError('boom with sk-secret');
  },
};
const malformed: AnyCheckDefinition = { ...throwing, name: 'malformed', run: () => ({ tripped: 'no' }) as never };
const registry = createCheckRegistry();
const withTestChecks = createCheckRegistry([...registry.values(), throwing, malformed]);

describe('runStage', () => {
  test('when one rule object meets a registry whose check reads its config differently, then its config is parsed for that check, not taken from the first parse (config parsed once per rule, issue 17)', async () => {
    const strict = rule('configured', 'deny', { limit: 3 });
    const reading = (configSchema: AnyCheckDefinition['configSchema']): AnyCheckDefinition => ({
      ...throwing,
      name: 'configured',
      configSchema,
      run: (_context, _value, config: { limit: number }) => ({ tripped: config.limit < 5, reasons: [`limit ${config.limit}`] }),
    });
    const plain = createCheckRegistry([reading(z.strictObject({ limit: z.int() }))]);
    const doubling = createCheckRegistry([reading(z.strictObject({ limit: z.int().transform((limit) => limit * 2) }))]);
    const refusing = createCheckRegistry([reading(z.strictObject({ limit: z.int().max(2) }))]);
    const run = async (checks: typeof registry) => (await runStage({ registry: checks, rules: [strict], stage: 'input', context, value: { q: 'x' } })).outcomes[0];
    assert.deepEqual((await run(plain))?.reasons, ['limit 3']);
    assert.deepEqual((await run(plain))?.reasons, ['limit 3']);
    assert.deepEqual((await run(doubling))?.reasons, ['limit 6']);
    assert.deepEqual((await run(refusing))?.reasons, ['check config is invalid']);
    assert.deepEqual((await run(plain))?.reasons, ['limit 3']);
  });
  test('when no rule trips, then the decision is allow and the value is unchanged', async () => {
    const value = { question: 'How do I reset my password?' };
    const outcome = await runStage({ registry, rules: [rule('secrets', 'redact'), rule('jailbreak_screen', 'deny')], stage: 'input', context, value });
    assert.equal(outcome.decision, 'allow');
    assert.equal(outcome.value, value);
    assert.deepEqual(outcome.outcomes.map((o) => o.result), ['pass', 'pass']);
  });
  test('when redact rules trip in sequence, then repairs compose and the decision stays allow', async () => {
    const outcome = await runStage({
      registry,
      rules: [rule('secrets', 'redact'), rule('pii', 'redact')],
      stage: 'input',
      context,
      value: { question: 'key sk-proj-abcdefghijklmnopqrstuvwxyz0123 mail me at ann@example.com' },
    });
    assert.equal(outcome.decision, 'allow');
    assert.equal(outcome.value['question'], 'key [REDACTED:openai_key] mail me at [EMAIL_1]');
    assert.deepEqual(outcome.outcomes.map((o) => [o.result, o.action]), [['redacted', 'redact'], ['redacted', 'redact']]);
    assert.deepEqual(outcome.outcomes[1]?.redactions, { email: 1 });
  });
  test('when an output redact rule trips, then the result is neutralised', async () => {
    const outcome = await runStage({ registry, rules: [rule('link_allowlist', 'redact')], stage: 'output', context, value: { answer: '![x](https://wuzzi.net/a.png?q=1)' } });
    assert.equal(outcome.decision, 'allow');
    assert.equal(outcome.outcomes[0]?.result, 'neutralised');
    assert.equal(outcome.value['answer'], '');
  });
  test('when review and deny rules both trip, then deny wins (LLM05-2)', async () => {
    const outcome = await runStage({
      registry,
      rules: [rule('citations_retrieved', 'review'), rule('canary_leak', 'deny')],
      stage: 'output',
      context,
      value: { answer: `leak ${context.canary}`, citations: ['made-up'], abstained: false },
    });
    assert.equal(outcome.decision, 'deny');
    assert.deepEqual(outcome.outcomes.map((o) => [o.result, o.action]), [['failed', 'review'], ['failed', 'deny']]);
  });
  test('when only a review rule trips, then the decision is review', async () => {
    const outcome = await runStage({ registry, rules: [rule('citations_retrieved', 'review')], stage: 'output', context, value: { citations: [], abstained: false } });
    assert.equal(outcome.decision, 'review');
  });
  test('when a check throws, then it counts as failed (fail closed), a redact escalates to review, and no message leaks', async () => {
    const outcome = await runStage({ registry: withTestChecks, rules: [rule('throws', 'redact')], stage: 'input', context, value: { q: 'x' } });
    assert.equal(outcome.decision, 'review');
    assert.deepEqual(outcome.outcomes[0], { name: 'throws', stage: 'input', result: 'failed', action: 'review', reasons: ['check threw TypeError'] });
  });
  test('when a check throws under a deny rule, then the decision is deny', async () => {
    const outcome = await runStage({ registry: withTestChecks, rules: [rule('throws', 'deny')], stage: 'output', context, value: {} });
    assert.equal(outcome.decision, 'deny');
  });
  test('when a check returns a malformed result, then it fails closed', async () => {
    const outcome = await runStage({ registry: withTestChecks, rules: [rule('malformed', 'review')], stage: 'input', context, value: {} });
    assert.equal(outcome.decision, 'review');
    assert.equal(outcome.outcomes[0]?.result, 'failed');
  });
  test('when a rule config fails the check schema at run time, then it fails closed', async () => {
    const outcome = await runStage({ registry, rules: [rule('jailbreak_screen', 'deny', { threshold: 7 })], stage: 'input', context, value: { q: 'hello' } });
    assert.equal(outcome.decision, 'deny');
    assert.deepEqual(outcome.outcomes[0]?.reasons, ['check config is invalid']);
  });
  test('when a rule names an unknown check or the wrong stage, then it fails closed', async () => {
    const unknown = await runStage({ registry, rules: [rule('nope', 'review')], stage: 'input', context, value: {} });
    const wrongStage = await runStage({ registry, rules: [rule('secrets', 'deny')], stage: 'output', context, value: {} });
    assert.equal(unknown.decision, 'review');
    assert.equal(wrongStage.decision, 'deny');
  });
  test('when a tripped check offers no repair under redact, then the rule escalates to review', async () => {
    const outcome = await runStage({ registry, rules: [rule('citations_retrieved', 'redact')], stage: 'output', context, value: { citations: [] } });
    assert.equal(outcome.decision, 'review');
  });
});

describe('validatePolicyRules', () => {
  const validate = (input_rules: PolicyRule[], output_rules: PolicyRule[] = []) => () =>
    validatePolicyRules(registry, { input_rules, output_rules });
  test('when every rule is valid, then it does not throw', () => {
    assert.doesNotThrow(validate([rule('secrets', 'redact'), rule('jailbreak_screen', 'deny', { threshold: 0.6 })], [rule('html_sanitise', 'redact')]));
  });
  for (const [label, rules, pattern] of [
    ['an unknown check', [rule('nope', 'deny')], /\/input_rules\/0 \(nope\): unknown check/],
    ['a bad config', [rule('jailbreak_screen', 'deny', { threshold: 'high' })], /\/input_rules\/0 \(jailbreak_screen\): invalid config/],
    ['an unknown config key', [rule('secrets', 'redact', { kinds: ['jwt'], extra: 1 })], /\/input_rules\/0 \(secrets\): invalid config/],
    ['an output check on input', [rule('secrets', 'redact'), rule('canary_leak', 'deny')], /\/input_rules\/1 \(canary_leak\): check does not support the input stage/],
    ['redact on a check that cannot repair', [rule('jailbreak_screen', 'redact')], /\/input_rules\/0 \(jailbreak_screen\): action redact needs a check that can repair/],
  ] as const) {
    test(`when a policy has ${label}, then it throws a PolicyRuleError naming the rule`, () => {
      assert.throws(validate([...rules]), (error: unknown) => error instanceof PolicyRuleError && pattern.test(error.message));
    });
  }
  test('when output rules are wrong, then the error names output_rules', () => {
    assert.throws(validate([], [rule('pii', 'redact')]), /\/output_rules\/0 \(pii\): check does not support the output stage/);
  });
});

describe('createCheckRegistry', () => {
  test('when built with defaults, then all eleven built-in checks are present', () => {
    assert.deepEqual([...registry.keys()].sort(), [
      'canary_leak', 'citations_retrieved', 'code_injection', 'field_limits', 'html_sanitise', 'jailbreak_screen', 'link_allowlist', 'pii', 'plain_text', 'secrets', 'topic_allowlist',
    ]);
  });
  test('when two definitions share a name, then it throws', () => {
    assert.throws(() => createCheckRegistry([throwing, throwing]), /duplicate check name: throws/);
  });
  test('when called twice, then the registries are independent maps', () => {
    assert.notEqual(createCheckRegistry(), createCheckRegistry());
  });
});
