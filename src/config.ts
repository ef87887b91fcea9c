// Configuration: parsed once from the environment with zod, defaults in the schema, then deep-frozen.
// An invalid value throws before the server listens, naming the variable.
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ENVIRONMENTS } from './store/types.js';
import { parseSecretKey } from './security/secret-box.js';
import { SCREEN_FORMATS } from './contracts/screen-verdict.js';
import { packageRoot } from './package-info.js';

const Flag = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');
const PositiveInt = z.coerce.number().int().positive();
const DEFAULT_MODEL = 'gpt-4o-mini';
/** A 32-byte key as hex or base64; kept as text here, parsed again where it is used. */
const SecretKey = z.string().refine((value) => {
  try {
    parseSecretKey(value);
    return true;
  } catch {
    return false;
  }
}, 'must be 32 bytes as 64 hex characters or base64 (openssl rand -base64 32)');
/** A comma-separated list of model ids, as a frozen array. */
/** One address or CIDR block, IPv4 or IPv6 (`10.0.0.5`, `172.28.0.0/24`, `::1`, `fd00::/8`). */
const isAddressOrCidr = (entry: string): boolean => {
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
};

const AddressList = z
  .string()
  .transform((value) => value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== ''))
  .pipe(z.array(z.string().refine(isAddressOrCidr, 'must be IP addresses or CIDR blocks, comma-separated')).min(1, 'must name at least one address'))
  .transform((entries): readonly string[] => Object.freeze(entries));

const ModelList = z
  .string()
  .transform((value) => value.split(',').map((id) => id.trim()).filter((id) => id !== ''))
  .pipe(z.array(z.string()).min(1, 'must name at least one model id'))
  .transform((ids): readonly string[] => Object.freeze(ids));

export const ConfigSchema = z.strictObject({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  AIRLOCK_ENV: z.enum(ENVIRONMENTS).default('development').describe('A key only works on a server of its own environment'),
  AIRLOCK_DATA_DIR: z.string().min(1).default('./data'),
  AIRLOCK_CORPUS_DIR: z.string().min(1).default('./corpus'),
  AIRLOCK_TASKS_DIR: z.string().min(1).default('./tasks').describe('One folder per task: task.json, its JSON Schemas and instructions'),
  AIRLOCK_BOOTSTRAP_CORPUS: Flag.default(true).describe('Ingest and approve the bundled corpus on first start'),
  AIRLOCK_BODY_LIMIT_BYTES: PositiveInt.max(10 * 1024 * 1024).default(64 * 1024),
  AIRLOCK_UPLOAD_LIMIT_BYTES: PositiveInt.max(50 * 1024 * 1024).default(2 * 1024 * 1024),
  AIRLOCK_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  AIRLOCK_SQLITE_SYNCHRONOUS: z.enum(['NORMAL', 'FULL']).default('NORMAL'),
  AIRLOCK_SQLITE_VEC_SHA256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'must be a SHA-256 as 64 hex characters')
    .transform((value) => value.toLowerCase())
    .optional()
    .describe('LLM03-4: replaces the pinned hash of the sqlite-vec binary for this platform'),
  OPENAI_API_KEY: z.string().min(1).optional(),
  AIRLOCK_UPSTREAM_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  AIRLOCK_MODEL: z.string().min(1).default(DEFAULT_MODEL),
  AIRLOCK_ALLOWED_MODELS: ModelList.default(() => Object.freeze([DEFAULT_MODEL])).describe('LLM03-3: the upstream model ids this deployment may use'),
  AIRLOCK_UPSTREAM_TIMEOUT_MS: PositiveInt.max(300_000).default(20_000),
  AIRLOCK_UPSTREAM_MAX_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
  AIRLOCK_UPSTREAM_DEADLINE_MS: PositiveInt.max(600_000).optional().describe('B3: bounds a whole upstream call, retries and their waits included; default: every attempt at its timeout plus the backoff'),
  AIRLOCK_EMBEDDINGS_MODEL: z.string().min(1).optional().describe('Use an OpenAI-compatible embeddings model instead of the local embedder'),
  AIRLOCK_EMBEDDINGS_DIMENSION: PositiveInt.max(8192).default(1536),
  AIRLOCK_SCREEN_MODEL: z.string().min(1).optional().describe('LLM01-5: the classification model of the model_screen check and the ingest screen; unset: off'),
  AIRLOCK_SCREEN_FORMAT: z.enum(SCREEN_FORMATS).default('json').describe('json: strict JSON verdict (any instruction model); llama_guard: its plain-text safe / unsafe answer'),
  AIRLOCK_SCREEN_BASE_URL: z.url({ protocol: /^https?$/ }).optional().describe('OpenAI-compatible endpoint of the screen model; default: AIRLOCK_UPSTREAM_BASE_URL'),
  AIRLOCK_SCREEN_API_KEY: z.string().min(1).optional().describe('Key for the screen endpoint; default: OPENAI_API_KEY, but only when the screen shares the task upstream'),
  AIRLOCK_SCREEN_TIMEOUT_MS: PositiveInt.max(60_000).default(5_000).describe('One screen call, no retry; past it the text does not pass'),
  AIRLOCK_SCREEN_CALLS_PER_MINUTE: PositiveInt.max(1_000_000).default(60).describe('LLM10-5: screen model calls per API key (or ingest actor) per minute; cache hits are free'),
  AIRLOCK_SCREEN_CACHE_ENTRIES: PositiveInt.max(1_000_000).default(10_000).describe('Verdicts kept per process, by text hash'),
  AIRLOCK_SCREEN_CACHE_TTL_SECONDS: PositiveInt.max(7 * 86_400).default(3_600),
  AIRLOCK_SCREEN_INGEST: Flag.default(false).describe('Screen every chunk of an ingested document: unsafe quarantines it, no verdict refuses the upload (503)'),
  AIRLOCK_IDEMPOTENCY_TTL_HOURS: PositiveInt.max(24 * 30).default(24),
  AIRLOCK_AUDIT_RETENTION_DAYS: PositiveInt.max(3650).default(180).describe('B12: audit rows older than this are purged by the retention job'),
  AIRLOCK_RETENTION_INTERVAL_MINUTES: PositiveInt.max(24 * 60).default(60).describe('B12: how often the server runs the retention job'),
  AIRLOCK_IDEMPOTENCY_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  AIRLOCK_RATE_REQUESTS_PER_MINUTE: PositiveInt.default(120),
  AIRLOCK_RATE_TOKENS_PER_DAY: PositiveInt.default(2_000_000),
  AIRLOCK_RATE_AUTH_FAILURES_PER_MINUTE: PositiveInt.default(30),
  AIRLOCK_MAX_CONCURRENT_PER_KEY: PositiveInt.max(10_000).default(16).describe('LLM10-6: task executions one API key may have running at once'),
  AIRLOCK_SHUTDOWN_GRACE_MS: PositiveInt.max(120_000).default(10_000),
  AIRLOCK_PROCESSES: z
    .string()
    .regex(/^(auto|[1-9]\d*)$/, "must be a whole number of processes, or 'auto' for one per CPU")
    .transform((value) => (value === 'auto' ? availableParallelism() : Number(value)))
    .pipe(z.number().max(256, 'must be at most 256'))
    .default(1)
    .describe('Server processes on this machine (node:cluster workers sharing one port); auto: one per CPU'),
  AIRLOCK_TRUST_PROXY: AddressList.optional().describe('Reverse proxies whose X-Forwarded-For names the client (per-IP limits, RL-3); unset: none'),
  AIRLOCK_DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  AIRLOCK_REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').optional(),
  AIRLOCK_SECRET_KEY: SecretKey.optional().describe('SIG-7: encrypts signing secrets at rest; required in production, generated into the data dir otherwise'),
  AIRLOCK_SECRET_KEY_PREVIOUS: SecretKey.optional().describe('The key being rotated out: still opens secrets until `airlock keys reseal` has run'),
  AIRLOCK_WEBHOOK_ALLOW_HOSTS: z
    .string()
    .default('')
    .transform((value): readonly string[] => Object.freeze(value.split(',').map((host) => host.trim()).filter((host) => host !== '')))
    .describe('API7: hosts webhooks may reach over plain http or at private addresses (e.g. 127.0.0.1 for tests)'),
  AIRLOCK_WEBHOOK_TIMEOUT_MS: PositiveInt.max(60_000).default(15_000),
  AIRLOCK_WEBHOOK_MAX_ATTEMPTS: PositiveInt.max(30).default(10).describe('Attempts per delivery before it is dead-lettered'),
  AIRLOCK_WEBHOOK_RETRY_BASE_MS: PositiveInt.max(3_600_000).default(30_000).describe('First retry delay; doubles per attempt, with jitter, up to an hour'),
  AIRLOCK_WEBHOOK_POLL_MS: PositiveInt.max(60_000).default(1_000),
}).superRefine((config, ctx) => {
  // A generated key file beside the database would protect nothing a production attacker with the disk could not read.
  if (config.AIRLOCK_ENV === 'production' && config.AIRLOCK_SECRET_KEY === undefined) {
    ctx.addIssue({ code: 'custom', path: ['AIRLOCK_SECRET_KEY'], message: 'is required when AIRLOCK_ENV=production' });
  }
  // Never N budgets silently: PostgreSQL alone has no shared counters, so each process would enforce its own limits.
  if (config.AIRLOCK_PROCESSES > 1 && config.AIRLOCK_DATABASE_URL !== undefined && config.AIRLOCK_REDIS_URL === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['AIRLOCK_PROCESSES'],
      message: `${config.AIRLOCK_PROCESSES} processes on PostgreSQL need AIRLOCK_REDIS_URL: rate limits, token budgets and concurrency caps are shared through Redis, and without it every process would enforce them on its own (${config.AIRLOCK_PROCESSES} × each limit)`,
    });
  }
  // LLM03-3: a typo or an unreviewed model swap fails at startup instead of silently changing what answers.
  // The offline provider and the local embedder call no upstream, so they need no entry.
  const allowed = config.AIRLOCK_ALLOWED_MODELS;
  const notAllowed = (id: string): string => `'${id}' is not on AIRLOCK_ALLOWED_MODELS (${allowed.join(', ')})`;
  const upstreamChat = config.OPENAI_API_KEY !== undefined || config.AIRLOCK_UPSTREAM_BASE_URL !== undefined;
  if (upstreamChat && !allowed.includes(config.AIRLOCK_MODEL)) {
    ctx.addIssue({ code: 'custom', path: ['AIRLOCK_MODEL'], message: notAllowed(config.AIRLOCK_MODEL) });
  }
  const screen = config.AIRLOCK_SCREEN_MODEL;
  if (screen !== undefined && !allowed.includes(screen)) {
    ctx.addIssue({ code: 'custom', path: ['AIRLOCK_SCREEN_MODEL'], message: notAllowed(screen) });
  }
  if (screen !== undefined && config.AIRLOCK_SCREEN_BASE_URL === undefined && !upstreamChat) {
    ctx.addIssue({ code: 'custom', path: ['AIRLOCK_SCREEN_BASE_URL'], message: 'is required for AIRLOCK_SCREEN_MODEL when no task upstream is configured' });
  }
  if (screen === undefined && config.AIRLOCK_SCREEN_INGEST) {
    ctx.addIssue({ code: 'custom', path: ['AIRLOCK_SCREEN_INGEST'], message: 'needs AIRLOCK_SCREEN_MODEL' });
  }
  // Setting an embeddings model always selects the upstream embedder, with or without a key.
  const embeddings = config.AIRLOCK_EMBEDDINGS_MODEL;
  if (embeddings !== undefined && !allowed.includes(embeddings)) {
    ctx.addIssue({ code: 'custom', path: ['AIRLOCK_EMBEDDINGS_MODEL'], message: notAllowed(embeddings) });
  }
});
export type Config = Readonly<z.infer<typeof ConfigSchema>>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reads only the variables the schema names, so unrelated environment never trips the strict parse. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const known = Object.fromEntries(
    Object.keys(ConfigSchema.shape)
      .filter((name) => env[name] !== undefined && env[name] !== '')
      .map((name) => [name, env[name]]),
  );
  const parsed = ConfigSchema.safeParse(known);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  return Object.freeze(parsed.data);
}

/** The folders the bundled defaults (./data, ./corpus, ./tasks) point at, and whether the process cannot run without one. */
const BUNDLED_FOLDERS = [
  { variable: 'AIRLOCK_DATA_DIR', folder: 'data', required: false },
  { variable: 'AIRLOCK_CORPUS_DIR', folder: 'corpus', required: false },
  { variable: 'AIRLOCK_TASKS_DIR', folder: 'tasks', required: true },
] as const;

/**
 * The defaults are relative to where the process runs. Started elsewhere (a service manager, `node
 * /opt/airlock/dist/src/main.js`, the CLI from another folder), the server and the CLI both fall back to the package's
 * own folders, so they find the bundled tasks and share one database; a required folder found nowhere is named with
 * the variable to set.
 */
export function withBundledFolders(
  env: Readonly<Record<string, string | undefined>>,
  where: { readonly cwd: string; readonly root: string | undefined } = { cwd: process.cwd(), root: packageRoot() },
): Record<string, string | undefined> {
  const resolved: Record<string, string | undefined> = { ...env };
  for (const { variable, folder, required } of BUNDLED_FOLDERS) {
    if ((env[variable] ?? '') !== '' || existsSync(join(where.cwd, folder))) continue;
    if (where.root !== undefined && existsSync(join(where.root, folder))) resolved[variable] = join(where.root, folder);
    else if (required) throw new ConfigError(`no ${folder} folder in ${where.cwd}${where.root === undefined ? '' : ` or ${where.root}`}; set ${variable}`);
  }
  return resolved;
}

/**
 * AIRLOCK_* variables the schema does not know: almost always a typo (AIRLOCK_UPSTREAM_BASEURL), which the strict
 * parse cannot see because it reads only the names it knows. Each comes with the nearest known name when one is close.
 */
export function unknownVariables(env: Readonly<Record<string, string | undefined>>): Array<{ name: string; suggestion?: string }> {
  const known = Object.keys(ConfigSchema.shape);
  return Object.keys(env)
    .filter((name) => name.startsWith('AIRLOCK_') && !known.includes(name))
    .sort()
    .map((name) => {
      const nearest = known
        .map((candidate) => ({ candidate, distance: editDistance(name, candidate) }))
        .sort((a, b) => a.distance - b.distance)[0];
      return nearest !== undefined && nearest.distance <= 3 ? { name, suggestion: nearest.candidate } : { name };
    });
}

/** Levenshtein distance, for suggesting the variable a typo meant. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(substitution, (previous[j] as number) + 1, (current[j - 1] as number) + 1));
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/** One line naming each unknown AIRLOCK_* variable, for the start-up warning and `airlock doctor`. */
export function describeUnknownVariables(unknown: ReadonlyArray<{ name: string; suggestion?: string }>): string {
  return unknown.map(({ name, suggestion }) => (suggestion === undefined ? name : `${name} (did you mean ${suggestion}?)`)).join(', ');
}

