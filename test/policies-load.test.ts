// Boot-time policy loading: every kind of broken policy file stops loading with a PolicyError naming the file and
// the field, and `airlock policies check` turns that into an exit code.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { BUNDLED_POLICIES } from './helpers/context.js';
import { createCheckRegistry } from '../src/guard/registry.js';
import { loadPolicies, PolicyError } from '../src/policies.js';
import { runCli } from '../src/cli/main.js';

const bundled = (file: string): Record<string, unknown> => JSON.parse(readFileSync(join(BUNDLED_POLICIES, file), 'utf8')) as Record<string, unknown>;
const dirs: string[] = [];

/** A temp folder holding one policy file with `source` as its text. */
function brokenPolicyDir(file: string, source: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-policies-'));
  dirs.push(dir);
  writeFileSync(join(dir, file), source);
  return dir;
}

const edited = (file: string, edit: (policy: Record<string, unknown>) => void): string => {
  const policy = bundled(file);
  edit(policy);
  return JSON.stringify(policy, null, 2);
};

/** Each broken file, and the field its error must name. */
const BROKEN_POLICIES: ReadonlyArray<{ name: string; file: string; source: string; field: RegExp }> = [
  { name: 'invalid JSON', file: 'support.answer.json', source: '{ "task": "support.answer", ', field: /not valid JSON/ },
  {
    name: 'an unknown field',
    file: 'support.answer.json',
    source: edited('support.answer.json', (policy) => {
      policy['max_tokens_typo'] = 100;
    }),
    field: /max_tokens_typo/,
  },
  {
    name: 'an unknown check name',
    file: 'support.answer.json',
    source: edited('support.answer.json', (policy) => {
      (policy['output_rules'] as unknown[]).push({ check: 'html_sanitize', action: 'review' });
    }),
    field: /output_rules\[\d+\] \(html_sanitize\): unknown check/,
  },
  {
    name: 'a bad check config',
    file: 'support.answer.json',
    source: edited('support.answer.json', (policy) => {
      (policy['input_rules'] as Array<Record<string, unknown>>)[2] = { check: 'jailbreak_screen', action: 'deny', config: { threshold: 7 } };
    }),
    field: /input_rules\[2\] \(jailbreak_screen\): invalid config.*threshold/,
  },
  {
    name: 'redact on a check that cannot repair',
    file: 'content.draft.json',
    source: edited('content.draft.json', (policy) => {
      (policy['output_rules'] as unknown[]).push({ check: 'canary_leak', action: 'redact' });
    }),
    field: /output_rules\[\d+\] \(canary_leak\): action redact needs a check that can repair/,
  },
  {
    name: 'no_context abstain on a task that cannot abstain',
    file: 'content.draft.json',
    source: edited('content.draft.json', (policy) => {
      policy['no_context'] = 'abstain';
    }),
    field: /no_context: "content\.draft" has no abstaining output/,
  },
];

function sink(): { stream: Writable; text: () => string } {
  const parts: string[] = [];
  return {
    stream: new Writable({
      write(chunk: Buffer, _encoding, callback) {
        parts.push(chunk.toString('utf8'));
        callback();
      },
    }),
    text: () => parts.join(''),
  };
}

describe('loadPolicies', () => {
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  for (const broken of BROKEN_POLICIES) {
    test(`loadPolicies, when a policy file has ${broken.name}, then it throws a PolicyError naming the file and the field`, () => {
      const dir = brokenPolicyDir(broken.file, broken.source);
      assert.throws(
        () => loadPolicies(dir, createCheckRegistry()),
        (error: unknown) => {
          assert.ok(error instanceof PolicyError, String(error));
          assert.ok(error.message.startsWith(`${broken.file}: `), error.message);
          assert.match(error.message, broken.field);
          return true;
        },
      );
    });
  }

  test('loadPolicies, when the bundled folder is loaded, then every task has a policy and every text output is screened for code injection (LLM05)', () => {
    const policies = loadPolicies(BUNDLED_POLICIES, createCheckRegistry());
    assert.deepEqual([...policies.keys()].sort(), ['content.draft', 'lead.classify', 'support.answer']);
    for (const [task, policy] of policies) {
      const rule = policy.output_rules.find((candidate) => candidate.check === 'code_injection');
      assert.equal(rule?.action, 'review', `${task} screens its output for code injection`);
      assert.ok(policy.output_rules.some((candidate) => candidate.check === 'canary_leak'), `${task} scans for the canary (LLM07-2)`);
    }
  });

  test('airlock policies check, when the folder has a broken file, then exit 1 with the file and field on stderr', async () => {
    const broken = BROKEN_POLICIES[2]!;
    const dir = brokenPolicyDir(broken.file, broken.source);
    const out = sink();
    const err = sink();
    assert.equal(await runCli(['policies', 'check', dir], {}, out.stream, err.stream), 1);
    assert.match(err.text(), /support\.answer\.json: rules: .*html_sanitize/);
    assert.equal(out.text(), '');
  });

  test('airlock policies check, when given the bundled folder, then exit 0 and it lists the tasks', async () => {
    const out = sink();
    const err = sink();
    assert.equal(await runCli(['policies', 'check', BUNDLED_POLICIES, '--json'], {}, out.stream, err.stream), 0, err.text());
    const report = JSON.parse(out.text()) as { ok: boolean; tasks: string[] };
    assert.equal(report.ok, true);
    assert.deepEqual(report.tasks.sort(), ['content.draft', 'lead.classify', 'support.answer']);
  });
});
