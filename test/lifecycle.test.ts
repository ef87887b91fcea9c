// The process lifecycle: bad configuration exits before listening; SIGTERM drains in-flight requests, turns
// readiness off and exits cleanly. Runs the real entry point (src/main.ts) as a child process.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { connect } from 'node:net';
import Database from 'better-sqlite3';
import { startMockUpstream } from './helpers/mock-upstream.js';
import { runCli } from '../src/cli/main.js';
import { capture } from './helpers/capture.js';

const ROOT = join(import.meta.dirname, '..');

interface Started {
  readonly child: ChildProcess;
  readonly port: number;
  readonly output: () => string;
}

function startServer(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', HOST: '127.0.0.1', AIRLOCK_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('utf8');
      const match = /"port":(\d+)[^\n]*"msg":"airlock listening"/.exec(text);
      if (match !== null) resolve({ child, port: Number(match[1]), output: () => text });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited with ${String(code)} before listening: ${text}`)));
  });
}


describe('the airlock process', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  after(() => {
    for (const child of children) child.kill('SIGKILL');
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('startup, when a configuration value is invalid, then exits non-zero naming the variable before listening', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'airlock-life-'));
    dirs.push(dataDir);
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'main.ts')], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', PORT: 'eighty', AIRLOCK_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 1);
    assert.match(stderr, /PORT/);
    assert.doesNotMatch(stderr, /listening/);
  });

  test('restart, when the database already holds an approved corpus, then /readyz is ready before any search, and stays ready after the CLI approves a document on the same file', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'airlock-life-'));
    dirs.push(dataDir);
    const env = { AIRLOCK_DATA_DIR: dataDir, AIRLOCK_TASKS_DIR: join(ROOT, 'tasks'), AIRLOCK_CORPUS_DIR: join(ROOT, 'corpus') };
    const first = await startServer(env);
    children.push(first.child);
    assert.equal((await fetch(`http://127.0.0.1:${first.port}/readyz`)).status, 200);
    first.child.kill('SIGTERM');
    await once(first.child, 'exit');

    // The second start finds the corpus already there (no bootstrap) and must still load its index before listening.
    const second = await startServer(env);
    children.push(second.child);
    const base = `http://127.0.0.1:${second.port}`;
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200, await ready.clone().text());
    assert.match(second.output(), /"msg":"corpus index loaded"/);

    const file = join(dataDir, 'van-colour.md');
    writeFileSync(
      file,
      '---\nid: van-colour\ntitle: The delivery van\ncollection: help\nowner: ops@brightbean.example\nsource: https://brightbean.example/help/van\n---\n\nThe roastery delivery van is painted teal with a copper stripe.\n',
    );
    const errors = capture();
    const printed = capture();
    const ingest = await runCli(['corpus', 'ingest', file, '--collection', 'help', '--approve', '--json'], env, printed.stream, errors.stream);
    assert.equal(ingest, 0, printed.text() + errors.text());
    const afterApproval = await fetch(`${base}/readyz`);
    assert.equal(afterApproval.status, 200, await afterApproval.clone().text());
    second.child.kill('SIGTERM');
    await once(second.child, 'exit');
  });

  /** A server whose upstream answers support.answer after 1.5 s, with a tasks key made by the CLI on its data dir. */
  async function startWithSlowUpstream(): Promise<{ upstream: Awaited<ReturnType<typeof startMockUpstream>>; dataDir: string; key: string; server: Started; base: string }> {
    const citeFirstChunk = (body: { messages: Array<{ content: string }> }): string => {
      const chunkId = /[a-z0-9-]+#\d+-[0-9a-f]+/.exec(body.messages[1]?.content ?? '')?.[0] ?? 'none';
      return JSON.stringify({ answer: 'Shipping to Germany costs €6.90.', citations: [chunkId], confidence: 0.8, abstained: false });
    };
    const upstream = await startMockUpstream([{ kind: 'answer', delayMs: 1500, content: citeFirstChunk }]);
    const dataDir = mkdtempSync(join(tmpdir(), 'airlock-life-'));
    dirs.push(dataDir);
    const env = { AIRLOCK_DATA_DIR: dataDir, AIRLOCK_UPSTREAM_BASE_URL: upstream.baseURL, AIRLOCK_MODEL: 'mock-model', AIRLOCK_ALLOWED_MODELS: 'mock-model', AIRLOCK_TASKS_DIR: join(ROOT, 'tasks'), AIRLOCK_CORPUS_DIR: join(ROOT, 'corpus') };
    const out = capture();
    assert.equal(await runCli(['keys', 'create', '--name', 'life', '--scopes', 'tasks:*', '--json'], env, out.stream, capture().stream), 0);
    const { key } = JSON.parse(out.text()) as { key: string };
    const server = await startServer(env);
    children.push(server.child);
    return { upstream, dataDir, key, server, base: `http://127.0.0.1:${server.port}` };
  }

  test('SIGTERM, when a request is in flight, then it completes and the process exits 0', async () => {
    const { upstream, key, server, base } = await startWithSlowUpstream();
    assert.equal((await fetch(`${base}/readyz`)).status, 200);

    const inFlight = fetch(`${base}/v1/tasks/support.answer`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ schema_version: '1.0', source: 'test', event_id: 'evt_drain', timestamp: '2026-05-12T10:15:00Z', data: { question: 'How much is shipping to Germany?' } }),
    });
    while (upstream.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    server.child.kill('SIGTERM');
    const exited = once(server.child, 'exit');
    const response = await inFlight;
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal(((await response.json()) as { status: string }).status, 'ok');
    const [code] = (await exited) as [number];
    assert.equal(code, 0);
    assert.match(server.output(), /"msg":"draining"/);
    assert.match(server.output(), /"msg":"stopped"/);
    await upstream.close();
  });

  test('LLM10-6 B1: SIGTERM, when a keep-alive client has sent half a request and a task call waits on a slow upstream, then the half request is answered with Connection: close, the task call answers 200 with its audit row and a completed idempotency row, and the process exits 0', async () => {
    const { upstream, dataDir, key, server, base } = await startWithSlowUpstream();

    // A keep-alive client that has sent half of its request when SIGTERM arrives.
    const socket = connect(server.port, '127.0.0.1');
    await once(socket, 'connect');
    let raw = '';
    socket.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    socket.write('GET /healthz HTTP/1.1\r\nHost: airlock\r\n');

    const inFlight = fetch(`${base}/v1/tasks/support.answer`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': 'drain-1' },
      body: JSON.stringify({ schema_version: '1.0', source: 'test', event_id: 'evt_b1', timestamp: '2026-05-12T10:15:00Z', data: { question: 'How much is shipping to Germany?' } }),
    });
    while (upstream.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    const exited = once(server.child, 'exit');
    server.child.kill('SIGTERM');
    while (!server.output().includes('"msg":"draining"')) await new Promise((resolve) => setTimeout(resolve, 20));

    socket.write('\r\n');
    await once(socket, 'close');
    assert.match(raw, /^HTTP\/1\.1 200 /);
    assert.match(raw, /\r\nconnection: close\r\n/i);

    const response = await inFlight;
    const body = await response.text();
    assert.equal(response.status, 200, body);
    const requestId = (JSON.parse(body) as { request_id: string }).request_id;
    const [code] = (await exited) as [number];
    assert.equal(code, 0, server.output().slice(-2000));
    assert.doesNotMatch(server.output(), /ERR_HTTP_HEADERS_SENT/);
    assert.match(server.output(), /"msg":"stopped"/);

    const db = new Database(join(dataDir, 'airlock.db'), { readonly: true });
    try {
      const audit = db.prepare("SELECT status, decision FROM audit_log WHERE request_id = ? AND action = 'task.run'").all(requestId) as Array<{ status: number; decision: string }>;
      assert.deepEqual(audit.map((row) => row.status), [200]);
      const claims = db.prepare('SELECT state FROM idempotency_records').all() as Array<{ state: string }>;
      assert.deepEqual(claims.map((row) => row.state), ['completed']);
    } finally {
      db.close();
    }
    await upstream.close();
  });
});
