// Issue 13 item 6: the rough edges a newcomer met in the first hour: a taken port, a typo in a variable name, an
// upstream that fails without saying why, and /readyz writing a stack trace on every probe.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { runCli } from '../src/cli/main.js';
import { capture } from './helpers/capture.js';
import { BUNDLED_TASKS, createTestContext, envelope, type TestContext } from './helpers/context.js';
import { modelFor, startMockUpstream } from './helpers/mock-upstream.js';

const MAIN = join(import.meta.dirname, '..', 'src', 'main.ts');

/** A loopback HTTP server answering `handler`, on a free port. */
async function listenOn(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

const closeServer = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** Runs `airlock` (src/main.ts) to its exit with `env` on top of a minimal environment. */
function runServer(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { PATH: process.env['PATH'] ?? '', AIRLOCK_BOOTSTRAP_CORPUS: 'false', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe('issue 13 item 6: first-hour fixes', () => {
  let dataDir: string;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'airlock-first-hour-'));
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('start, when the port is taken and a variable is misspelt, then it names the typo, says "port N is in use; set PORT" and exits 1', async () => {
    const { server, port } = await listenOn((_req, res) => res.end());
    try {
      const result = await runServer({ PORT: String(port), AIRLOCK_DATA_DIR: dataDir, AIRLOCK_TASKS_DIR: BUNDLED_TASKS, AIRLOCK_UPSTREAM_BASEURL: 'http://127.0.0.1:1/v1' });
      assert.equal(result.code, 1, result.stderr);
      assert.equal(result.stderr.trim(), `airlock: port ${port} is in use; set PORT`);
      assert.doesNotMatch(result.stderr, /TypeError|at .*\.ts:\d+/);
      assert.match(result.stdout, /AIRLOCK_UPSTREAM_BASEURL \(did you mean AIRLOCK_UPSTREAM_BASE_URL\?\)/);
    } finally {
      await closeServer(server);
    }
  });

  test('start, when run from a folder without tasks/ and no AIRLOCK_TASKS_DIR, then it serves the bundled tasks and corpus of the package', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'airlock-elsewhere-'));
    // tsx by its location: a bare 'tsx' would be resolved from the other folder.
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), MAIN], {
      cwd: elsewhere,
      env: { PATH: process.env['PATH'] ?? '', PORT: '0', HOST: '127.0.0.1', AIRLOCK_DATA_DIR: join(elsewhere, 'data') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const listening = await new Promise<boolean>((resolve) => {
        const killer = setTimeout(() => resolve(false), 60_000);
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString('utf8');
          if (stdout.includes('airlock listening')) (clearTimeout(killer), resolve(true));
        });
        void exited.then(() => (clearTimeout(killer), resolve(false)));
      });
      assert.equal(listening, true, stderr);
      assert.match(stdout, /"task":"support\.answer"/);
      assert.match(stdout, /bundled corpus ingested and approved/);
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  const doctor = async (env: Record<string, string>) => {
    const out = capture();
    const code = await runCli(['doctor', '--json'], { AIRLOCK_DATA_DIR: dataDir, AIRLOCK_TASKS_DIR: BUNDLED_TASKS, ...env }, out.stream, capture().stream);
    const checks = (JSON.parse(out.text()) as { checks: Array<{ check: string; ok: boolean; detail: string }> }).checks;
    return { code, check: (name: string) => checks.find((check) => check.check === name) };
  };

  test('doctor, when an AIRLOCK_* variable is unknown, then names it with the variable it probably meant and exits 1', async () => {
    const result = await doctor({ AIRLOCK_UPSTREAM_BASEURL: 'http://127.0.0.1:1/v1' });
    assert.equal(result.code, 1);
    assert.equal(result.check('variables')?.ok, false);
    assert.match(result.check('variables')?.detail ?? '', /AIRLOCK_UPSTREAM_BASEURL \(did you mean AIRLOCK_UPSTREAM_BASE_URL\?\)/);
  });

  test('doctor, when nothing listens at the upstream URL, then says the connection was refused', async () => {
    const { server, port } = await listenOn((_req, res) => res.end());
    await closeServer(server);
    const result = await doctor({ OPENAI_API_KEY: 'sk-test', AIRLOCK_UPSTREAM_BASE_URL: `http://127.0.0.1:${port}/v1`, AIRLOCK_MODEL: 'm', AIRLOCK_ALLOWED_MODELS: 'm' });
    assert.equal(result.check('upstream')?.ok, false);
    assert.match(result.check('upstream')?.detail ?? '', /refused the connection/);
  });

  test('doctor, when the upstream refuses the key or does not serve the model, then says which', async () => {
    const { server, port } = await listenOn((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.headers.authorization !== 'Bearer sk-good') {
        res.writeHead(401).end(JSON.stringify({ error: { message: 'Incorrect API key provided: sk-bad' } }));
        return;
      }
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'llama3', object: 'model', created: 0, owned_by: 'me' }] }));
    });
    try {
      const base = { AIRLOCK_UPSTREAM_BASE_URL: `http://127.0.0.1:${port}/v1`, AIRLOCK_ALLOWED_MODELS: 'llama3,gpt-x' };
      const badKey = await doctor({ ...base, OPENAI_API_KEY: 'sk-bad', AIRLOCK_MODEL: 'llama3' });
      assert.match(badKey.check('upstream')?.detail ?? '', /refused the API key \(HTTP 401\)/);
      assert.doesNotMatch(badKey.check('upstream')?.detail ?? '', /Incorrect API key|sk-bad/, 'upstream text never echoed');
      const unknownModel = await doctor({ ...base, OPENAI_API_KEY: 'sk-good', AIRLOCK_MODEL: 'gpt-x' });
      assert.equal(unknownModel.check('upstream')?.ok, false);
      assert.match(unknownModel.check('upstream')?.detail ?? '', /model gpt-x not found upstream \(it serves llama3\)/);
      const served = await doctor({ ...base, OPENAI_API_KEY: 'sk-good', AIRLOCK_MODEL: 'llama3' });
      assert.equal(served.check('upstream')?.ok, true, served.check('upstream')?.detail);
    } finally {
      await closeServer(server);
    }
  });

  /** One support question with a fresh task key: the call whose upstream failure the next tests inspect. */
  const askThrough = async (ctx: TestContext) => {
    const { key } = await ctx.createKey(['tasks:*']);
    return request(ctx.app)
      .post('/v1/tasks/support.answer')
      .set({ authorization: `Bearer ${key}`, 'content-type': 'application/json' })
      .send(JSON.stringify(envelope({ question: 'How many business days until my refund is paid?' })));
  };

  test('a task call, when the upstream refuses the key, then the problem detail says so without the upstream text', async () => {
    const upstream = await startMockUpstream([{ kind: 'status', status: 401, body: { error: { message: 'Incorrect API key provided: sk-test-not-a-real-key' } } }]);
    const ctx = await createTestContext({ model: modelFor(upstream) });
    try {
      const response = await askThrough(ctx);
      assert.equal(response.status, 502);
      assert.equal(response.body.code, 'upstream_rejected');
      assert.match(response.body.detail, /refused the API key \(HTTP 401\)/);
      assert.doesNotMatch(JSON.stringify(response.body), /Incorrect API key|sk-test/);
    } finally {
      await ctx.close();
      await upstream.close();
    }
  });

  test('a task call, when nothing listens at the upstream, then the 503 detail says the connection was refused', async () => {
    const { server, port } = await listenOn((_req, res) => res.end());
    await closeServer(server);
    const upstream = { baseURL: `http://127.0.0.1:${port}/v1` } as Parameters<typeof modelFor>[0];
    const ctx = await createTestContext({ model: modelFor(upstream) });
    try {
      const response = await askThrough(ctx);
      assert.equal(response.status, 503);
      assert.match(response.body.detail, /refused the connection/);
    } finally {
      await ctx.close();
    }
  });

  test('/readyz, when not ready, then answers 503 on every probe without writing a stack trace to the log', async () => {
    const ctx = await createTestContext();
    await ctx.store.close();
    try {
      for (let probe = 0; probe < 3; probe += 1) {
        const response = await request(ctx.app).get('/readyz');
        assert.equal(response.status, 503);
        assert.equal(response.body.code, 'not_ready');
      }
      assert.doesNotMatch(ctx.logs.join(''), /"stack"/);
    } finally {
      await ctx.close().catch(() => undefined);
    }
  });
});
