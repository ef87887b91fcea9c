// Issue 16 item 5: the answers README.md and examples/README.md show for the offline provider are the server's real
// answers. Every question shown with an answer (curl, chat or SDK) is asked again through the HTTP stack of the embedded
// default (bundled corpus/ and tasks/, plus the README's example task folder) and must get the same answer and confidence.
// The README's corpus walk-through is replayed too: its files (examples/help-docs) and WordPress site
// (examples/wordpress-site) through the real CLI, each command's output compared with the transcript, then its answer
// table asked through the HTTP stack on the data directory the CLI wrote.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { startWordPressSite } from '../examples/wordpress-site/server.js';
import { runCli } from '../src/cli/main.js';
import { capture } from './helpers/capture.js';
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

/** The walk-through's console block (the one that ingests ./help-docs) and the answer table after it. */
function walkThrough(): { commands: { command: string; output: string[] }[]; rows: { question: string; answer: string; confidence: number; document: string; score: number }[] } {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /```console\n((?:(?!```)[\s\S])*?corpus ingest \.\/help-docs[\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const commands: { command: string; output: string[] }[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('$ ')) commands.push({ command: line.slice(2), output: [] });
    else if (line !== '') commands.at(-1)?.output.push(line);
  }
  const table = readme.slice(readme.indexOf('Then asked through `POST /v1/tasks/support.answer` (offline provider'));
  const rows = [...table.matchAll(/^\| (?<question>[^|]+\?) \| (?<answer>[^|]+) \| (?<confidence>[\d.]+) \| `(?<document>[^`]+)` \((?<score>[\d.]+)\) \|$/gm)]
    .map((match) => match.groups ?? {})
    .map((row) => ({ question: row['question'] ?? '', answer: row['answer'] ?? '', confidence: Number(row['confidence']), document: row['document'] ?? '', score: Number(row['score']) }));
  return { commands, rows };
}

/** Runs of spaces are table padding: a port of another width pads the columns differently. */
const normalised = (lines: readonly string[]): string[] => lines.map((line) => line.replace(/ {2,}/g, '  ').trimEnd()).filter((line) => line !== '');

describe('README corpus walk-through: its files, CLI transcript and answers are real (issue 16 item 5)', () => {
  const { commands, rows } = walkThrough();
  let work: string;
  let site: { url: string; stop(): Promise<void> };
  let ctx: TestContext;
  /** The README's site address and document ids, rewritten to the port this run's site got. */
  let onThisPort: (text: string) => string;
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'airlock-walk-'));
    cpSync(join(ROOT, 'examples', 'help-docs'), join(work, 'help-docs'), { recursive: true });
    site = await startWordPressSite(0);
    const port = new URL(site.url).port;
    onThisPort = (text) => text.replaceAll('127.0.0.1:8090', `127.0.0.1:${port}`).replaceAll('127.0.0.1-8090-', `127.0.0.1-${port}-`);
  });
  after(async () => {
    await ctx?.close();
    await site.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('the transcript ingests the example files, syncs the example site and approves the drafts, as shown', async () => {
    assert.ok(commands.length >= 5, JSON.stringify(commands));
    const env = { AIRLOCK_DATA_DIR: join(work, 'data'), AIRLOCK_TASKS_DIR: BUNDLED_TASKS };
    let exitCode = 0;
    for (const { command, output } of commands) {
      let lines: string[];
      if (command === 'echo $?') lines = [String(exitCode)];
      else if (command === 'find help-docs -type f | sort') {
        const files = readdirSync(join(work, 'help-docs'), { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
        lines = files.map((entry) => relative(work, join(entry.parentPath, entry.name))).sort();
      } else {
        assert.match(command, /^npx airlock /, command);
        const args = onThisPort(command).split(' ').slice(2).map((arg) => (arg === './help-docs' ? join(work, 'help-docs') : arg));
        const out = capture();
        exitCode = await runCli(args, env, out.stream, out.stream);
        lines = out.text().split('\n');
      }
      assert.deepEqual(normalised(lines), normalised(output.map(onThisPort)), command);
    }
  });

  test('the answer table is what support.answer answers on those documents: answer, confidence, cited document and its score', async () => {
    assert.ok(rows.length >= 5, JSON.stringify(rows));
    ctx = await createTestContext({ dir: join(work, 'data'), corpusDir: null });
    const { key } = await ctx.createKey(['tasks:*']);
    for (const row of rows) {
      const response = await request(ctx.app)
        .post('/v1/tasks/support.answer')
        .set({ authorization: `Bearer ${key}`, 'content-type': 'application/json' })
        .send(JSON.stringify(envelope({ question: row.question })));
      assert.equal(response.status, 200, row.question);
      assert.equal(response.body.output.answer, row.answer, row.question);
      assert.equal(response.body.output.confidence, row.confidence, row.question);
      assert.equal(response.body.citations[0]?.document_id, onThisPort(row.document), row.question);
      assert.equal(response.body.citations[0]?.score, row.score, row.question);
    }
  });
});
