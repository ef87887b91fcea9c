// AIRLOCK_PROCESSES pools for tests: the real entry point (src/main.ts) as a node:cluster primary with its workers, and
// requests that each open their own connection (so the primary hands them to the workers in turn) and report which
// worker served them, read from its access-log line by the X-Request-Id the request carried.
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
export async function send(pool: Pool, path: string, options: { key?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> {
  const requestId = `processes-${randomUUID()}`;
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const { status, headers, body } = await new Promise<{ status: number; headers: Reply['headers']; body: string }>((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: pool.port,
        path,
        method: payload === undefined ? 'GET' : 'POST',
        agent: false,
        headers: {
          'x-request-id': requestId,
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
  const line = await logLine(pool, (entry) => entry['msg'] === 'request' && entry['request_id'] === requestId, `request ${requestId}`);
  return { status, headers, body, worker: line['worker'] as number };
}

/** Sends until a worker other than `worker` serves the request (the primary hands connections out in turn). */
export async function sendToOtherWorker(pool: Pool, worker: number, path: string, options: Parameters<typeof send>[2]): Promise<Reply> {
  for (let attempt = 0; attempt < 4; attempt += 1) {
    const reply = await send(pool, path, options);
    if (reply.worker !== worker) return reply;
  }
  throw new Error(`four requests in a row were served by worker ${worker}`);
}
