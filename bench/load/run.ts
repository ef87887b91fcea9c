// Load benchmark (`npm run bench:load`): the mock upstream direct, a bare node:http pass-through, the Portkey gateway and
// Airlock's full support.answer pipeline, in turn, under wrk at several concurrencies. The system under test runs on
// CPU 0; wrk, the mock and this script on CPU 1. Prints a table per concurrency and writes JSON lines to bench/results/.
//
// Options: --duration=10 --warmup=5 --reps=2 --concurrency=1,32,64 --chunks=100000,10000 --delay-ms=0
//          --systems=mock,bare,portkey,airlock --nice=-10 --profile --reuse-db=/tmp/airlock-bench/run-… (adds a `node --cpu-prof` Airlock run at c=32 and summarises it)
//          --retrieval=fixed (every search answered with the first one's hits: the guard chain's own cost)
//          --processes=1,2 (or --processes 2): Airlock with AIRLOCK_PROCESSES=N, its workers on CPUs 0…N-1, the load on CPU N
//          (shared with the last worker when the machine has no CPU to spare); prints each throughput against 1 process's
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { signWebhook } from '../../src/security/webhook-signature.js';
import { buildPrompt } from '../../src/model/prompt.js';
import { loadTaskFolders } from '../../src/tasks/load.js';
import { createCheckRegistry } from '../../src/guard/registry.js';
import { JailbreakScreenConfig, scoreJailbreak, screenTrips } from '../../src/guard/checks/jailbreak-screen.js';
import { offlineRefusal } from '../../src/model/offline.js';
import { CHUNKS_PER_DOCUMENT, type BenchKey } from './build-db.js';
import { createSyntheticText } from './synthetic.js';
import { summariseProfile } from './profile-summary.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const SCRATCH = '/tmp/airlock-bench';
const PORTKEY_VERSION = '1.15.2';
const PORTKEY_DIR = join(SCRATCH, 'portkey');
const PORTKEY_BIN = join(PORTKEY_DIR, 'node_modules', '@portkey-ai', 'gateway', 'build', 'start-server.js');
const SUT_CPU = '0';
const TSX = ['--import', 'tsx'];

// ---------------------------------------------------------------------------------------------------------------- options
const option = (name: string, fallback: string): string => {
  const spaced = process.argv.indexOf(`--${name}`);
  const next = spaced === -1 ? undefined : process.argv[spaced + 1];
  if (next !== undefined && !next.startsWith('--')) return next;
  return process.argv.find((value) => value.startsWith(`--${name}=`))?.split('=').slice(1).join('=') ?? fallback;
};
const numbers = (text: string): number[] => text.split(',').filter((part) => part !== '').map(Number);
const DURATION = Number(option('duration', '10'));
const WARMUP = Number(option('warmup', '5'));
const REPS = Number(option('reps', '2'));
const CONCURRENCY = numbers(option('concurrency', '1,32,64'));
const CHUNKS = numbers(option('chunks', '100000,10000'));
const DELAY_MS = Number(option('delay-ms', '0'));
const SYSTEMS = new Set(option('systems', 'mock,bare,portkey,airlock').split(','));
/** Airlock's AIRLOCK_PROCESSES values to measure, each on as many CPUs (0…N-1). */
const PROCESSES = numbers(option('processes', '1'));
if (PROCESSES.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--processes takes whole numbers ≥ 1, e.g. --processes=1,2');
/** wrk, the mock and this script: on the first CPU no Airlock worker uses, or the last CPU when there is none to spare. */
const LOAD_CPU = String(Math.min(Math.max(...PROCESSES), cpus().length - 1));
/** The CPUs N Airlock workers are pinned to. */
const sutCpus = (processes: number): string => (processes === 1 ? SUT_CPU : `0-${processes - 1}`);
const PROFILE = process.argv.includes('--profile');
const RETRIEVAL = option('retrieval', 'real');
/** A previous run's scratch folder whose db-<chunks> databases are used instead of building new ones (quick A/B runs). */
const REUSE = option('reuse-db', '');
/**
 * Scheduling priority of the servers, the mock and wrk, so that on a shared machine other sessions' work yields to the
 * run. With autogroup scheduling, nice only ranks processes within a session, so each one gets its own session
 * (setsid) and that session's autogroup gets the same nice value.
 */
const NICE = Number(option('nice', '-10'));
/** Arguments for `setsid`: a shell sets the new session's autogroup nice (where supported), then execs `command`. */
const prioritised = (command: readonly string[]): string[] => [
  'sh',
  '-c',
  `echo ${NICE} > /proc/$$/autogroup 2>/dev/null; exec nice -n ${NICE} "$@"`,
  'sh',
  ...command,
];

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const RUN_DIR = join(SCRATCH, `run-${stamp}`);
mkdirSync(RUN_DIR, { recursive: true });
mkdirSync(join(REPO, 'bench', 'results'), { recursive: true });
const RESULTS = join(REPO, 'bench', 'results', `load-${stamp}.jsonl`);
const emit = (record: Record<string, unknown>): void => writeFileSync(RESULTS, `${JSON.stringify(record)}\n`, { flag: 'a' });
const log = (message: string): void => {
  process.stderr.write(`[bench] ${message}\n`);
};

// ------------------------------------------------------------------------------------------------------------ processes
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(command, args, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

interface Server {
  readonly name: string;
  readonly child: ChildProcess;
  readonly port: number;
  /** Every process of the server whose CPU and memory count: the primary and, with AIRLOCK_PROCESSES, its workers. */
  readonly pids: readonly number[];
}

/**
 * Starts `node args` pinned to `cpu`. Its stdout goes straight to a log file, as a deployment's would, so a slow reader
 * can never block the server's synchronous log writes. Ready when a stderr line matches `ready` (port in group 1), or,
 * with `port`, when that port answers HTTP.
 */
function startNode(name: string, cpu: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; ready?: RegExp; port?: number }): Promise<Server> {
  const logPath = join(RUN_DIR, `${name}.log`);
  const stdout = openSync(logPath, 'a');
  const child = spawn('setsid', prioritised(['taskset', '-c', cpu, process.execPath, ...args]), { cwd: REPO, env: { ...process.env, ...options.env }, stdio: ['ignore', stdout, 'pipe'] });
  closeSync(stdout);
  children.add(child);
  child.on('exit', () => children.delete(child));
  return new Promise((resolvePromise, reject) => {
    let seen = '';
    let settled = false;
    const timer = setTimeout(() => finish(new Error(`${name} did not start in 60 s; see ${logPath}`)), 60_000);
    // setsid, sh, nice and taskset all exec, so the child's pid is the server's pid.
    const finish = (error: Error | null, port = 0, workers: readonly number[] = []): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error === null) resolvePromise({ name, child, port, pids: [child.pid ?? 0, ...workers] });
      else reject(error);
    };
    child.stderr?.on('data', (data: Buffer) => {
      appendFileSync(logPath, data);
      if (options.ready === undefined || settled) return;
      seen = (seen + data.toString('utf8')).slice(-65_536);
      const match = options.ready.exec(seen);
      if (match !== null) finish(null, Number(match[1]), numbers(match.groups?.['workers'] ?? ''));
    });
    child.on('exit', (code) => finish(new Error(`${name} exited with ${code}; see ${logPath}`)));
    const port = options.port;
    if (port !== undefined) {
      const poll = (): void => {
        if (settled) return;
        const probe = httpRequest({ host: '127.0.0.1', port, path: '/', method: 'GET' }, (res) => {
          res.resume();
          finish(null, port);
        });
        probe.on('error', () => setTimeout(poll, 200));
        probe.end();
      };
      poll();
    }
  });
}

async function stop(server: Server, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (server.child.exitCode !== null) return;
  await new Promise<void>((resolvePromise) => {
    const force = setTimeout(() => server.child.kill('SIGKILL'), 15_000);
    server.child.once('exit', () => {
      clearTimeout(force);
      resolvePromise();
    });
    server.child.kill(signal);
  });
}

const freePort = (): Promise<number> =>
  new Promise((resolvePromise) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolvePromise(port));
    });
  });

const CLOCK_TICKS = Number(run('getconf', ['CLK_TCK']).trim());
/** Busy time of CPUs 0…count-1 (all processes), in milliseconds, from /proc/stat. */
function cpuBusyMs(count: number): number {
  const rows = readFileSync('/proc/stat', 'utf8').split('\n');
  let busy = 0;
  for (let cpu = 0; cpu < count; cpu += 1) {
    const line = rows.find((row) => row.startsWith(`cpu${cpu} `)) ?? '';
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    busy += (((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 1000) / CLOCK_TICKS;
  }
  return busy;
}
/** utime + stime of the processes (all threads), in milliseconds. */
function cpuMs(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return sum + ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  }, 0);
}
/** Resident memory summed over the processes; the peak is the sum of each one's peak. */
function memoryMb(pids: readonly number[]): { rssMb: number; hwmMb: number } {
  let rssKb = 0;
  let hwmKb = 0;
  for (const pid of pids) {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    rssKb += kb('VmRSS');
    hwmKb += kb('VmHWM');
  }
  return { rssMb: Math.round(rssKb / 1024), hwmMb: Math.round(hwmKb / 1024) };
}

// ------------------------------------------------------------------------------------------------------------ setup
function ensureWrk(): void {
  if (spawnSync('which', ['wrk']).status === 0) return;
  log('wrk missing: apt-get install wrk');
  run('apt-get', ['update', '-qq']);
  run('apt-get', ['install', '-y', '-qq', 'wrk']);
}

function ensurePortkey(): void {
  const installed = join(PORTKEY_DIR, 'node_modules', '@portkey-ai', 'gateway', 'package.json');
  if (existsSync(installed) && (JSON.parse(readFileSync(installed, 'utf8')) as { version: string }).version === PORTKEY_VERSION) return;
  log(`installing @portkey-ai/gateway@${PORTKEY_VERSION} into ${PORTKEY_DIR} (scratch, not a project dependency)`);
  mkdirSync(PORTKEY_DIR, { recursive: true });
  run('npm', ['install', '--prefix', PORTKEY_DIR, '--no-audit', '--no-fund', '--no-save', `@portkey-ai/gateway@${PORTKEY_VERSION}`]);
}

// ------------------------------------------------------------------------------------------------------------ requests
/** One wrk request line: path, body, then `name: value` headers, tab-separated (JSON bodies never hold a raw tab). */
const requestLine = (path: string, body: string, headers: Record<string, string>): string =>
  [path, body, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)].join('\t');

/**
 * What Airlock itself sends upstream for one support.answer call (system rules, question, five datamarked chunks,
 * strict json_schema), so the pass-through systems carry the same model call.
 */
function upstreamChatBody(): string {
  const text = createSyntheticText();
  const chunks = Array.from({ length: 5 }, (_, i) => ({ chunkId: `doc-${i}#0-${'0123456789abcdef'}`, title: `Article ${i}`, text: text.paragraph(i, 3) }));
  const task = loadTaskFolders(join(REPO, 'tasks'), { checks: createCheckRegistry(), allowedModels: [], offlineRefusal }).find((candidate) => candidate.name === 'support.answer');
  if (task === undefined) throw new Error('tasks/support.answer is missing');
  const prompt = buildPrompt({
    policyDescription: task.spec.description,
    instructions: task.instructions,
    taskName: 'support.answer',
    outputSchemaName: 'support.answer.output',
    input: { question: text.question(1) },
    chunks,
    random: (bytes) => Buffer.alloc(bytes, 7),
  });
  return JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: prompt.system },
      { role: 'user', content: prompt.user },
    ],
    max_completion_tokens: 800,
    response_format: { type: 'json_schema', json_schema: { name: 'support_answer_output', strict: true, schema: task.outputSchema } },
  });
}

function writeStaticRequests(file: string, headers: Record<string, string>): void {
  const line = requestLine('/v1/chat/completions', upstreamChatBody(), { 'content-type': 'application/json', ...headers });
  writeFileSync(file, `${Array.from({ length: 16 }, () => line).join('\n')}\n`);
}

const text = createSyntheticText();
/** support.answer runs the screen at its default threshold. */
const JAILBREAK_THRESHOLD = JailbreakScreenConfig.parse({}).threshold;
/** Questions on topics the corpus holds (a small corpus covers fewer topics), so every call gets context and a model call. */
const questionsFor = (chunks: number): string[] => {
  const topics = Math.min(text.topics, Math.ceil(chunks / CHUNKS_PER_DOCUMENT));
  // A question the input screen refuses never reaches retrieval or the model: redraw it, so that every call measured
  // is the full pipeline (the run counts any other outcome as an error).
  const screened = (topic: number): string => {
    for (;;) {
      const question = text.question(topic);
      if (!screenTrips(scoreJailbreak(question), JAILBREAK_THRESHOLD)) return question;
    }
  };
  return Array.from({ length: 2000 }, (_, i) => screened((i * 7) % topics));
};
let batch = 0;

/** `count` distinct signed support.answer calls, timestamped now: unique event_id, webhook-id and Idempotency-Key each. */
function writeAirlockRequests(file: string, key: BenchKey, questions: readonly string[], count: number): void {
  batch += 1;
  const timestamp = Math.floor(Date.now() / 1000);
  const iso = new Date(timestamp * 1000).toISOString();
  const lines: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const id = `${stamp}-${batch}-${i}`;
    const body = JSON.stringify({ schema_version: '1.0', source: 'bench', event_id: `evt-${id}`, timestamp: iso, data: { question: questions[i % questions.length] } });
    const webhookId = `msg_${id}`;
    lines.push(
      requestLine('/v1/tasks/support.answer', body, {
        authorization: `Bearer ${key.key}`,
        'content-type': 'application/json',
        'webhook-id': webhookId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signWebhook({ id: webhookId, timestamp, rawBody: Buffer.from(body), secret: key.signingSecret }),
        'idempotency-key': `bench-${id}`,
      }),
    );
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

// ------------------------------------------------------------------------------------------------------------ measuring
interface WrkResult {
  requests: number;
  duration_us: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  max_us: number;
  mean_us: number;
  wrapped: number;
}

/** Runs wrk on the load CPU without blocking this process, which keeps reading the servers' stderr meanwhile. */
function wrk(port: number, path: string, concurrency: number, seconds: number, requestsFile: string): Promise<WrkResult> {
  const args = ['-c', LOAD_CPU, 'wrk', '-t1', `-c${concurrency}`, `-d${seconds}s`, '--timeout', '10s', '-s', join(REPO, 'bench', 'load', 'requests.lua'), `http://127.0.0.1:${port}${path}`];
  const child = spawn('setsid', prioritised(['taskset', ...args]), { env: { ...process.env, BENCH_REQUESTS: requestsFile, BENCH_THREADS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (data: Buffer) => (output += data.toString('utf8')));
  child.stderr.on('data', (data: Buffer) => (output += data.toString('utf8')));
  return new Promise((resolvePromise, reject) => {
    child.on('exit', (code) => {
      const line = /WRK_JSON (\{.*\})/.exec(output)?.[1];
      if (code !== 0 || line === undefined) reject(new Error(`wrk failed (${code}):\n${output}`));
      else resolvePromise(JSON.parse(line) as WrkResult);
    });
  });
}

interface Measurement {
  readonly system: string;
  readonly chunks: number | null;
  /** Server processes (AIRLOCK_PROCESSES for Airlock; 1 for the others), on CPUs 0…processes-1. */
  readonly processes: number;
  readonly concurrency: number;
  readonly rep: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuMsPerRequest: number;
  readonly errors: number;
  readonly wrk: WrkResult;
  readonly outcomes?: Record<string, number>;
  readonly wrapped: boolean;
  /**
   * Share of the SUT's CPUs that other processes used during the run: noise from a shared machine (not meaningful for
   * the mock, which runs on the load CPU; NaN when the load generator shares a CPU with the SUT).
   */
  readonly foreignCpuPct: number;
  readonly loadavg: string;
}

interface Target {
  readonly system: string;
  readonly chunks: number | null;
  readonly processes: number;
  readonly server: Server;
  readonly path: string;
  /** Writes a request file good for `count` requests and returns its path. */
  prepare(count: number): string;
  /** Pipeline outcomes (status/decision counts) of the requests since the last call, for Airlock. */
  outcomes?(): Record<string, number>;
}

let expectedRps = 3000;

/**
 * Waits until the server has drained what the previous run left queued (it goes on working after wrk stops), so no run
 * starts with another's backlog: idle means under 5% of a CPU over 250 ms. Gives up after 60 s.
 */
async function settle(pids: readonly number[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  let before = cpuMs(pids);
  while (Date.now() < deadline) {
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 250));
    const now = cpuMs(pids);
    if (now - before < 12.5) return;
    before = now;
  }
  log(`pids ${pids.join(', ')} still busy after 60 s`);
}

async function measure(target: Target, concurrency: number, seconds: number, rep: number): Promise<Measurement> {
  const file = target.prepare(Math.ceil(expectedRps * (seconds + 2) * 1.5) + 2000);
  await settle(target.server.pids);
  target.outcomes?.();
  const before = cpuMs(target.server.pids);
  const busyBefore = cpuBusyMs(target.processes);
  const result = await wrk(target.server.port, target.path, concurrency, seconds, file);
  const cpu = cpuMs(target.server.pids) - before;
  // What other processes (other sessions on a shared machine) took from the SUT's CPUs during the run; unknowable
  // when wrk and the mock run on one of them.
  const loadShares = target.processes > Number(LOAD_CPU);
  const foreign = loadShares ? Number.NaN : Math.max(0, cpuBusyMs(target.processes) - busyBefore - (target.server.name === 'mock' ? 0 : cpu));
  const rps = result.requests / (result.duration_us / 1e6);
  if (target.outcomes !== undefined) expectedRps = Math.max(expectedRps, rps);
  // Requests wrk abandoned at the end still finish and are audited; count them too, once the server is idle.
  if (target.outcomes !== undefined) await settle(target.server.pids);
  const outcomes = target.outcomes?.();
  const measurement: Measurement = {
    system: target.system,
    chunks: target.chunks,
    processes: target.processes,
    concurrency,
    rep,
    rps,
    p50Ms: result.p50_us / 1000,
    p99Ms: result.p99_us / 1000,
    cpuMsPerRequest: result.requests > 0 ? cpu / result.requests : 0,
    errors: result.connect + result.read + result.write + result.status + result.timeout,
    wrk: result,
    ...(outcomes === undefined ? {} : { outcomes }),
    wrapped: target.outcomes !== undefined && result.wrapped > 0,
    foreignCpuPct: (100 * foreign) / (result.duration_us / 1000),
    loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  };
  return measurement;
}

// ------------------------------------------------------------------------------------------------------------ systems
async function startMock(): Promise<Server> {
  return startNode('mock', LOAD_CPU, [...TSX, 'bench/load/mock-upstream.ts', `--delay-ms=${DELAY_MS}`], { ready: /\{"port":(\d+)\}/ });
}

async function startAirlock(dir: string, mockPort: number, processes: number, extraNodeArgs: readonly string[] = []): Promise<Server> {
  return startNode(`airlock-${dir.split('-').pop() ?? ''}-p${processes}`, sutCpus(processes), [...extraNodeArgs, ...TSX, 'bench/load/airlock-server.ts'], {
    ready: /AIRLOCK_READY \{"port":(\d+),"pid":\d+(?:,"workers":\[(?<workers>[\d,]*)\])?/,
    env: {
      AIRLOCK_PROCESSES: String(processes),
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: '0',
      AIRLOCK_ENV: 'development',
      AIRLOCK_DATA_DIR: dir,
      AIRLOCK_TASKS_DIR: join(REPO, 'tasks'),
      AIRLOCK_BOOTSTRAP_CORPUS: 'false',
      AIRLOCK_LOG_LEVEL: 'info',
      OPENAI_API_KEY: 'sk-bench-not-a-real-key',
      AIRLOCK_UPSTREAM_BASE_URL: `http://127.0.0.1:${mockPort}/v1`,
      AIRLOCK_MODEL: 'gpt-4o-mini',
      // "Limits high": the limiter runs and counts on every request but never refuses one here.
      AIRLOCK_RATE_REQUESTS_PER_MINUTE: '100000000',
      AIRLOCK_RATE_TOKENS_PER_DAY: '1000000000000',
      // One key carries the whole run: its cap on concurrent executions must exceed the benchmark's concurrency.
      AIRLOCK_MAX_CONCURRENT_PER_KEY: '10000',
      BENCH_RETRIEVAL: RETRIEVAL,
    },
  });
}

function airlockTarget(server: Server, dir: string, chunks: number, processes: number): Target {
  const key = JSON.parse(readFileSync(join(dir, 'bench-key.json'), 'utf8')) as BenchKey;
  const questions = questionsFor(chunks);
  const db = new Database(join(dir, 'airlock.db'), { readonly: true, fileMustExist: true });
  const since = db.prepare('SELECT status, decision, count(*) AS n, max(seq) AS last FROM audit_log WHERE seq > ? GROUP BY status, decision');
  let lastSeq = (db.prepare('SELECT coalesce(max(seq), 0) FROM audit_log').pluck().get() as number) ?? 0;
  return {
    system: 'airlock',
    chunks,
    processes,
    server,
    path: '/v1/tasks/support.answer',
    prepare(count) {
      const file = join(RUN_DIR, `airlock-requests.tsv`);
      writeAirlockRequests(file, key, questions, count);
      return file;
    },
    outcomes() {
      const counts: Record<string, number> = {};
      for (const row of since.all(lastSeq) as Array<{ status: number; decision: string; n: number; last: number }>) {
        counts[`${row.status} ${row.decision}`] = row.n;
        lastSeq = Math.max(lastSeq, row.last);
      }
      return counts;
    },
  };
}

const fixedTarget = (system: string, server: Server, headers: Record<string, string>): Target => {
  const file = join(RUN_DIR, `${system}-requests.tsv`);
  writeStaticRequests(file, headers);
  return { system, chunks: null, processes: 1, server, path: '/v1/chat/completions', prepare: () => file };
};

// ------------------------------------------------------------------------------------------------------------ report
const mean = (values: readonly number[]): number => (values.length === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / values.length);
const fixed = (value: number, digits: number): string => (Number.isFinite(value) ? value.toFixed(digits) : '–');
const percent = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(0)}%` : '–');
const label = (m: { system: string; chunks: number | null; processes: number }): string =>
  m.chunks === null ? m.system : `${m.system} (${m.chunks / 1000}k chunks, ${m.processes} process${m.processes === 1 ? '' : 'es'})`;

/** Airlock's mean req/s for one corpus, concurrency and process count. */
const airlockRps = (measurements: readonly Measurement[], chunks: number, concurrency: number, processes: number): number =>
  mean(measurements.filter((m) => m.system === 'airlock' && m.chunks === chunks && m.concurrency === concurrency && m.processes === processes).map((m) => m.rps));

/** Airlock's throughput with N processes against one process's, per corpus and concurrency (issue 17: 2 on 2 CPUs ≥ 1.8×). */
function scalingLines(measurements: readonly Measurement[]): string[] {
  return CHUNKS.flatMap((chunks) =>
    CONCURRENCY.map((concurrency) => {
      const one = airlockRps(measurements, chunks, concurrency, 1);
      const each = PROCESSES.map((processes) => {
        const rps = airlockRps(measurements, chunks, concurrency, processes);
        return `${processes}: ${fixed(rps, 0)} req/s${processes === 1 || !Number.isFinite(one) ? '' : ` (${fixed(rps / one, 2)}× 1 process)`}`;
      });
      return `airlock scaling, ${chunks / 1000}k chunks, c=${concurrency}, by processes: ${each.join(' | ')}`;
    }),
  );
}

function table(measurements: readonly Measurement[], concurrency: number): string {
  const rows = measurements.filter((m) => m.concurrency === concurrency);
  const groups = [...new Set(rows.map(label))].map((name) => ({ name, runs: rows.filter((m) => label(m) === name) }));
  const avg = (name: string, pick: (m: Measurement) => number): number => mean(groups.find((g) => g.name === name)?.runs.map(pick) ?? []);
  const mockP50 = avg('mock', (m) => m.p50Ms);
  const mockP99 = avg('mock', (m) => m.p99Ms);
  const portkeyRps = avg('portkey', (m) => m.rps);
  const bareRps = avg('bare', (m) => m.rps);
  const lines = [
    `\nconcurrency ${concurrency} (mean of ${REPS} × ${DURATION} s; req/s per rep in brackets)`,
    '| system | req/s | p50 ms | p99 ms | added p50 ms | added p99 ms | CPU ms/req | errors | ÷ Portkey | ÷ bare | other load on SUT CPU |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const { name, runs } of groups) {
    const rps = mean(runs.map((m) => m.rps));
    const p50 = mean(runs.map((m) => m.p50Ms));
    const p99 = mean(runs.map((m) => m.p99Ms));
    const isMock = name === 'mock';
    const ratio = name.startsWith('airlock');
    const errors = runs.reduce((sum, m) => sum + m.errors + (m.outcomes === undefined ? 0 : notOk(m.outcomes)), 0);
    lines.push(
      `| ${name}${runs.some((m) => m.wrapped) ? ' (wrapped!)' : ''} | ${fixed(rps, 0)} [${runs.map((m) => fixed(m.rps, 0)).join(', ')}] | ${fixed(p50, 2)} | ${fixed(p99, 2)} | ${isMock ? '–' : fixed(p50 - mockP50, 2)} | ${isMock ? '–' : fixed(p99 - mockP99, 2)} | ${fixed(mean(runs.map((m) => m.cpuMsPerRequest)), 3)} | ${errors} | ${ratio ? fixed(rps / portkeyRps, 2) : ''} | ${ratio ? fixed(rps / bareRps, 2) : ''} | ${isMock ? '–' : percent(mean(runs.map((m) => m.foreignCpuPct)))} |`,
    );
  }
  return lines.join('\n');
}

/** Audited outcomes other than "200 allowed": reviews, abstentions or errors mean the full pipeline did not run. */
const notOk = (outcomes: Record<string, number>): number => Object.entries(outcomes).reduce((sum, [kind, n]) => sum + (kind === '200 allowed' ? 0 : n), 0);

// ------------------------------------------------------------------------------------------------------------ main
async function main(): Promise<void> {
  // This script, wrk and the mock share CPU 1, leaving CPU 0 to the system under test.
  run('taskset', ['-cp', LOAD_CPU, String(process.pid)]);
  ensureWrk();
  if (SYSTEMS.has('portkey')) ensurePortkey();
  const machine = {
    nproc: cpus().length,
    cpu: /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown',
    memGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    wrk: spawnSync('wrk', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? 'unknown',
  };
  emit({ kind: 'run', stamp, machine, nice: NICE, duration: DURATION, warmup: WARMUP, reps: REPS, concurrency: CONCURRENCY, chunks: CHUNKS, delayMs: DELAY_MS, retrieval: RETRIEVAL, processes: PROCESSES });
  log(`results → ${RESULTS}; scratch → ${RUN_DIR}`);

  const dirs = new Map<number, string>();
  const builds: Record<string, unknown>[] = [];
  if (SYSTEMS.has('airlock') || PROFILE) {
    for (const chunks of CHUNKS) {
      const reused = join(REUSE, `db-${chunks}`);
      if (REUSE !== '' && existsSync(join(reused, 'bench-key.json'))) {
        log(`reusing the ${chunks}-chunk database in ${reused}`);
        dirs.set(chunks, reused);
        continue;
      }
      const dir = join(RUN_DIR, `db-${chunks}`);
      log(`building a ${chunks}-chunk corpus in ${dir} …`);
      const build = JSON.parse(run(process.execPath, [...TSX, join(REPO, 'bench', 'load', 'build-db.ts'), dir, String(chunks)])) as Record<string, unknown>;
      log(`built in ${fixed(build['seconds'] as number, 1)} s: ${JSON.stringify(build)}`);
      builds.push({ kind: 'build', chunks, ...build });
      emit({ kind: 'build', chunks, ...build });
      dirs.set(chunks, dir);
    }
  }

  const mock = await startMock();
  const measurements: Measurement[] = [];
  const memory: Record<string, unknown>[] = [];
  const exercise = async (target: Target): Promise<void> => {
    log(`${label(target)}: warm-up ${WARMUP} s at c=32`);
    await measure(target, 32, WARMUP, 0);
    target.outcomes?.();
    for (const concurrency of CONCURRENCY) {
      for (let rep = 1; rep <= REPS; rep += 1) {
        const m = await measure(target, concurrency, DURATION, rep);
        measurements.push(m);
        emit({ kind: 'measurement', ...m });
        log(`${label(m)} c=${concurrency} rep ${rep}: ${fixed(m.rps, 0)} req/s, p50 ${fixed(m.p50Ms, 2)} ms, p99 ${fixed(m.p99Ms, 2)} ms, ${fixed(m.cpuMsPerRequest, 3)} CPU ms/req, errors ${m.errors}, other load on CPU ${sutCpus(m.processes)} ${percent(m.foreignCpuPct)}${m.outcomes === undefined ? '' : `, outcomes ${JSON.stringify(m.outcomes)}`}${m.wrapped ? ' WRAPPED' : ''}`);
      }
    }
  };

  if (SYSTEMS.has('mock')) await exercise({ ...fixedTarget('mock', mock, {}) });

  if (SYSTEMS.has('bare')) {
    const bare = await startNode('bare', SUT_CPU, [...TSX, 'bench/load/bare-proxy.ts', `--upstream=http://127.0.0.1:${mock.port}`], { ready: /\{"port":(\d+)\}/ });
    await exercise(fixedTarget('bare', bare, {}));
    await stop(bare);
  }

  if (SYSTEMS.has('portkey')) {
    const port = await freePort();
    const portkey = await startNode('portkey', SUT_CPU, [PORTKEY_BIN, `--port=${port}`, '--headless'], { port, env: { NODE_ENV: 'production' } });
    await exercise(
      fixedTarget('portkey', portkey, {
        authorization: 'Bearer sk-bench-not-a-real-key',
        'x-portkey-provider': 'openai',
        'x-portkey-custom-host': `http://127.0.0.1:${mock.port}/v1`,
      }),
    );
    await stop(portkey);
  }

  if (SYSTEMS.has('airlock')) {
    for (const chunks of CHUNKS) {
      for (const processes of PROCESSES) {
        const dir = dirs.get(chunks) ?? '';
        const airlock = await startAirlock(dir, mock.port, processes);
        const idle = memoryMb(airlock.pids);
        await exercise(airlockTarget(airlock, dir, chunks, processes));
        const loaded = memoryMb(airlock.pids);
        const record = { kind: 'memory', system: 'airlock', chunks, processes, idleRssMb: idle.rssMb, loadedRssMb: loaded.rssMb, peakRssMb: loaded.hwmMb };
        memory.push(record);
        emit(record);
        await stop(airlock);
      }
    }
  }

  if (PROFILE) {
    const chunks = Math.max(...CHUNKS);
    const dir = dirs.get(chunks) ?? '';
    // With --processes, the largest count is profiled: cluster workers inherit --cpu-prof, and each process writes its
    // own profile; the worker with the most samples stands for them (the primary only hands out connections).
    const processes = Math.max(...PROCESSES);
    const profileDir = join(RUN_DIR, 'profile');
    const airlock = await startAirlock(dir, mock.port, processes, ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]);
    const target = airlockTarget(airlock, dir, chunks, processes);
    await measure(target, 32, WARMUP, 0);
    const m = await measure(target, 32, DURATION, 1);
    log(`profiled run: ${fixed(m.rps, 0)} req/s (profiler on)`);
    await stop(airlock, 'SIGINT');
    const largest = readdirSync(profileDir)
      .filter((name) => name.endsWith('.cpuprofile'))
      .map((name) => join(profileDir, name))
      .sort((a, b) => statSync(b).size - statSync(a).size)[0];
    if (largest !== undefined) {
      const summary = summariseProfile(largest, 30);
      process.stdout.write(`\nCPU profile of Airlock at c=32, ${chunks} chunks, ${processes} process${processes === 1 ? '' : 'es'} (${largest}):\n${summary}\n`);
    }
  }
  await stop(mock);

  process.stdout.write(`\nAirlock load benchmark ${stamp} — ${machine.nproc} CPUs (${machine.cpu}), ${machine.memGb} GB, node ${machine.node}\n`);
  const airlockCpus = PROCESSES.map((processes) => `${processes} process${processes === 1 ? '' : 'es'} on CPU ${sutCpus(processes)}`).join(', ');
  process.stdout.write(`SUT on CPU ${SUT_CPU} (Airlock: ${airlockCpus}); wrk + mock on CPU ${LOAD_CPU}; mock delay ${DELAY_MS} ms\n`);
  if (PROCESSES.some((processes) => processes > Number(LOAD_CPU))) {
    process.stdout.write(`note: wrk and the mock share CPU ${LOAD_CPU} with Airlock's workers (no CPU to spare), so multi-process throughput is understated\n`);
  }
  for (const build of builds) process.stdout.write(`corpus build: ${JSON.stringify(build)}\n`);
  for (const concurrency of CONCURRENCY) {
    const text = table(measurements, concurrency);
    process.stdout.write(`${text}\n`);
    emit({ kind: 'table', concurrency, markdown: text });
  }
  for (const record of memory) process.stdout.write(`memory: ${JSON.stringify(record)}\n`);
  const growth = CONCURRENCY.map((concurrency) => {
    const perCorpus = CHUNKS.map((chunks) => `${chunks / 1000}k: ${fixed(airlockRps(measurements, chunks, concurrency, PROCESSES[0] ?? 1), 0)} req/s`);
    return `c=${concurrency} ${perCorpus.join(', ')}`;
  });
  if (SYSTEMS.has('airlock')) process.stdout.write(`airlock throughput by corpus size (${PROCESSES[0] ?? 1} process${PROCESSES[0] === 1 ? '' : 'es'}): ${growth.join(' | ')}\n`);
  if (SYSTEMS.has('airlock') && PROCESSES.length > 1) process.stdout.write(`${scalingLines(measurements).join('\n')}\n`);
  process.stdout.write(`\nJSON lines: ${RESULTS}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:load failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
