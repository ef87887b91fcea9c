// Issue 16 item 5: the answers README.md and examples/README.md show for the offline provider are the server's real
// answers. Every question shown with an answer (curl, chat or SDK) is asked again through the HTTP stack of the embedded
// default (bundled corpus/ and tasks/, plus the README's example task folder) and must get the same answer and confidence.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { BUNDLED_TASKS, createTestContext, envelope, type TestContext } from './helpers/context.js';

const ROOT = join(import.meta.dirname, '..');

interface Example {
  readonly file: string;
  readonly task: string;
  readonly question: string;
  readonly answer: string;
  readonly confidence: number;
}

// In reading order: the task a snippet calls, the question it asks (curl data, chat message or SDK call) and the
// answer shown (plain or JSON-escaped inside a chat completion's content), with its confidence.
const TOKEN =
  /\/v1\/tasks\/(?<task>[a-z]+\.[a-z]+)|airlock:(?<chatTask>[a-z]+\.[a-z]+)|"question":\s*"(?<question>[^"]+)"|role: 'user', content: '(?<sdkQuestion>[^']+)'|"role":"user","content":"(?<chatQuestion>[^"\\]+)"|\\?"answer\\?":\s?\\?"(?<answer>[^"\\]+)\\?",[\s\S]*?\\?"confidence\\?":\s?(?<confidence>[\d.]+)/g;

function examplesIn(file: string): Example[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const examples: Example[] = [];
  let task = '';
  let question = '';
  for (const match of text.matchAll(TOKEN)) {
    const groups = match.groups ?? {};
    if (groups['task'] !== undefined || groups['chatTask'] !== undefined) task = groups['task'] ?? groups['chatTask'] ?? '';
    const asked = groups['question'] ?? groups['sdkQuestion'] ?? groups['chatQuestion'];
    if (asked !== undefined) question = asked;
    if (groups['answer'] !== undefined && question !== '') {
      examples.push({ file, task, question, answer: groups['answer'].replace(/\s*\n\s*(?:\/\/)?\s*/g, ' '), confidence: Number(groups['confidence']) });
    }
  }
  return examples;
}

describe('README answers are the running server\'s answers (issue 16 item 5)', () => {
  const examples = [...examplesIn('README.md'), ...examplesIn('examples/README.md')];
  let ctx: TestContext;
  let key: string;
  let tasksDir: string;
  before(async () => {
    tasksDir = mkdtempSync(join(tmpdir(), 'airlock-readme-tasks-'));
    cpSync(BUNDLED_TASKS, tasksDir, { recursive: true });
    cpSync(join(ROOT, 'examples', 'tasks'), tasksDir, { recursive: true });
    ctx = await createTestContext({ corpusDir: join(ROOT, 'corpus'), tasksDir });
    ({ key } = await ctx.createKey(['tasks:*']));
  });
  after(async () => {
    await ctx.close();
    rmSync(tasksDir, { recursive: true, force: true });
  });

  test('the READMEs show offline answers for support.answer and the example task', () => {
    assert.ok(examples.filter((example) => example.task === 'support.answer').length >= 3, JSON.stringify(examples));
    assert.ok(examples.some((example) => example.task === 'parcel.help'));
  });

  test('each shown answer and confidence is what the server answers today', async () => {
    for (const example of examples) {
      const response = await request(ctx.app)
        .post(`/v1/tasks/${example.task}`)
        .set({ authorization: `Bearer ${key}`, 'content-type': 'application/json' })
        .send(JSON.stringify(envelope({ question: example.question })));
      assert.equal(response.status, 200, `${example.file}: ${example.question}`);
      assert.equal(response.body.output.answer, example.answer, `${example.file}: ${example.question}`);
      assert.equal(response.body.output.confidence, example.confidence, `${example.file}: ${example.question}`);
    }
  });
});
