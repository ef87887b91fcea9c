// AIRLOCK_PROCESSES pools for tests: the real entry point (src/main.ts) as a node:cluster primary with its workers, and
// requests that each open their own connection (so the primary hands them to the workers in turn) and report which
// worker served them, read from its access-log line by the X-Request-Id the request carried.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

const ROOT = join(import.meta.dirname, '..', '..');

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  /** The cluster worker id that served the request, from its access-log line. */
  readonly worker: number;
}

export interface Pool {
  readonly child: ChildProcess;
  readonly port: number;
  readonly output: () => string;
}

/**
 * The settings both pool suites share: the bundled tasks, the small support corpus, the mock as the only model, one
 * execution per key at a time, and duplicates that wait long enough for an original on the other worker.
 */
export const poolEnv = (dataDir: string, upstreamBaseUrl: string, requestsPerMinute: number): Record<string, string> => ({
  AIRLOCK_DATA_DIR: dataDir,
  AIRLOCK_TASKS_DIR: join(ROOT, 'tasks'),
  AIRLOCK_CORPUS_DIR: join(ROOT, 'test', 'fixtures', 'support-corpus'),
  AIRLOCK_UPSTREAM_BASE_URL: upstreamBaseUrl,
  AIRLOCK_UPSTREAM_MAX_RETRIES: '0',
  AIRLOCK_MODEL: 'mock-model',
  AIRLOCK_ALLOWED_MODELS: 'mock-model',
  AIRLOCK_RATE_REQUESTS_PER_MINUTE: String(requestsPerMinute),
  AIRLOCK_MAX_CONCURRENT_PER_KEY: '1',
  AIRLOCK_IDEMPOTENCY_WAIT_MS: '10000',
});

const children = new Set<ChildProcess>();

/** SIGKILLs every process spawnMain started that is still running (an after() hook's safety net). */
export function killStarted(): void {
  for (const child of children) child.kill('SIGKILL');
}

export function spawnMain(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOST: '127.0.0.1', AIRLOCK_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { child, output: () => text };
}

/** Starts the primary and waits for its "listening on every worker" line. */
export async function startPool(env: Record<string, string>): Promise<Pool> {
  const { child, output } = spawnMain({ PORT: '0', AIRLOCK_PROCESSES: '2', ...env });
  const deadline = Date.now() + 120_000;
  for (;;) {
    const match = /"port":(\d+)[^\n]*"msg":"airlock listening on every worker"/.exec(output());
    if (match !== null) return { child, port: Number(match[1]), output };
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before listening:\n${output().slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`not listening within 120 s:\n${output().slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** JSON log lines of the pool so far. */
export const logLines = (pool: Pool): Array<Record<string, unknown>> =>
  pool
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

/** Waits until the log holds a line matching `accept` (pino writes asynchronously) and returns it. */
export async function logLine(pool: Pool, accept: (line: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const found = logLines(pool).find(accept);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no log line for ${what}:\n${pool.output().slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** One request on a connection of its own (no keep-alive), and the worker that served it. */
type RequestOptions = { key?: string; body?: unknown; headers?: Record<string, string> };

/** One request on a connection of its own (no keep-alive); which worker answered is not known (see send). */
export function exchange(pool: Pool, path: string, options: RequestOptions = {}): Promise<Omit<Reply, 'worker'>> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: pool.port,
        path,
        method: payload === undefined ? 'GET' : 'POST',
        agent: false,
        headers: {
          ...(options.key === undefined ? {} : { authorization: `Bearer ${options.key}` }),
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
          ...options.headers,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** One request on a connection of its own, and the worker that served it, from its access-log line. */
export async function send(pool: Pool, path: string, options: RequestOptions = {}): Promise<Reply> {
  const requestId = `processes-${randomUUID()}`;
  const reply = await exchange(pool, path, { ...options, headers: { 'x-request-id': requestId, ...options.headers } });
  const line = await logLine(pool, (entry) => entry['msg'] === 'request' && entry['request_id'] === requestId, `request ${requestId}`);
  return { ...reply, worker: line['worker'] as number };
}

/** Sends until a worker other than `worker` serves the request (the primary hands connections out in turn). */
export async function sendToOtherWorker(pool: Pool, worker: number, path: string, options: RequestOptions): Promise<Reply> {
  for (let attempt = 0; attempt < 4; attempt += 1) {
    const reply = await send(pool, path, options);
    if (reply.worker !== worker) return reply;
  }
  throw new Error(`four requests in a row were served by worker ${worker}`);
}

/**
 * RL-1: `key` sends twice `perMinute` requests, spread over the workers; exactly `perMinute` pass (400: invalid envelopes,
 * counted by the limiter and refused before the model) and the rest are 429, whichever worker counted them.
 */
export async function assertOneRateLimitAcrossWorkers(pool: Pool, key: string, perMinute: number): Promise<void> {
  const replies: Reply[] = [];
  for (let i = 0; i < perMinute * 2; i += 1) replies.push(await send(pool, '/v1/tasks/lead.classify', { key, body: { not: 'an envelope' } }));
  assert.equal(new Set(replies.map((reply) => reply.worker)).size, 2, 'both workers served requests');
  const statuses = replies.map((reply) => reply.status);
  assert.equal(statuses.filter((status) => status === 400).length, perMinute, statuses.join(','));
  assert.equal(statuses.filter((status) => status === 429).length, perMinute, statuses.join(','));
  assert.match(String(replies.at(-1)?.headers['ratelimit']), /"per-key-task-minute";r=0;/);
}

/** IDEM-5, IDEM-6: `call` (with an Idempotency-Key) answered once, then replayed by the other worker; `modelCalls` counts upstream calls. */
export async function assertRetryReplayedOnOtherWorker(pool: Pool, call: RequestOptions, modelCalls: () => number): Promise<void> {
  const before = modelCalls();
  const first = await send(pool, '/v1/tasks/support.answer', call);
  assert.equal(first.status, 200, first.body);
  const retry = await sendToOtherWorker(pool, first.worker, '/v1/tasks/support.answer', call);
  assert.equal(retry.status, 200, retry.body);
  assert.equal(retry.headers['idempotent-replayed'], 'true');
  assert.deepEqual(JSON.parse(retry.body), JSON.parse(first.body));
  assert.equal(modelCalls() - before, 1, 'one model call for one idempotency key');
}
