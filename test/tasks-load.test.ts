// Issue 18 item 2: task folders are validated at load, fail closed and precisely. Every kind of broken folder stops
// the load with a TaskLoadError naming the file and the JSON pointer, and `airlock tasks check` turns that into exit 1.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { BUNDLED_TASKS, loadBundledTasks } from './helpers/context.js';
import { createCheckRegistry } from '../src/guard/registry.js';
import { loadTaskFolders } from '../src/tasks/load.js';
import { TaskLoadError } from '../src/tasks/compile.js';
import { offlineRefusal } from '../src/model/offline.js';
import { runCli } from '../src/cli/main.js';

const dirs: string[] = [];
type Json = Record<string, unknown>;

/** A copy of the bundled support.answer folder with `file` edited (as JSON) or replaced (as text). */
function brokenFolder(file: string, change: ((json: Json) => void) | string): string {
  const root = mkdtempSync(join(tmpdir(), 'airlock-tasks-'));
  dirs.push(root);
  cpSync(join(BUNDLED_TASKS, 'support.answer'), join(root, 'support.answer'), { recursive: true });
  const path = join(root, 'support.answer', file);
  if (typeof change === 'string') writeFileSync(path, change);
  else {
    const json = JSON.parse(readFileSync(path, 'utf8')) as Json;
    change(json);
    writeFileSync(path, JSON.stringify(json, null, 2));
  }
  return root;
}

const load = (root: string) => loadTaskFolders(root, { checks: createCheckRegistry(), allowedModels: ['gpt-4o-mini'], offlineRefusal });
const properties = (json: Json): Record<string, Json> => json['properties'] as Record<string, Json>;

/** Each broken folder, the file its error names and the pointer plus message it must carry. */
const BROKEN: ReadonlyArray<{ name: string; file: string; change: ((json: Json) => void) | string; names: RegExp }> = [
  { name: 'task.json that is not JSON', file: 'task.json', change: '{ "description": ', names: /^support\.answer\/task\.json: not valid JSON/m },
  { name: 'an output schema that is not JSON', file: 'output.schema.json', change: '{"type": "object",', names: /^support\.answer\/output\.schema\.json: not valid JSON/m },
  { name: 'an unknown key in task.json', file: 'task.json', change: (json) => (json['max_tokens_typo'] = 100), names: /task\.json: .*max_tokens_typo/ },
  {
    name: 'an unknown check',
    file: 'task.json',
    change: (json) => (json['output_rules'] as unknown[]).push({ check: 'html_sanitize', action: 'review' }),
    names: /task\.json#\/output_rules\/5: \(html_sanitize\): unknown check/,
  },
  {
    name: 'a check config that does not parse',
    file: 'task.json',
    change: (json) => ((json['input_rules'] as Json[])[2] = { check: 'jailbreak_screen', action: 'deny', config: { threshold: 7 } }),
    names: /task\.json#\/input_rules\/2: \(jailbreak_screen\): invalid config.*threshold/,
  },
  {
    name: 'redact on a check that cannot repair',
    file: 'task.json',
    change: (json) => (json['output_rules'] as unknown[]).push({ check: 'canary_leak', action: 'redact' }),
    names: /task\.json#\/output_rules\/5: \(canary_leak\): action redact needs a check that can repair/,
  },
  {
    name: 'an output property that is not required (not strict-compatible)',
    file: 'output.schema.json',
    change: (json) => (json['required'] = ['answer', 'citations', 'abstained']),
    names: /output\.schema\.json#\/required: strict mode needs every property required; missing: confidence/,
  },
  {
    name: 'an output object that allows additional properties',
    file: 'output.schema.json',
    change: (json) => delete json['additionalProperties'],
    names: /output\.schema\.json: strict mode needs "additionalProperties": false on every object/,
  },
  {
    name: 'a keyword strict structured outputs do not support',
    file: 'output.schema.json',
    change: (json) => (properties(json)['citations']!['uniqueItems'] = true),
    names: /output\.schema\.json#\/properties\/citations\/uniqueItems: "uniqueItems" is not supported by strict structured outputs/,
  },
  {
    name: 'an abstain_output that fails the output schema',
    file: 'task.json',
    change: (json) => (json['abstain_output'] = { answer: '', citations: [], confidence: 2, abstained: true }),
    names: /task\.json#\/abstain_output\/confidence: fails output\.schema\.json: must be <= 1/,
  },
  { name: 'an unknown model', file: 'task.json', change: (json) => (json['model'] = 'gpt-5-typo'), names: /task\.json#\/model: unknown model "gpt-5-typo"/ },
  {
    name: 'an input schema that accepts unknown fields',
    file: 'input.1.1.schema.json',
    change: (json) => delete json['additionalProperties'],
    names: /input\.1\.1\.schema\.json: an input object must refuse unknown fields/,
  },
  {
    name: 'a format keyword Airlock would not enforce',
    file: 'input.1.0.schema.json',
    change: (json) => (properties(json)['question']!['format'] = 'email'),
    names: /input\.1\.0\.schema\.json#\/properties\/question\/format: "format" is not supported/,
  },
  {
    name: 'a retrieval query field the input does not have',
    file: 'task.json',
    change: (json) => ((json['retrieval'] as Json)['query_fields'] = ['question', 'subject']),
    names: /task\.json#\/retrieval\/query_fields\/1: "subject" is not a field of input 1\.0/,
  },
  {
    name: 'an answer threshold outside [0, 1] (issue 16 item 2)',
    file: 'task.json',
    change: (json) => (json['answer_threshold'] = 1.5),
    names: /task\.json#\/answer_threshold: .*1/,
  },
  {
    name: 'an answer threshold on a task without retrieval (issue 16 item 2)',
    file: 'task.json',
    change: (json) => {
      json['retrieval'] = null;
      json['no_context'] = 'proceed';
      delete json['abstain_output'];
      json['answer_threshold'] = 0.5;
    },
    names: /task\.json#\/answer_threshold: a task without retrieval gives no grounded answer/,
  },
  {
    name: 'a schema ajv refuses in strict mode',
    file: 'input.1.0.schema.json',
    change: (json) => (properties(json)['question']!['pattern'] = '('),
    names: /input\.1\.0\.schema\.json: not a valid JSON Schema/,
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

describe('task folders at load (issue 18 item 2)', () => {
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  for (const broken of BROKEN) {
    test(`loadTaskFolders, when a folder has ${broken.name}, then it throws naming ${broken.file} and the JSON pointer`, () => {
      const root = brokenFolder(broken.file, broken.change);
      assert.throws(
        () => load(root),
        (error: unknown) => {
          assert.ok(error instanceof TaskLoadError, String(error));
          assert.match(error.message, broken.names);
          return true;
        },
      );
    });
  }

  test('loadTaskFolders, when a task routed to "offline" has an output the offline provider cannot fill, then it refuses the task (issue 18 item 5)', () => {
    const root = mkdtempSync(join(tmpdir(), 'airlock-tasks-'));
    dirs.push(root);
    cpSync(join(BUNDLED_TASKS, 'lead.classify'), join(root, 'lead.classify'), { recursive: true });
    const file = join(root, 'lead.classify', 'task.json');
    writeFileSync(file, JSON.stringify({ ...(JSON.parse(readFileSync(file, 'utf8')) as Json), model: 'offline' }));
    assert.throws(() => load(root), /lead\.classify\/task\.json#\/model: the offline provider cannot fill this task: its only output is a grounded answer/);
  });

  test('loadTaskFolders, when the bundled folder is loaded, then the three example tasks load and every text output is screened for code injection (LLM05)', () => {
    const tasks = loadBundledTasks().list();
    assert.deepEqual(tasks.map((task) => task.name), ['content.draft', 'lead.classify', 'support.answer']);
    for (const task of tasks) {
      const rule = task.spec.output_rules.find((candidate) => candidate.check === 'code_injection');
      assert.equal(rule?.action, 'review', `${task.name} screens its output for code injection`);
      assert.ok(task.spec.output_rules.some((candidate) => candidate.check === 'canary_leak'), `${task.name} scans for the canary (LLM07-2)`);
    }
  });

  test('the README\'s fourth task (examples/tasks/parcel.help), when loaded, then compiles and the offline provider can fill it', () => {
    const [task] = load(join(import.meta.dirname, '..', 'examples', 'tasks'));
    assert.equal(task?.name, 'parcel.help');
    assert.equal(offlineRefusal(task.modelTask), undefined);
    assert.equal(task.validateInput('1.0', { question: 'Where is my parcel?', order: 'BB-1' }).ok, false);
  });

  test('airlock tasks check, when a folder is broken, then exit 1 with the file and pointer on stderr and nothing on stdout', async () => {
    const root = brokenFolder('output.schema.json', (json) => (json['required'] = ['answer']));
    const out = sink();
    const err = sink();
    assert.equal(await runCli(['tasks', 'check', root], {}, out.stream, err.stream), 1);
    assert.match(err.text(), /support\.answer\/output\.schema\.json#\/required: strict mode needs every property required/);
    assert.equal(out.text(), '');
  });

  test('airlock tasks check, when given the bundled folder, then exit 0 and it says which tasks the offline provider fills', async () => {
    const out = sink();
    const err = sink();
    assert.equal(await runCli(['tasks', 'check', BUNDLED_TASKS, '--json'], {}, out.stream, err.stream), 0, err.text());
    const report = JSON.parse(out.text()) as { ok: boolean; tasks: Array<{ name: string; offline: string }> };
    assert.equal(report.ok, true);
    assert.deepEqual(report.tasks.map((task) => task.name), ['content.draft', 'lead.classify', 'support.answer']);
    assert.equal(report.tasks.find((task) => task.name === 'support.answer')?.offline, 'fills it');
    assert.match(report.tasks.find((task) => task.name === 'lead.classify')?.offline ?? '', /^cannot fill it/);
  });
});
