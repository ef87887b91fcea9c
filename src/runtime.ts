// Opens everything a process needs from a parsed Config: the store, the corpus, the embedder, the models, the
// task definitions and the checks. main.ts and the CLI share it so both see the same database the same way.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Config } from './config.js';
import { openSqliteStore } from './store/sqlite/index.js';
import type { SqliteDatabase } from './store/sqlite/db.js';
import { CORPUS_MIGRATIONS } from './store/sqlite/corpus-schema.js';
import { openPostgresCorpus, openSqliteCorpus } from './corpus/open.js';
import { openPostgresStore } from './store/postgres/index.js';
import { openRedis, redisConcurrencyStore, redisRateLimiters, withRedis } from './store/redis/index.js';
import { createSqliteConcurrencyStore, createSqliteRateLimiters } from './store/sqlite/rate-limits.js';
import type { Corpus } from './corpus/corpus.js';
import type { CorpusOpenOptions } from './corpus/open.js';
import type { Store } from './store/types.js';
import { createHashingEmbedder } from './retrieval/embedders/hashing.js';
import { DEFAULT_CHUNKING } from './retrieval/chunking.js';
import { createOpenAiEmbedder } from './retrieval/embedders/openai.js';
import type { Embedder } from './retrieval/types.js';
import { createOfflineModel, offlineRefusal } from './model/offline.js';
import { createOpenAIModel, upstreamDeadlineMs } from './model/openai.js';
import type { ModelClient } from './model/types.js';
import { createCheckRegistry } from './guard/registry.js';
import { builtInChecks } from './guard/checks/index.js';
import { modelScreenCheck } from './guard/checks/model-screen.js';
import { createTextScreen, type TextScreen } from './guard/model-screen.js';
import { createScreenClassifier } from './model/screen-classifier.js';
import type { CheckRegistry } from './guard/types.js';
import { loadTaskFolders } from './tasks/load.js';
import { compileTask, type TaskCompileDeps } from './tasks/compile.js';
import { importTaskFolders, openManagedTaskRegistry, type ManagedTaskRegistry } from './tasks/managed.js';
import type { TaskDefinition } from './tasks/types.js';
import { createRateLimits, createScreenCallBudget, type ConcurrencyStore, type RateLimiterStore, type RateLimiterStoreFactory } from './security/rate-limit.js';
import { createSecretBox, parseSecretKey, readOrCreateKeyFile, type SecretBox } from './security/secret-box.js';
import type { AppDeps } from './app.js';
import type { RetentionPolicy } from './retention.js';
import { parseAllowHosts } from './webhooks/url-safety.js';
import { sendWebhook } from './webhooks/send.js';
import { DEFAULT_RETRY_SCHEDULE, createDeliveryWorker, type DeliveryWorker } from './webhooks/worker.js';
import type { Metrics } from './metrics.js';
import type { Logger } from 'pino';

export interface Runtime {
  readonly config: Config;
  readonly store: Store;
  readonly corpus: Corpus;
  /**
   * Rate-limit counters every process shares: in Redis when AIRLOCK_REDIS_URL is set, otherwise in the SQLite file;
   * undefined only on PostgreSQL without Redis, where each process counts alone (AIRLOCK_PROCESSES > 1 is refused there).
   */
  readonly rateLimiterStore: RateLimiterStoreFactory | undefined;
  /** Per-key execution slots, shared the same way as the counters. */
  readonly concurrencyStore: ConcurrencyStore | undefined;
  /** The embedded database, for `airlock doctor`'s sqlite-vec check; undefined on PostgreSQL. */
  readonly sqliteDb: SqliteDatabase | undefined;
  readonly embedder: Embedder;
  readonly model: ModelClient;
  /** Upstream models a task may name by id (every allowed id, when an upstream is configured). */
  readonly namedModels: ReadonlyMap<string, ModelClient>;
  readonly checks: CheckRegistry;
  /** The active version of every task, from the store; folders are imported at start (see importTaskFolders). */
  readonly tasks: ManagedTaskRegistry;
  readonly taskCompileDeps: TaskCompileDeps;
  readonly clock: () => Date;
  readonly newId: () => string;
  readonly random: (bytes: number) => Buffer;
  close(): Promise<void>;
}

/** The app's dependencies from an open runtime and its config: one wiring for the server and the load benchmark. */
export function appDepsFromRuntime(
  runtime: Runtime,
  extras: { readonly logger: Logger; readonly metrics: Metrics; readonly version: string; readonly notReadyReason?: () => Promise<string | undefined> },
): AppDeps {
  const { config } = runtime;
  return {
    environment: config.AIRLOCK_ENV,
    version: extras.version,
    bodyLimitBytes: config.AIRLOCK_BODY_LIMIT_BYTES,
    ...(config.AIRLOCK_TRUST_PROXY === undefined ? {} : { trustProxy: config.AIRLOCK_TRUST_PROXY }),
    uploadLimitBytes: config.AIRLOCK_UPLOAD_LIMIT_BYTES,
    idempotencyTtlMs: config.AIRLOCK_IDEMPOTENCY_TTL_HOURS * 3_600_000,
    idempotencyWaitMs: config.AIRLOCK_IDEMPOTENCY_WAIT_MS,
    // The upstream call cannot outlive its deadline (B3); the margin covers retrieval, checks and the store.
    requestDeadlineMs: callDeadlineMs(config) + 5_000,
    store: runtime.store,
    corpus: runtime.corpus,
    retriever: runtime.corpus.retriever,
    model: runtime.model,
    namedModels: runtime.namedModels,
    tasks: runtime.tasks,
    taskCompileDeps: runtime.taskCompileDeps,
    checks: runtime.checks,
    limits: createRateLimits({
      requestsPerMinute: config.AIRLOCK_RATE_REQUESTS_PER_MINUTE,
      tokensPerDay: config.AIRLOCK_RATE_TOKENS_PER_DAY,
      authFailuresPerMinutePerIp: config.AIRLOCK_RATE_AUTH_FAILURES_PER_MINUTE,
      concurrentPerKey: config.AIRLOCK_MAX_CONCURRENT_PER_KEY,
      // A slot a dead process still holds frees itself once any request of its would be over.
      slotLeaseMs: 2 * (callDeadlineMs(config) + 5_000),
      random: Math.random,
      ...(runtime.rateLimiterStore === undefined ? {} : { storeFactory: runtime.rateLimiterStore }),
      ...(runtime.concurrencyStore === undefined ? {} : { concurrencyStore: runtime.concurrencyStore }),
    }),
    logger: extras.logger,
    metrics: extras.metrics,
    clock: runtime.clock,
    newId: runtime.newId,
    random: runtime.random,
    webhookAllowHosts: parseAllowHosts(config.AIRLOCK_WEBHOOK_ALLOW_HOSTS),
    webhookTimeoutMs: config.AIRLOCK_WEBHOOK_TIMEOUT_MS,
    ...(extras.notReadyReason === undefined ? {} : { notReadyReason: extras.notReadyReason }),
  };
}

/** B12: how long audit rows are kept, for the server's retention job and `airlock maintenance purge` alike. */
export const retentionPolicy = (config: Config): RetentionPolicy => ({ auditRetentionMs: config.AIRLOCK_AUDIT_RETENTION_DAYS * 86_400_000 });

/** The one deadline of an upstream model call, retries and Retry-After waits included (B3). */
const callDeadlineMs = (config: Config): number =>
  config.AIRLOCK_UPSTREAM_DEADLINE_MS ?? upstreamDeadlineMs(config.AIRLOCK_UPSTREAM_TIMEOUT_MS, config.AIRLOCK_UPSTREAM_MAX_RETRIES);

/** The outbox worker of this process, configured from the environment; main.ts starts it and stops it on shutdown. */
export function createWebhookWorker(runtime: Runtime, hooks: { readonly metrics: Metrics; readonly onError: (error: unknown) => void }): DeliveryWorker {
  const { config } = runtime;
  const allowHosts = parseAllowHosts(config.AIRLOCK_WEBHOOK_ALLOW_HOSTS);
  return createDeliveryWorker({
    store: runtime.store.webhooks,
    send: (message) => sendWebhook(message, { allowHosts, timeoutMs: config.AIRLOCK_WEBHOOK_TIMEOUT_MS, clock: runtime.clock }),
    clock: runtime.clock,
    random: Math.random,
    newLeaseToken: runtime.newId,
    timers: { setTimeout: (callback, ms) => setTimeout(callback, ms), clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout) },
    schedule: { ...DEFAULT_RETRY_SCHEDULE, maxAttempts: config.AIRLOCK_WEBHOOK_MAX_ATTEMPTS, baseDelayMs: config.AIRLOCK_WEBHOOK_RETRY_BASE_MS },
    // Past the send timeout with a margin, so a live worker keeps its lease for the whole attempt.
    leaseMs: 2 * config.AIRLOCK_WEBHOOK_TIMEOUT_MS + 5_000,
    pollMs: config.AIRLOCK_WEBHOOK_POLL_MS,
    onAttempt: (outcome) => hooks.metrics.webhookAttempt(outcome),
    onError: hooks.onError,
  });
}

export const databasePath = (config: Config): string => join(resolve(config.AIRLOCK_DATA_DIR), 'airlock.db');

/**
 * SIG-7: the at-rest key. Production must supply AIRLOCK_SECRET_KEY (config refuses to start without it); elsewhere
 * a key is generated once into the data dir, owner-readable only, so a development setup needs no configuration.
 */
export function openSecretBox(config: Config): SecretBox {
  const previousKeys = config.AIRLOCK_SECRET_KEY_PREVIOUS === undefined ? [] : [parseSecretKey(config.AIRLOCK_SECRET_KEY_PREVIOUS)];
  if (config.AIRLOCK_SECRET_KEY !== undefined) return createSecretBox({ key: parseSecretKey(config.AIRLOCK_SECRET_KEY), previousKeys, random: randomBytes });
  const dataDir = resolve(config.AIRLOCK_DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  return createSecretBox({ key: readOrCreateKeyFile(join(dataDir, 'secret.key'), randomBytes), previousKeys, random: randomBytes });
}

export function createEmbedder(config: Config): Embedder {
  if (config.AIRLOCK_EMBEDDINGS_MODEL === undefined) return createHashingEmbedder();
  return createOpenAiEmbedder({
    apiKey: config.OPENAI_API_KEY ?? 'not-needed',
    model: config.AIRLOCK_EMBEDDINGS_MODEL,
    dimension: config.AIRLOCK_EMBEDDINGS_DIMENSION,
    ...(config.AIRLOCK_UPSTREAM_BASE_URL === undefined ? {} : { baseURL: config.AIRLOCK_UPSTREAM_BASE_URL }),
    timeoutMs: config.AIRLOCK_UPSTREAM_TIMEOUT_MS,
    maxRetries: config.AIRLOCK_UPSTREAM_MAX_RETRIES,
  });
}

const upstreamConfigured = (config: Config): boolean => config.OPENAI_API_KEY !== undefined || config.AIRLOCK_UPSTREAM_BASE_URL !== undefined;

/** The OpenAI provider when a key or an OpenAI-compatible base URL is configured, otherwise the offline provider. */
export function createModel(config: Config, onAttempt?: () => void, model: string = config.AIRLOCK_MODEL): ModelClient {
  if (!upstreamConfigured(config)) return createOfflineModel();
  return createOpenAIModel({
    // Local servers (Ollama, vLLM, llama.cpp) ignore the key, but the SDK requires one.
    apiKey: config.OPENAI_API_KEY ?? 'not-needed',
    ...(config.AIRLOCK_UPSTREAM_BASE_URL === undefined ? {} : { baseURL: config.AIRLOCK_UPSTREAM_BASE_URL }),
    model,
    timeoutMs: config.AIRLOCK_UPSTREAM_TIMEOUT_MS,
    maxRetries: config.AIRLOCK_UPSTREAM_MAX_RETRIES,
    deadlineMs: callDeadlineMs(config),
    ...(onAttempt === undefined ? {} : { onAttempt }),
  });
}

/**
 * LLM01-5: the model screen when AIRLOCK_SCREEN_MODEL is set, otherwise undefined (off: no call is ever made). The
 * endpoint defaults to the task upstream; its key too, but only when the screen shares that upstream, so the task
 * provider's key never travels to another host. The call budget counts in `budgetStore` (Redis: one count for all).
 */
export function createModelScreen(config: Config, budgetStore?: RateLimiterStoreFactory, onAttempt?: () => void): TextScreen | undefined {
  const model = config.AIRLOCK_SCREEN_MODEL;
  if (model === undefined) return undefined;
  const baseURL = config.AIRLOCK_SCREEN_BASE_URL ?? config.AIRLOCK_UPSTREAM_BASE_URL;
  const apiKey = config.AIRLOCK_SCREEN_API_KEY ?? (config.AIRLOCK_SCREEN_BASE_URL === undefined ? config.OPENAI_API_KEY : undefined);
  const budget = createScreenCallBudget({ callsPerMinute: config.AIRLOCK_SCREEN_CALLS_PER_MINUTE, random: Math.random, ...(budgetStore === undefined ? {} : { storeFactory: budgetStore }) });
  return createTextScreen({
    classify: createScreenClassifier({
      // Local servers (Ollama, vLLM) ignore the key, but the SDK requires one.
      apiKey: apiKey ?? 'not-needed',
      ...(baseURL === undefined ? {} : { baseURL }),
      model,
      format: config.AIRLOCK_SCREEN_FORMAT,
      timeoutMs: config.AIRLOCK_SCREEN_TIMEOUT_MS,
      ...(onAttempt === undefined ? {} : { onAttempt }),
    }),
    budget,
    now: Date.now,
    cacheEntries: config.AIRLOCK_SCREEN_CACHE_ENTRIES,
    cacheTtlMs: config.AIRLOCK_SCREEN_CACHE_TTL_SECONDS * 1000,
    cacheScope: `${config.AIRLOCK_SCREEN_FORMAT}:${baseURL ?? ''}:${model}`,
  });
}

/** Every registered check, `model_screen` bound to the screen (or refusing policies that name it when there is none). */
export const checkRegistryFor = (screen: TextScreen | undefined): CheckRegistry => createCheckRegistry([...builtInChecks, modelScreenCheck(screen)]);

export interface OpenRuntimeOptions {
  readonly onUpstreamAttempt?: () => void;
  /** Failures in background work (the corpus replica's LISTEN connection); requests report their own. */
  readonly onBackgroundError?: (error: unknown) => void;
}

/** The system of record: PostgreSQL when AIRLOCK_DATABASE_URL is set, otherwise the embedded SQLite file. */
async function openStores(config: Config, corpusOptions: CorpusOpenOptions, onBackgroundError?: (error: unknown) => void): Promise<{ store: Store; corpus: Corpus; sqliteDb?: SqliteDatabase }> {
  const secretBox = openSecretBox(config);
  if (config.AIRLOCK_DATABASE_URL === undefined) {
    mkdirSync(resolve(config.AIRLOCK_DATA_DIR), { recursive: true });
    const store = openSqliteStore({
      path: databasePath(config),
      extraMigrations: CORPUS_MIGRATIONS,
      synchronous: config.AIRLOCK_SQLITE_SYNCHRONOUS,
      secretBox,
      ...(config.AIRLOCK_SQLITE_VEC_SHA256 === undefined ? {} : { expectedExtensionSha256: config.AIRLOCK_SQLITE_VEC_SHA256 }),
    });
    try {
      return { store, corpus: openSqliteCorpus(store.db, { ...corpusOptions, ...(onBackgroundError === undefined ? {} : { onBackgroundError }) }), sqliteDb: store.db };
    } catch (error) {
      await store.close();
      throw error;
    }
  }
  const store = await openPostgresStore({ url: config.AIRLOCK_DATABASE_URL, secretBox });
  try {
    const corpus = await openPostgresCorpus({
      ...corpusOptions,
      pool: store.pool,
      listenUrl: config.AIRLOCK_DATABASE_URL,
      ...(onBackgroundError === undefined ? {} : { onBackgroundError }),
    });
    return { store, corpus };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** What task folders are checked against: the registered checks and the models this deployment may use. */
export const taskCompileDeps = (config: Pick<Config, 'AIRLOCK_ALLOWED_MODELS'>, checks: CheckRegistry): TaskCompileDeps => ({
  checks,
  allowedModels: config.AIRLOCK_ALLOWED_MODELS,
  offlineRefusal,
});

/** Which model serves a task, and whether the offline provider can fill it when no upstream is configured. */
export const describeServing = (task: TaskDefinition) => {
  const offline = offlineRefusal(task.modelTask);
  const model = task.spec.model ?? 'the configured model';
  return {
    name: task.name,
    input_versions: Object.keys(task.inputSchemas),
    model,
    offline: offline === undefined ? 'fills it' : `cannot fill it: ${offline}`,
    serving: offline === undefined ? `model: ${model} (offline fills it)` : `model: ${model} (offline cannot fill it: 503 model_not_configured without an upstream)`,
  };
};

/** A task may name any allowed upstream id; each gets its own client, built only when an upstream is configured. */
function namedUpstreamModels(config: Config, onAttempt?: () => void): ReadonlyMap<string, ModelClient> {
  if (!upstreamConfigured(config)) return new Map();
  return new Map(config.AIRLOCK_ALLOWED_MODELS.map((id) => [id, createModel(config, onAttempt, id)]));
}

/** What `airlock doctor` says about AIRLOCK_PROCESSES: how many processes, and where the limits they share are kept. */
export function describeProcesses(config: Pick<Config, 'AIRLOCK_PROCESSES' | 'AIRLOCK_DATABASE_URL' | 'AIRLOCK_REDIS_URL'>): string {
  const limits =
    config.AIRLOCK_REDIS_URL !== undefined ? 'shared through Redis' : config.AIRLOCK_DATABASE_URL === undefined ? 'shared through the SQLite file' : 'counted by each process alone (PostgreSQL without Redis)';
  const processes = config.AIRLOCK_PROCESSES === 1 ? '1 process' : `${config.AIRLOCK_PROCESSES} worker processes (node:cluster) on one port`;
  return `${processes}; rate limits, token budgets and concurrency caps ${limits}`;
}

/** Where the counters every process must share live: Redis first, else the SQLite file, else (PostgreSQL alone) memory. */
function sharedLimitStores(redis: ReturnType<typeof openRedis> | undefined, sqliteDb: SqliteDatabase | undefined, clock: () => Date): Pick<Runtime, 'rateLimiterStore' | 'concurrencyStore'> {
  if (redis !== undefined) return { rateLimiterStore: redisRateLimiters(redis), concurrencyStore: redisConcurrencyStore(redis) };
  if (sqliteDb !== undefined) return { rateLimiterStore: createSqliteRateLimiters(sqliteDb, clock), concurrencyStore: createSqliteConcurrencyStore(sqliteDb, clock) };
  return { rateLimiterStore: undefined, concurrencyStore: undefined };
}

/** A factory whose stores are built by the factory `bind` returns at their first use, for limiters made before it exists. */
function boundOnFirstUse(bind: () => RateLimiterStoreFactory | undefined): RateLimiterStoreFactory {
  return (options) => {
    let bound: RateLimiterStore | undefined;
    const store = (): RateLimiterStore => {
      const factory = bind();
      if (factory === undefined) throw new Error('a shared limiter was used before the store opened');
      return (bound ??= factory(options));
    };
    return {
      consume: (key, points) => store().consume(key, points),
      penalty: (key, points) => store().penalty(key, points),
      reward: (key, points) => store().reward(key, points),
      get: (key) => store().get(key),
    };
  };
}

export async function openRuntime(config: Config, options: OpenRuntimeOptions = {}): Promise<Runtime> {
  // Opened first (it connects lazily) so the model screen's call budget counts in Redis with every other limit.
  const redis = config.AIRLOCK_REDIS_URL === undefined ? undefined : openRedis(config.AIRLOCK_REDIS_URL);
  try {
    return await openRuntimeWith(config, options, redis);
  } catch (error) {
    redis?.disconnect();
    throw error;
  }
}

async function openRuntimeWith(config: Config, options: OpenRuntimeOptions, redis: ReturnType<typeof openRedis> | undefined): Promise<Runtime> {
  // The screen exists before the database opens (ingestion uses it); on the embedded store its call budget binds to the
  // file's shared counters at its first call, so N processes never get N screen budgets either.
  let limitStores: Pick<Runtime, 'rateLimiterStore' | 'concurrencyStore'> | undefined;
  const screenBudgetStore = redis !== undefined ? redisRateLimiters(redis) : config.AIRLOCK_DATABASE_URL === undefined ? boundOnFirstUse(() => limitStores?.rateLimiterStore) : undefined;
  const screen = createModelScreen(config, screenBudgetStore, options.onUpstreamAttempt);
  const checks = checkRegistryFor(screen);
  const compileDeps = taskCompileDeps(config, checks);
  // Fail closed before touching the database: an invalid folder stops the process, naming file and pointer.
  const folders = loadTaskFolders(config.AIRLOCK_TASKS_DIR, compileDeps);
  const clock = (): Date => new Date();
  const newId = (): string => randomUUID();
  const embedder = createEmbedder(config);
  const opened = await openStores(
    config,
    {
      embedder,
      clock,
      newId,
      chunking: DEFAULT_CHUNKING,
      maxDocumentBytes: config.AIRLOCK_UPLOAD_LIMIT_BYTES,
      ...(config.AIRLOCK_SCREEN_INGEST && screen !== undefined ? { screen } : {}),
    },
    options.onBackgroundError,
  );
  const store = redis === undefined ? opened.store : withRedis(opened.store, redis);
  const { corpus } = opened;
  let tasks: ManagedTaskRegistry;
  try {
    await importTaskFolders(store.tasks, folders, clock().toISOString());
    tasks = await openManagedTaskRegistry(store.tasks, (record) => compileTask(record.name, record.files, compileDeps, record.version));
  } catch (error) {
    await corpus.close();
    await store.close();
    throw error;
  }
  limitStores = sharedLimitStores(redis, opened.sqliteDb, clock);
  return {
    config,
    store,
    corpus,
    ...limitStores,
    sqliteDb: opened.sqliteDb,
    embedder,
    model: createModel(config, options.onUpstreamAttempt),
    namedModels: namedUpstreamModels(config, options.onUpstreamAttempt),
    checks,
    tasks,
    taskCompileDeps: compileDeps,
    clock,
    newId,
    random: randomBytes,
    async close() {
      await corpus.close();
      await store.close();
    },
  };
}
