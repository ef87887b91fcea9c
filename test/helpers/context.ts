// Builds a real app for tests: a fresh SQLite file with sqlite-vec, the fixture corpus ingested and approved, the
// bundled task folders and checks, and logs captured in memory. No ports; supertest drives the app directly.
import type { Corpus } from '../../src/corpus/corpus.js';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { capture } from './capture.js';
import type { Express } from 'express';
import { createApp } from '../../src/app.js';
import { createLogger } from '../../src/logger.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.js';
import { CORPUS_MIGRATIONS } from '../../src/store/sqlite/corpus-schema.js';
import { openSqliteCorpus } from '../../src/corpus/open.js';
import { createHashingEmbedder } from '../../src/retrieval/embedders/hashing.js';
import { DEFAULT_CHUNKING } from '../../src/retrieval/chunking.js';
import { ingestPath } from '../../src/corpus/files.js';
import { createOfflineModel } from '../../src/model/offline.js';
import type { ModelClient } from '../../src/model/types.js';
import { createCheckRegistry } from '../../src/guard/registry.js';
import { loadTaskFolders } from '../../src/tasks/load.js';
import { createTaskRegistry } from '../../src/tasks/registry.js';
import { importTaskFolders, openManagedTaskRegistry } from '../../src/tasks/managed.js';
import { compileTask } from '../../src/tasks/compile.js';
import { offlineRefusal } from '../../src/model/offline.js';
import { createRateLimits } from '../../src/security/rate-limit.js';
import { createSqliteConcurrencyStore, createSqliteRateLimiters } from '../../src/store/sqlite/rate-limits.js';
import { createKeyAdmin } from '../../src/admin/keys.js';
import { createMetrics } from '../../src/metrics.js';
import type { Environment } from '../../src/store/types.js';
import { checkRegistryFor, openSecretBox } from '../../src/runtime.js';
import type { TextScreen } from '../../src/guard/model-screen.js';
import { loadConfig } from '../../src/config.js';
import { createSecretBox, type SecretBox } from '../../src/security/secret-box.js';

/** The at-rest key a development server on `dir` would use (generated into dir/secret.key), so CLI runs and child processes on the same dir read the same rows. */
export const dataDirSecretBox = (dir: string): SecretBox => openSecretBox(loadConfig({ AIRLOCK_DATA_DIR: dir }));

/** A box under a fresh random key, for stores no other process opens. */
export const freshSecretBox = (): SecretBox => createSecretBox({ key: randomBytes(32), random: randomBytes });

export const FIXTURE_CORPUS = join(import.meta.dirname, '..', 'fixtures', 'support-corpus');
export const BUNDLED_TASKS = join(import.meta.dirname, '..', '..', 'tasks');

const editedTaskCopies: string[] = [];
// Callers hand the copy to contexts that outlive any one test, so the copies go when the test file's process ends.
process.once('exit', () => {
  for (const dir of editedTaskCopies) rmSync(dir, { recursive: true, force: true });
});

/** A temporary copy of the bundled task folders with each named task.json edited in place; returns the copy's path (removed when the process exits). */
export function editedBundledTasks(edits: Readonly<Record<string, (spec: Record<string, unknown>) => void>>): string {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-tasks-'));
  editedTaskCopies.push(dir);
  cpSync(BUNDLED_TASKS, dir, { recursive: true });
  for (const [task, edit] of Object.entries(edits)) {
    const file = join(dir, task, 'task.json');
    const spec = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    edit(spec);
    writeFileSync(file, JSON.stringify(spec, null, 2));
  }
  return dir;
}

/** The bundled task folders, compiled as the server does (the default allowed model list). */
export const loadBundledTasks = (dir: string = BUNDLED_TASKS) =>
  createTaskRegistry(loadTaskFolders(dir, { checks: createCheckRegistry(), allowedModels: ['gpt-4o-mini'], offlineRefusal }));

export interface TestContextOptions {
  readonly model?: ModelClient;
  readonly environment?: Environment;
  readonly corpusDir?: string | null;
  readonly requestsPerMinute?: number;
  readonly authFailuresPerMinutePerIp?: number;
  readonly tokensPerDay?: number;
  readonly concurrentPerKey?: number;
  readonly bodyLimitBytes?: number;
  readonly idempotencyWaitMs?: number;
  readonly clock?: () => Date;
  readonly dir?: string;
  /** AIRLOCK_TRUST_PROXY: addresses whose X-Forwarded-For is believed. */
  readonly trustProxy?: readonly string[];
  readonly tasksDir?: string;
  /** The at-rest key; by default the one a development server on `dir` would generate. */
  readonly secretBox?: SecretBox;
  /** AIRLOCK_WEBHOOK_ALLOW_HOSTS for this app. */
  readonly webhookAllowHosts?: readonly string[];
  /** The model screen `model_screen` uses (createModelScreen); absent, as by default, the check is not configured. */
  readonly modelScreen?: TextScreen;
  /** Also screen ingested chunks with `modelScreen` (AIRLOCK_SCREEN_INGEST). */
  readonly screenIngest?: boolean;
  /** Keep rate-limit counters and execution slots in the SQLite file, as a server on the embedded store does; default in memory. */
  readonly limitsInFile?: boolean;
}

export interface TestContext {
  readonly app: Express;
  readonly store: SqliteStore;
  readonly corpus: Corpus;
  readonly dir: string;
  /** Every log line the app wrote, as text. */
  readonly logs: string[];
  createKey(scopes: readonly string[], options?: { environment?: Environment; signed?: boolean; expiresAt?: string }): Promise<{ id: string; key: string; signingSecret?: string }>;
  close(): Promise<void>;
}

export async function createTestContext(options: TestContextOptions = {}): Promise<TestContext> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'airlock-test-'));
  const store = openSqliteStore({ path: join(dir, 'airlock.db'), extraMigrations: CORPUS_MIGRATIONS, secretBox: options.secretBox ?? dataDirSecretBox(dir) });
  const clock = options.clock ?? ((): Date => new Date());
  const ingestScreen = options.screenIngest === true ? options.modelScreen : undefined;
  const corpus = openSqliteCorpus(store.db, { embedder: createHashingEmbedder(), clock, newId: randomUUID, chunking: DEFAULT_CHUNKING, ...(ingestScreen === undefined ? {} : { screen: ingestScreen }) });
  const corpusDir = options.corpusDir === undefined ? FIXTURE_CORPUS : options.corpusDir;
  if (corpusDir !== null) await ingestPath(corpus, corpusDir, { approve: true, actor: 'test' });
  const logCapture = capture();
  const logs = logCapture.writes;
  const destination = logCapture.stream;
  const checks = options.modelScreen === undefined ? createCheckRegistry() : checkRegistryFor(options.modelScreen);
  const environment = options.environment ?? 'development';
  const keyAdmin = createKeyAdmin({ keys: store.keys, environment, clock, random: randomBytes });
  // As at boot: the task folders are imported into the store and the active versions served from it.
  const compileDeps = { checks, allowedModels: ['gpt-4o-mini'], offlineRefusal };
  await importTaskFolders(store.tasks, loadTaskFolders(options.tasksDir ?? BUNDLED_TASKS, compileDeps), clock().toISOString());
  const app = createApp({
    environment,
    version: 'test',
    bodyLimitBytes: options.bodyLimitBytes ?? 64 * 1024,
    ...(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy }),
    uploadLimitBytes: 256 * 1024,
    idempotencyTtlMs: 24 * 3_600_000,
    idempotencyWaitMs: options.idempotencyWaitMs ?? 5_000,
    requestDeadlineMs: 30_000,
    store,
    corpus,
    retriever: corpus.retriever,
    model: options.model ?? createOfflineModel(),
    tasks: await openManagedTaskRegistry(store.tasks, (record) => compileTask(record.name, record.files, compileDeps, record.version)),
    taskCompileDeps: compileDeps,
    checks,
    limits: createRateLimits({
      requestsPerMinute: options.requestsPerMinute ?? 10_000,
      tokensPerDay: options.tokensPerDay ?? 10_000_000,
      authFailuresPerMinutePerIp: options.authFailuresPerMinutePerIp ?? 10_000,
      ...(options.concurrentPerKey === undefined ? {} : { concurrentPerKey: options.concurrentPerKey }),
      random: () => 0,
      ...(options.limitsInFile === true ? { storeFactory: createSqliteRateLimiters(store.db, clock), concurrencyStore: createSqliteConcurrencyStore(store.db, clock) } : {}),
    }),
    logger: createLogger({ level: 'info', destination }),
    metrics: createMetrics(),
    clock,
    newId: randomUUID,
    random: randomBytes,
    webhookAllowHosts: new Set(options.webhookAllowHosts ?? []),
    webhookTimeoutMs: 2_000,
  });
  return {
    app,
    store,
    corpus,
    dir,
    logs,
    async createKey(scopes, keyOptions = {}) {
      const created = await keyAdmin.create({
        name: `test-${randomUUID().slice(0, 8)}`,
        scopes: [...scopes],
        ...(keyOptions.environment === undefined ? {} : { environment: keyOptions.environment }),
        ...(keyOptions.expiresAt === undefined ? {} : { expires_at: keyOptions.expiresAt }),
        require_signature: keyOptions.signed ?? false,
      });
      return { id: created.id, key: created.key, ...(created.signing_secret === undefined ? {} : { signingSecret: created.signing_secret }) };
    },
    async close() {
      await store.close();
      if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

let eventCounter = 0;

/** A valid v1.0 envelope around `data`; override any member to make it invalid on purpose. */
export function envelope(data: Record<string, unknown>, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  eventCounter += 1;
  return { schema_version: '1.0', source: 'test', event_id: `evt_${eventCounter}`, timestamp: '2026-05-12T10:15:00Z', data, ...overrides };
}

export const rowCount = (ctx: TestContext, table: string): number =>
  (ctx.store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
