// Issue 18 item 3: task versions are managed like the corpus. A folder imported through /admin/tasks or the CLI is a
// draft; activating it retires the previous version atomically, is audited, and is served from the next request on
// without a restart (here the CLI writes the SQLite file the server has open). A request already running finishes on
// the version it started with, and a replay returns the stored response of the old version.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import request from 'supertest';
import { createTestContext, envelope, type TestContext } from './helpers/context.js';
import { modelFor, startMockUpstream, type MockUpstream } from './helpers/mock-upstream.js';
import { readTaskFolder } from '../src/tasks/load.js';
import { runCli } from '../src/cli/main.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'tasks');
const INVOICE = { vendor: { name: 'Beanline GmbH', vat_id: null }, currency: 'EUR', due_date: null, line_items: [{ description: 'Grinder service', amount: 180 }], total: 180 };
const EMAIL = 'Invoice from Beanline GmbH: grinder service, 180.00 EUR.';

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

describe('task versions: draft → active → retired without a restart (issue 18 item 3)', () => {
  let upstream: MockUpstream;
  let ctx: TestContext;
  let admin: string;
  let caller: string;
  let tasksDir: string;
  let counter = 0;

  /** The fixture folder's files with task.json's description and instructions changed: a new version. */
  const editedFiles = (note: string): Record<string, string> => {
    const files = readTaskFolder(join(tasksDir, 'invoice.extract'));
    const spec = JSON.parse(files['task.json'] ?? '{}') as Record<string, unknown>;
    return { ...files, 'task.json': JSON.stringify({ ...spec, description: `${String(spec['description'])} ${note}` }, null, 2), 'instructions.md': `${files['instructions.md'] ?? ''}\n${note}\n` };
  };
  const call = (key = `versions-${(counter += 1)}`) =>
    request(ctx.app)
      .post('/v1/tasks/invoice.extract')
      .set({ authorization: `Bearer ${caller}`, 'content-type': 'application/json', 'idempotency-key': key })
      .send(JSON.stringify(envelope({ email_text: EMAIL }, { event_id: `evt-${key}` })));
  const adminCall = (method: 'get' | 'post', path: string, body?: unknown) => {
    const pending = request(ctx.app)[method](path).set({ authorization: `Bearer ${admin}`, 'content-type': 'application/json' });
    return body === undefined ? pending : pending.send(JSON.stringify(body));
  };

  before(async () => {
    upstream = await startMockUpstream([{ kind: 'answer', content: JSON.stringify(INVOICE) }]);
    tasksDir = mkdtempSync(join(tmpdir(), 'airlock-versions-'));
    cpSync(FIXTURE, tasksDir, { recursive: true });
    ctx = await createTestContext({ model: modelFor(upstream), tasksDir, corpusDir: null });
    admin = (await ctx.createKey(['admin'])).key;
    caller = (await ctx.createKey(['tasks:*'])).key;
  });
  after(async () => {
    await ctx.close();
    await upstream.close();
    rmSync(tasksDir, { recursive: true, force: true });
  });

  test('/admin/tasks, when the server has booted, then lists the folder as version 1, active, imported at boot', async () => {
    const response = await adminCall('get', '/admin/tasks');
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.tasks.map((task: { name: string; active_version: number }) => [task.name, task.active_version]), [['invoice.extract', 1]]);
    assert.equal(response.body.tasks[0].versions[0].activated_by, 'boot');
  });

  test('POST /admin/tasks/{name}/versions, when the folder is invalid, then 400 naming file and pointer and nothing is stored', async () => {
    const files = editedFiles('broken');
    files['output.schema.json'] = JSON.stringify({ ...(JSON.parse(files['output.schema.json'] ?? '{}') as object), required: ['vendor'] });
    const response = await adminCall('post', '/admin/tasks/invoice.extract/versions', { files });
    assert.equal(response.status, 400, response.text);
    assert.equal(response.body.errors[0].path, 'invoice.extract/output.schema.json#/required');
    assert.match(response.body.errors[0].message, /every property required/);
    assert.equal((await adminCall('get', '/admin/tasks')).body.tasks[0].versions.length, 1);
  });

  test('import then activate through /admin/tasks, when a request runs meanwhile, then it finishes on v1, the next request is served by v2, and the replay of a v1 answer stays v1', async () => {
    const beforeV2 = await call('replay-me');
    assert.equal(beforeV2.status, 200, beforeV2.text);
    assert.equal(beforeV2.headers['airlock-task-version'], '1');

    const imported = await adminCall('post', '/admin/tasks/invoice.extract/versions', { files: editedFiles('Version two.') });
    assert.equal(imported.status, 201, imported.text);
    assert.equal(imported.body.version, 2);
    assert.equal(imported.body.state, 'draft');
    assert.equal((await call()).headers['airlock-task-version'], '1', 'a draft is not served');

    // A slow upstream holds one request in flight while v2 is activated.
    upstream.setBehaviours([{ kind: 'answer', content: JSON.stringify(INVOICE), delayMs: 400 }, { kind: 'answer', content: JSON.stringify(INVOICE) }]);
    const inFlight = call().then((response) => response); // supertest sends on then(), so start it now
    await new Promise((resolve) => setTimeout(resolve, 100));
    const activated = await adminCall('post', '/admin/tasks/invoice.extract/activate', { version: 2 });
    assert.equal(activated.status, 200, activated.text);
    assert.equal(activated.body.retired_version, 1);
    const finished = await inFlight;
    assert.equal(finished.status, 200, finished.text);
    assert.equal(finished.headers['airlock-task-version'], '1', 'the running request kept the version it started with');

    const afterV2 = await call();
    assert.equal(afterV2.headers['airlock-task-version'], '2');
    assert.ok(upstream.requests.at(-1)!.messages[0]!.content.includes('Version two.'), 'v2 instructions reached the model');
    const [row] = await ctx.store.audit.list({ requestId: afterV2.body.request_id, limit: 1 });
    assert.equal(row?.detail['task_version'], 2);

    const replay = await call('replay-me');
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(replay.headers['airlock-task-version'], '1');
    assert.equal(replay.body.request_id, beforeV2.body.request_id);

    const audit = (await ctx.store.audit.list({ task: 'invoice.extract', limit: 100 })).filter((entry) => entry.action.startsWith('task.'));
    assert.deepEqual(audit.map((entry) => entry.action).filter((action) => action !== 'task.run').sort(), ['task.activate', 'task.import']);
    const versions = (await adminCall('get', '/admin/tasks/invoice.extract')).body.versions as Array<{ version: number; state: string }>;
    assert.deepEqual(versions.map((entry) => [entry.version, entry.state]), [[2, 'active'], [1, 'retired']]);
    assert.equal((await adminCall('post', '/admin/tasks/invoice.extract/activate', { version: 2 })).status, 409);
  });

  test('GET /admin/tasks/{name}/diff, when two versions differ, then shows the changed files as unified diffs', async () => {
    const response = await adminCall('get', '/admin/tasks/invoice.extract/diff?from=1&to=2');
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(response.body.files.map((file: { file: string }) => file.file), ['instructions.md', 'task.json']);
    assert.match(response.body.files[0].diff, /^\+Version two\.$/m);
  });

  test('airlock tasks import / activate / list, when run by the CLI on the same SQLite file, then the running server serves the new version on its next request', async () => {
    const folder = join(mkdtempSync(join(tmpdir(), 'airlock-import-')), 'invoice.extract');
    cpSync(join(tasksDir, 'invoice.extract'), folder, { recursive: true });
    writeFileSync(join(folder, 'instructions.md'), `${readFileSync(join(folder, 'instructions.md'), 'utf8')}\nVersion three, from the CLI.\n`);
    const env = { AIRLOCK_DATA_DIR: ctx.dir, AIRLOCK_TASKS_DIR: tasksDir, AIRLOCK_BOOTSTRAP_CORPUS: 'false' };
    const cli = async (...args: string[]): Promise<string> => {
      const out = sink();
      const err = sink();
      assert.equal(await runCli([...args, '--json'], env, out.stream, err.stream), 0, err.text());
      return out.text();
    };

    const imported = JSON.parse(await cli('tasks', 'import', folder)) as Array<{ version: number; state: string }>;
    assert.deepEqual(imported.map((entry) => [entry.version, entry.state]), [[3, 'draft']]);
    const activated = JSON.parse(await cli('tasks', 'activate', 'invoice.extract')) as { version: number; retired_version: number };
    assert.deepEqual([activated.version, activated.retired_version], [3, 2]);

    const served = await call();
    assert.equal(served.headers['airlock-task-version'], '3');
    assert.ok(upstream.requests.at(-1)!.messages[0]!.content.includes('Version three, from the CLI.'));
    const listed = JSON.parse(await cli('tasks', 'list')) as Array<{ name: string; active_version: number }>;
    assert.deepEqual(listed.map((task) => [task.name, task.active_version]), [['invoice.extract', 3]]);
    assert.match(JSON.parse(await cli('tasks', 'diff', 'invoice.extract', '--from', '2', '--to', '3')).files[0].diff, /\+Version three, from the CLI\./);
    rmSync(join(folder, '..'), { recursive: true, force: true });
  });
});
