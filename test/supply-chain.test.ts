// Supply chain (LLM03): the sqlite-vec binary is verified by SHA-256 before it is loaded, upstream model ids are pinned
// to an allowlist, and each answer records the model snapshot the upstream reports.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type OpenAI from 'openai';
import request from 'supertest';
import { openDatabase } from '../src/store/sqlite/db.js';
import { CORE_MIGRATIONS } from '../src/store/sqlite/core-migrations.js';
import {
  ExtensionIntegrityError,
  PINNED_SQLITE_VEC_SHA256,
  SQLITE_VEC_VERSION,
  verifySqliteVecExtension,
} from '../src/store/sqlite/extension-integrity.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { createEmbedder, createModel } from '../src/runtime.js';
import { createOpenAIModel } from '../src/model/openai.js';
import { createOpenAiEmbedder } from '../src/retrieval/embedders/openai.js';
import { chatCompletion } from './helpers/mock-upstream.js';
import { createTestContext, envelope } from './helpers/context.js';
import { doc, openTestCorpus } from './fixtures/corpus/open-corpus.js';

const ROOT = join(import.meta.dirname, '..');
const sha256Of = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
const WRONG_SHA256 = 'ab'.repeat(32);

const dirs: string[] = [];
const children: ChildProcess[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-supply-'));
  dirs.push(dir);
  return dir;
};
after(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Runs the real entry point until it exits; a hang guard kills it if it starts listening instead. */
async function startupFailure(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', HOST: '127.0.0.1', AIRLOCK_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(guard);
  return { code, output };
}

describe('sqlite-vec extension integrity', () => {
  test('the pin table, when read, then holds a SHA-256 for each of the five published platform packages (LLM03-4)', () => {
    assert.deepEqual(Object.keys(PINNED_SQLITE_VEC_SHA256).sort(), ['darwin-arm64', 'darwin-x64', 'linux-arm64', 'linux-x64', 'win32-x64']);
    for (const hash of Object.values(PINNED_SQLITE_VEC_SHA256)) assert.match(hash, /^[0-9a-f]{64}$/);
    const version = (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'sqlite-vec', 'package.json'), 'utf8')) as { version: string }).version;
    assert.equal(version, SQLITE_VEC_VERSION, 'sqlite-vec was upgraded: refresh the pins in src/store/sqlite/extension-integrity.ts');
  });

  test('the installed binary, when hashed, then equals the pin for this platform (LLM03-4)', () => {
    const verified = verifySqliteVecExtension();
    assert.equal(verified.sha256, sha256Of(verified.path));
    assert.equal(verified.sha256, PINNED_SQLITE_VEC_SHA256[`${process.platform}-${process.arch}`]);
    assert.equal(verified.source, 'pinned');
    const linuxX64 = join(ROOT, 'node_modules', 'sqlite-vec-linux-x64', 'vec0.so');
    if (existsSync(linuxX64)) assert.equal(sha256Of(linuxX64), PINNED_SQLITE_VEC_SHA256['linux-x64']);
  });

  test('openDatabase, when the extension matches its pin, then opens a real file and sqlite-vec answers (LLM03-4)', () => {
    const path = join(tempDir(), 'pinned.db');
    const db = openDatabase({ path, migrations: CORE_MIGRATIONS });
    try {
      const { version } = db.prepare('select vec_version() AS version').get() as { version: string };
      assert.equal(version, `v${SQLITE_VEC_VERSION}`);
    } finally {
      db.close();
    }
  });

  test('openDatabase, when the operator override names the right hash, then opens with sqlite-vec loaded (LLM03-4)', () => {
    const path = join(tempDir(), 'override.db');
    const actual = sha256Of(verifySqliteVecExtension().path);
    const db = openDatabase({ path, migrations: CORE_MIGRATIONS, expectedExtensionSha256: actual });
    try {
      assert.equal((db.prepare('select vec_version()').pluck().get() as string).startsWith('v'), true);
    } finally {
      db.close();
    }
  });

  test('openDatabase, when the expected hash is wrong, then throws naming path and both hashes, and leaves the file unopened and unlocked (LLM03-4)', () => {
    const dir = tempDir();
    const path = join(dir, 'refused.db');
    const { path: extensionPath, sha256: actual } = verifySqliteVecExtension();

    assert.throws(
      () => openDatabase({ path, migrations: CORE_MIGRATIONS, expectedExtensionSha256: WRONG_SHA256 }),
      (error: unknown) => {
        assert.ok(error instanceof ExtensionIntegrityError);
        assert.ok(error.message.includes(extensionPath), error.message);
        assert.ok(error.message.includes(`expected SHA-256 ${WRONG_SHA256}`), error.message);
        assert.ok(error.message.includes(`actual ${actual}`), error.message);
        return true;
      },
    );
    // Refused before SQLite touched the path: no database, no WAL, nothing holding a lock.
    assert.equal(existsSync(path), false);
    assert.equal(existsSync(`${path}-wal`), false);
  });

  test('openDatabase, when an existing file is refused, then the same file still opens and takes a write lock afterwards (LLM03-4)', () => {
    const path = join(tempDir(), 'existing.db');
    openDatabase({ path, migrations: CORE_MIGRATIONS }).close();

    assert.throws(() => openDatabase({ path, migrations: CORE_MIGRATIONS, expectedExtensionSha256: WRONG_SHA256 }), ExtensionIntegrityError);

    const db = openDatabase({ path, migrations: CORE_MIGRATIONS });
    try {
      db.pragma('busy_timeout = 0');
      db.exec('BEGIN IMMEDIATE; CREATE TABLE probe (x INTEGER); COMMIT');
      assert.equal(db.prepare('SELECT count(*) FROM probe').pluck().get(), 0);
    } finally {
      db.close();
    }
  });

  test('verification, when the platform has no pin and no override is set, then fails closed naming the platform (LLM03-4)', () => {
    assert.throws(
      () => verifySqliteVecExtension({ platform: 'freebsd-x64' }),
      (error: unknown) => error instanceof ExtensionIntegrityError && /no pinned SHA-256 for platform freebsd-x64/.test(error.message),
    );
  });

  test('config, when AIRLOCK_SQLITE_VEC_SHA256 is not 64 hex characters, then is refused naming the variable (LLM03-4)', () => {
    assert.throws(() => loadConfig({ AIRLOCK_SQLITE_VEC_SHA256: 'abc123' }), (error: unknown) => error instanceof ConfigError && /AIRLOCK_SQLITE_VEC_SHA256/.test(error.message));
    const upper = PINNED_SQLITE_VEC_SHA256['linux-x64']!.toUpperCase();
    assert.equal(loadConfig({ AIRLOCK_SQLITE_VEC_SHA256: upper }).AIRLOCK_SQLITE_VEC_SHA256, upper.toLowerCase());
  });

  test('server startup, when AIRLOCK_SQLITE_VEC_SHA256 does not match the binary, then exits non-zero before listening and creates no database (LLM03-4)', { timeout: 90_000 }, async () => {
    const dataDir = tempDir();
    const { code, output } = await startupFailure({ AIRLOCK_DATA_DIR: dataDir, AIRLOCK_SQLITE_VEC_SHA256: WRONG_SHA256 });
    assert.equal(code, 1, output);
    assert.match(output, /failed its integrity check/);
    assert.match(output, /AIRLOCK_SQLITE_VEC_SHA256/);
    assert.ok(output.includes(WRONG_SHA256), output);
    assert.doesNotMatch(output, /listening/);
    assert.equal(existsSync(join(dataDir, 'airlock.db')), false);
  });
});

describe('model pinning', () => {
  test('config, when OPENAI_API_KEY is set and AIRLOCK_MODEL is not on the allowlist, then is refused naming the variable (LLM03-3)', () => {
    assert.throws(
      () => loadConfig({ OPENAI_API_KEY: 'sk-test-not-real', AIRLOCK_MODEL: 'gpt-4.1-unreviewed' }),
      (error: unknown) => error instanceof ConfigError && /AIRLOCK_MODEL: 'gpt-4\.1-unreviewed' is not on AIRLOCK_ALLOWED_MODELS/.test(error.message),
    );
  });

  test('config, when only an upstream base URL is set and AIRLOCK_MODEL is not on the allowlist, then is refused naming the variable (LLM03-3)', () => {
    assert.throws(
      () => loadConfig({ AIRLOCK_UPSTREAM_BASE_URL: 'http://127.0.0.1:11434/v1', AIRLOCK_MODEL: 'llama3', AIRLOCK_ALLOWED_MODELS: 'qwen2.5' }),
      (error: unknown) => error instanceof ConfigError && /AIRLOCK_MODEL/.test(error.message),
    );
  });

  test('config, when AIRLOCK_MODEL is on AIRLOCK_ALLOWED_MODELS, then is accepted with the list parsed and frozen (LLM03-3)', () => {
    const config = loadConfig({ OPENAI_API_KEY: 'sk-test-not-real', AIRLOCK_MODEL: 'gpt-4.1-2025-04-14', AIRLOCK_ALLOWED_MODELS: ' gpt-4o-mini , gpt-4.1-2025-04-14,' });
    assert.equal(config.AIRLOCK_MODEL, 'gpt-4.1-2025-04-14');
    assert.deepEqual(config.AIRLOCK_ALLOWED_MODELS, ['gpt-4o-mini', 'gpt-4.1-2025-04-14']);
    assert.ok(Object.isFrozen(config.AIRLOCK_ALLOWED_MODELS));
    assert.equal(createModel(config).modelName, 'gpt-4.1-2025-04-14');
  });

  test('config, when AIRLOCK_EMBEDDINGS_MODEL is not on the allowlist, then is refused naming the variable; on it, accepted (LLM03-3)', () => {
    assert.throws(
      () => loadConfig({ OPENAI_API_KEY: 'sk-test-not-real', AIRLOCK_EMBEDDINGS_MODEL: 'text-embedding-3-small' }),
      (error: unknown) => error instanceof ConfigError && /AIRLOCK_EMBEDDINGS_MODEL: 'text-embedding-3-small' is not on AIRLOCK_ALLOWED_MODELS/.test(error.message),
    );
    const config = loadConfig({ OPENAI_API_KEY: 'sk-test-not-real', AIRLOCK_EMBEDDINGS_MODEL: 'text-embedding-3-small', AIRLOCK_ALLOWED_MODELS: 'gpt-4o-mini,text-embedding-3-small' });
    assert.equal(createEmbedder(config).name, 'openai:text-embedding-3-small');
  });

  test('config, when nothing is configured, then gives the embedded default: offline provider, local embedder, no allowlist needed (LLM03-3)', () => {
    const config = loadConfig({});
    assert.equal(config.AIRLOCK_MODEL, 'gpt-4o-mini');
    assert.deepEqual(config.AIRLOCK_ALLOWED_MODELS, ['gpt-4o-mini']);
    assert.equal(createModel(config).provider, 'offline');
    assert.doesNotMatch(createEmbedder(config).name, /^openai:/);
    assert.equal(loadConfig({ OPENAI_API_KEY: 'sk-test-not-real' }).AIRLOCK_MODEL, 'gpt-4o-mini', 'the default model is on the default list');
  });

  test('server startup, when the configured model id is not on the allowlist, then exits 1 naming AIRLOCK_MODEL before listening (LLM03-3)', { timeout: 90_000 }, async () => {
    const dataDir = tempDir();
    const { code, output } = await startupFailure({ AIRLOCK_DATA_DIR: dataDir, OPENAI_API_KEY: 'sk-test-not-real', AIRLOCK_MODEL: 'gpt-4.1-unreviewed' });
    assert.equal(code, 1, output);
    assert.match(output, /AIRLOCK_MODEL: 'gpt-4\.1-unreviewed' is not on AIRLOCK_ALLOWED_MODELS/);
    assert.doesNotMatch(output, /listening/);
    assert.equal(existsSync(join(dataDir, 'airlock.db')), false);
  });
});

describe('recorded model snapshots', () => {
  const SNAPSHOT = 'gpt-4o-mini-2024-07-18';
  let upstream: Server | undefined;
  after(async () => {
    upstream?.closeAllConnections();
    if (upstream !== undefined) await new Promise<void>((resolve) => upstream?.close(() => resolve()));
  });

  test('a task answer, when the upstream reports a dated snapshot for the pinned alias, then the response and audit record the snapshot (LLM03-3)', async () => {
    // An OpenAI-compatible upstream that answers as the real API does: the alias in, the dated snapshot out.
    const requestedModels: string[] = [];
    upstream = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (part: Buffer) => parts.push(part));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as { model: string; messages: Array<{ content: string }> };
        requestedModels.push(body.model);
        const chunkId = /refunds#[\w-]+/.exec(body.messages.map((message) => message.content).join('\n'))?.[0] ?? 'missing';
        const content = JSON.stringify({ answer: 'Refunds are paid within 5 business days.', citations: [chunkId], confidence: 0.9, abstained: false });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...chatCompletion(content), model: SNAPSHOT }));
      });
    });
    await new Promise<void>((resolve) => upstream?.listen(0, '127.0.0.1', resolve));
    const baseURL = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
    const ctx = await createTestContext({ model: createOpenAIModel({ apiKey: 'sk-test-not-real', baseURL, model: 'gpt-4o-mini', timeoutMs: 5_000, maxRetries: 0 }) });
    try {
      const { key } = await ctx.createKey(['tasks:*']);

      const response = await request(ctx.app)
        .post('/v1/tasks/support.answer')
        .set({ authorization: `Bearer ${key}`, 'content-type': 'application/json' })
        .send(JSON.stringify(envelope({ question: 'How many business days until my refund is paid?' })));

      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.deepEqual(requestedModels, ['gpt-4o-mini']);
      assert.deepEqual(response.body.model, { provider: 'openai', name: SNAPSHOT });
      const audited = ctx.store.db.prepare('SELECT model FROM audit_log WHERE request_id = ?').pluck().get(response.body.request_id);
      assert.equal(audited, SNAPSHOT);
    } finally {
      await ctx.close();
    }
  });

  test('a corpus version, when ingested with an upstream embedder, then records the embeddings model id and dimension (LLM03-3)', async () => {
    const dimension = 8;
    const client = {
      embeddings: {
        create: async ({ input }: { input: string[] }) => ({
          data: input.map((_, index) => ({ index, embedding: Array.from({ length: dimension }, (_, i) => (i === index % dimension ? 1 : 0.1)) })),
        }),
      },
    } as unknown as Pick<OpenAI, 'embeddings'>;
    const embedder = createOpenAiEmbedder({ model: 'text-embedding-3-small', dimension, apiKey: 'sk-test-not-real', client });
    const testCorpus = openTestCorpus(embedder, tempDir());
    try {
      const result = await testCorpus.corpus.ingestDocument(doc('pinned-embedder', 'support', '# Refunds\n\nRefunds are paid within 5 business days.'));
      assert.deepEqual(result.version.embedder, { name: 'openai:text-embedding-3-small', dimension });
    } finally {
      testCorpus.close();
    }
  });
});
