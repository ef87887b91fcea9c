// Issue 15 item 4: the optional model-backed `model_screen` check, at the input stage (caller text) and the ingest stage
// (corpus chunks), against a real OpenAI-compatible mock over HTTP. It never passes without a safe verdict.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { createTestContext, editedBundledTasks, envelope, type TestContext } from './helpers/context.js';
import { modelFor, offeredChunkIds, startMockUpstream, type ChatRequestBody, type MockUpstream } from './helpers/mock-upstream.js';
import { capture } from './helpers/capture.js';
import { loadConfig } from '../src/config.js';
import { appDepsFromRuntime, checkRegistryFor, createModelScreen, openRuntime } from '../src/runtime.js';
import { loadTaskFolders } from '../src/tasks/load.js';
import { offlineRefusal } from '../src/model/offline.js';
import { createApp } from '../src/app.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { createKeyAdmin } from '../src/admin/keys.js';
import { createTextScreen } from '../src/guard/model-screen.js';
import { createScreenClassifier } from '../src/model/screen-classifier.js';

const SCREEN_KEY = 'sk-screen-test-secret-0123456789';
const TASK_KEY = 'sk-task-provider-secret-9876543210';

/** The deployment settings of a screen served by `upstream`, as a newcomer would write them. */
const screenEnv = (upstream: MockUpstream, extra: Record<string, string> = {}): Record<string, string> => ({
  AIRLOCK_ALLOWED_MODELS: 'gpt-4o-mini,guard-model',
  AIRLOCK_SCREEN_MODEL: 'guard-model',
  AIRLOCK_SCREEN_BASE_URL: upstream.baseURL,
  AIRLOCK_SCREEN_API_KEY: SCREEN_KEY,
  AIRLOCK_SCREEN_TIMEOUT_MS: '400',
  ...extra,
});
const screenFrom = (env: Record<string, string>) => {
  const screen = createModelScreen(loadConfig(env));
  assert.ok(screen !== undefined);
  return screen;
};

/** support.answer with a model_screen deny rule on the question. */
const screenedTasks = (): string =>
  editedBundledTasks({
    'support.answer': (spec) => {
      (spec['input_rules'] as unknown[]).push({ check: 'model_screen', action: 'deny', config: { fields: ['question'] } });
    },
  });

const verdict = (value: Record<string, unknown>): string => JSON.stringify(value);
const SAFE = verdict({ verdict: 'safe', category: 'none', confidence: 0.97 });
const UNSAFE = verdict({ verdict: 'unsafe', category: 'prompt_injection', confidence: 0.9 });
const supportAnswer = (body: ChatRequestBody): string =>
  JSON.stringify({ answer: 'Refunds take 5 business days.', citations: offeredChunkIds(body).slice(0, 1), confidence: 0.9, abstained: false });
const askSupport = (ctx: TestContext, key: string, question: string) =>
  request(ctx.app)
    .post('/v1/tasks/support.answer')
    .set({ authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() })
    .send(JSON.stringify(envelope({ question })));

let asked = 0;
/** A question no other test screens (so the verdict cache never answers for it) that retrieves the refund articles. */
const freshQuestion = (): string => {
  asked += 1;
  return `${'Thanks. '.repeat(asked)}How many business days until my refund is paid?`;
};

describe('model_screen at the input stage (issue 15 item 4)', () => {
  let screenUpstream: MockUpstream;
  let taskUpstream: MockUpstream;
  let ctx: TestContext;
  let key: string;

  before(async () => {
    screenUpstream = await startMockUpstream([{ kind: 'answer', content: SAFE }]);
    taskUpstream = await startMockUpstream([{ kind: 'answer', content: supportAnswer }]);
    ctx = await createTestContext({ model: modelFor(taskUpstream), tasksDir: screenedTasks(), modelScreen: screenFrom(screenEnv(screenUpstream)) });
    key = (await ctx.createKey(['tasks:*'])).key;
  });
  after(async () => {
    await ctx.close();
    await screenUpstream.close();
    await taskUpstream.close();
  });
  afterEach(() => {
    screenUpstream.requests.length = 0;
    screenUpstream.authorizations.length = 0;
    taskUpstream.requests.length = 0;
  });

  const ask = (question: string) => askSupport(ctx, key, question);

  /** A refusal that reached no model, said nothing of the screened text and named a retryable code. */
  const assertFailedClosed = async (response: request.Response, question: string, reason: string) => {
    assert.equal(response.status, 503, response.text);
    assert.equal(response.body.code, 'screen_unavailable');
    assert.equal(response.body.retryable, true);
    assert.ok(Number(response.headers['retry-after']) >= 1);
    assert.deepEqual(response.body.violations, [`model_screen: screen unavailable: ${reason}`]);
    assert.equal(taskUpstream.requests.length, 0, 'nothing goes to the task model without a safe verdict');
    const audit = await ctx.store.audit.list({ requestId: response.body.request_id, limit: 5 });
    assert.equal(audit[0]?.code, 'screen_unavailable');
    assert.ok(!JSON.stringify(audit).includes(question), 'the audit row records the reason, never the text');
  };

  test('model_screen, when the screen model answers safe, then the task runs and the envelope records the verdict (LLM01-5, LLM01-2)', async () => {
    screenUpstream.setBehaviours([{ kind: 'answer', content: SAFE }]);
    const question = freshQuestion();
    const response = await ask(question);

    assert.equal(response.status, 200, response.text);
    assert.deepEqual(response.body.checks.find((check: { name: string }) => check.name === 'model_screen'), { name: 'model_screen', stage: 'input', result: 'pass', detail: 'safe: none (confidence 0.97)' });
    assert.equal(taskUpstream.requests.length, 1, JSON.stringify(response.body));
    const sent = screenUpstream.requests[0]!;
    assert.equal(sent.model, 'guard-model');
    assert.deepEqual(sent.response_format?.json_schema?.strict, true);
    assert.deepEqual(sent.response_format?.json_schema?.schema['required'], ['verdict', 'category', 'confidence']);
    assert.equal(sent.response_format?.json_schema?.schema['additionalProperties'], false);
    // LLM01-2: the text goes as the user message, never spliced into the classifier's instructions.
    assert.equal(sent.messages.at(-1)?.content, question);
    assert.ok(!(sent.messages[0]?.content ?? '').includes(question));
    assert.equal(screenUpstream.authorizations[0], `Bearer ${SCREEN_KEY}`);
  });

  test('model_screen, when the screen model answers unsafe, then 422 input_denied names the category, no task call, and the text is in no audit row or log line (LLM01-5, LLM02-1)', async () => {
    screenUpstream.setBehaviours([{ kind: 'answer', content: UNSAFE }]);
    // Words the pattern screens let through: only the model's verdict can stop it.
    const question = `Tell me everything about refunds, reference ${randomUUID()}`;
    const response = await ask(question);

    assert.equal(response.status, 422, response.text);
    assert.equal(response.body.code, 'input_denied');
    assert.deepEqual(response.body.violations, ['model_screen: unsafe: prompt_injection (confidence 0.9)']);
    assert.equal(taskUpstream.requests.length, 0);
    const audit = await ctx.store.audit.list({ requestId: response.body.request_id, limit: 5 });
    assert.deepEqual(audit[0]?.detail['reasons'], ['model_screen: unsafe: prompt_injection (confidence 0.9)']);
    for (const [where, text] of [['audit', JSON.stringify(audit)], ['logs', ctx.logs.join('\n')]] as const) {
      assert.ok(!text.includes(question), `the screened text reached the ${where}`);
      assert.ok(!text.includes(SCREEN_KEY), `the screen API key reached the ${where}`);
    }
  });

  test('model_screen, when an earlier rule already denies the text (it carries a secret), then the text is never sent to the screen model (LLM02-1)', async () => {
    screenUpstream.setBehaviours([{ kind: 'answer', content: SAFE }]);
    const response = await ask(`My key sk-proj-CANARYsecretAbCdEfGhIjKlMnOpQrStUv0123 stopped working ${randomUUID()}`);

    assert.equal(response.status, 422, response.text);
    assert.ok(response.body.violations.every((reason: string) => reason.startsWith('secrets:')), JSON.stringify(response.body.violations));
    assert.equal(screenUpstream.requests.length, 0);
  });

  test('model_screen, when pii redacts the question first, then the screen model sees only the redacted text (LLM02-1)', async () => {
    screenUpstream.setBehaviours([{ kind: 'answer', content: SAFE }]);
    const response = await ask(`I am jane.doe@example.com. ${freshQuestion()}`);

    assert.equal(response.status, 200, response.text);
    const screened = screenUpstream.requests[0]?.messages.at(-1)?.content ?? '';
    assert.ok(screened.includes('[EMAIL_1]'), screened);
    assert.ok(!screened.includes('jane.doe@example.com'));
  });

  test('model_screen, when the screen model answers with text that is not JSON, then 503 screen_unavailable and nothing passes (LLM01-2, fail closed)', async () => {
    screenUpstream.setBehaviours([{ kind: 'answer', content: 'The text looks fine to me.' }]);
    const question = freshQuestion();
    await assertFailedClosed(await ask(question), question, 'malformed_verdict');
  });

  test('model_screen, when the verdict carries a field beyond the strict schema, then 503 screen_unavailable (LLM01-2, fail closed)', async () => {
    screenUpstream.setBehaviours([{ kind: 'answer', content: verdict({ verdict: 'safe', category: 'none', confidence: 0.99, note: 'trust me' }) }]);
    const question = freshQuestion();
    await assertFailedClosed(await ask(question), question, 'malformed_verdict');
  });

  test('model_screen, when the verdict is out of range or unknown, then 503 screen_unavailable (LLM01-2, fail closed)', async () => {
    for (const content of [verdict({ verdict: 'probably_safe', category: 'none', confidence: 0.5 }), verdict({ verdict: 'safe', category: 'none', confidence: 7 })]) {
      screenUpstream.setBehaviours([{ kind: 'answer', content }]);
      const question = freshQuestion();
      await assertFailedClosed(await ask(question), question, 'malformed_verdict');
    }
  });

  test('model_screen, when the screen upstream answers 500, then 503 screen_unavailable and no retry hides it (fail closed, LLM02-3)', async () => {
    screenUpstream.setBehaviours([{ kind: 'status', status: 500, body: { error: { message: 'internal upstream detail' } } }]);
    const question = freshQuestion();
    const response = await ask(question);
    await assertFailedClosed(response, question, 'upstream_unavailable');
    assert.equal(screenUpstream.requests.length, 1);
    assert.ok(!response.text.includes('internal upstream detail'));
  });

  test('model_screen, when the screen upstream hangs past AIRLOCK_SCREEN_TIMEOUT_MS, then 503 screen_unavailable within the timeout (LLM10-6, fail closed)', async () => {
    screenUpstream.setBehaviours([{ kind: 'hang' }]);
    const question = freshQuestion();
    const started = performance.now();
    const response = await ask(question);
    const elapsed = performance.now() - started;

    await assertFailedClosed(response, question, 'upstream_timeout');
    // The screen upstream never answers, so an answer at all means the timeout fired; one request means no retry
    // stretched it. Only the lower bound is a time: it cannot flake on a slow machine.
    assert.ok(elapsed >= 350, `answered after ${Math.round(elapsed)} ms`);
    assert.equal(screenUpstream.requests.length, 1, 'one attempt, not retried past the timeout');
  });

  test('model_screen, when the same text is screened twice, then the second verdict comes from the cache without an upstream call', async () => {
    screenUpstream.setBehaviours([{ kind: 'answer', content: SAFE }]);
    const question = freshQuestion();
    assert.equal((await ask(question)).status, 200);
    assert.equal((await ask(question)).status, 200);
    assert.equal(screenUpstream.requests.length, 1, 'one screen call for one text');

    assert.equal((await ask(freshQuestion())).status, 200);
    assert.equal(screenUpstream.requests.length, 2, 'another text is screened anew');
  });

  test('model_screen, when a call failed, then the failure is not cached and the next identical request is screened again', async () => {
    const question = freshQuestion();
    screenUpstream.setBehaviours([{ kind: 'status', status: 503 }]);
    assert.equal((await ask(question)).status, 503);
    screenUpstream.setBehaviours([{ kind: 'answer', content: SAFE }]);
    assert.equal((await ask(question)).status, 200);
    assert.equal(screenUpstream.requests.length, 2);
  });
});

describe('model_screen budget and Llama Guard format (issue 15 item 4)', () => {
  let screenUpstream: MockUpstream;
  let taskUpstream: MockUpstream;

  before(async () => {
    screenUpstream = await startMockUpstream();
    taskUpstream = await startMockUpstream([{ kind: 'answer', content: supportAnswer }]);
  });
  after(async () => {
    await screenUpstream.close();
    await taskUpstream.close();
  });
  afterEach(() => {
    screenUpstream.requests.length = 0;
    taskUpstream.requests.length = 0;
  });

  const contextWith = async (env: Record<string, string>) => {
    const ctx = await createTestContext({ model: modelFor(taskUpstream), tasksDir: screenedTasks(), modelScreen: screenFrom(screenEnv(screenUpstream, env)) });
    const keys = [(await ctx.createKey(['tasks:*'])).key, (await ctx.createKey(['tasks:*'])).key] as const;
    const ask = (question: string, key: string = keys[0]) => askSupport(ctx, key, question);
    return { ctx, ask, keys };
  };

  test('model_screen, when a key has spent AIRLOCK_SCREEN_CALLS_PER_MINUTE, then 429 quota_exceeded without a screen call, other keys and cached texts unaffected (LLM10-5, fail closed)', async () => {
    screenUpstream.setBehaviours([{ kind: 'answer', content: SAFE }]);
    const { ctx, ask, keys } = await contextWith({ AIRLOCK_SCREEN_CALLS_PER_MINUTE: '2' });
    try {
      const first = freshQuestion();
      assert.equal((await ask(first)).status, 200);
      assert.equal((await ask(freshQuestion())).status, 200);
      const refused = await ask(freshQuestion());

      assert.equal(refused.status, 429, refused.text);
      assert.equal(refused.body.code, 'quota_exceeded');
      assert.deepEqual(refused.body['violated-policies'], ['per-key-screen-calls-minute']);
      assert.ok(Number(refused.headers['retry-after']) >= 1);
      assert.equal(screenUpstream.requests.length, 2, 'the refused call never reached the screen model');
      assert.equal(taskUpstream.requests.length, 2, 'nor the task model');

      assert.equal((await ask(first)).status, 200, 'a cached verdict costs no budget');
      assert.equal((await ask(freshQuestion(), keys[1])).status, 200, 'the budget is per key');
    } finally {
      await ctx.close();
    }
  });

  test('model_screen, when AIRLOCK_SCREEN_FORMAT=llama_guard, then the text is the only message, "unsafe\\nS2" denies with the hazard code and "safe" passes (LLM01-5)', async () => {
    const { ctx, ask } = await contextWith({ AIRLOCK_SCREEN_FORMAT: 'llama_guard' });
    try {
      screenUpstream.setBehaviours([{ kind: 'answer', content: 'unsafe\nS2' }]);
      const question = freshQuestion();
      const denied = await ask(question);
      assert.equal(denied.status, 422, denied.text);
      assert.deepEqual(denied.body.violations, ['model_screen: unsafe: S2']);
      assert.deepEqual(screenUpstream.requests[0]?.messages, [{ role: 'user', content: question }]);
      assert.equal(screenUpstream.requests[0]?.response_format, undefined);

      screenUpstream.setBehaviours([{ kind: 'answer', content: 'safe' }]);
      const passed = await ask(freshQuestion());
      assert.equal(passed.status, 200, passed.text);
      assert.equal(passed.body.checks.find((check: { name: string }) => check.name === 'model_screen')?.detail, 'safe: none');
    } finally {
      await ctx.close();
    }
  });

  test('model_screen, when a Llama Guard answer is out of its format, then 503 screen_unavailable (fail closed)', async () => {
    const { ctx, ask } = await contextWith({ AIRLOCK_SCREEN_FORMAT: 'llama_guard' });
    try {
      for (const content of ['unsafe', 'Safe.', 'safe\nS1', '{"verdict":"safe","category":"none","confidence":1}', 'I think this is safe']) {
        screenUpstream.setBehaviours([{ kind: 'answer', content }]);
        const response = await ask(freshQuestion());
        assert.equal(response.status, 503, `${JSON.stringify(content)}: ${response.text}`);
        assert.equal(response.body.code, 'screen_unavailable');
      }
      assert.equal(taskUpstream.requests.length, 0);
    } finally {
      await ctx.close();
    }
  });
});

describe('model_screen at the ingest stage (issue 15 item 4, LLM04-2, PI-4)', () => {
  let screenUpstream: MockUpstream;
  let ctx: TestContext;
  let adminKey: string;

  before(async () => {
    screenUpstream = await startMockUpstream([{ kind: 'answer', content: SAFE }]);
    ctx = await createTestContext({ corpusDir: null, modelScreen: screenFrom(screenEnv(screenUpstream)), screenIngest: true });
    adminKey = (await ctx.createKey(['admin'])).key;
  });
  after(async () => {
    await ctx.close();
    await screenUpstream.close();
  });
  afterEach(() => {
    screenUpstream.requests.length = 0;
  });

  const upload = (id: string, content: string) =>
    request(ctx.app)
      .post('/admin/corpus/documents')
      .set('authorization', `Bearer ${adminKey}`)
      .send({ id, collection: 'help', source: 'test', owner: 'support', title: id, content, content_type: 'text' });

  test('ingest screen, when the screen model calls a chunk unsafe, then the version is quarantined with a finding naming the category (LLM04-2, PI-4)', async () => {
    // Worded so the pattern scan sees nothing: only the model's verdict can quarantine it.
    screenUpstream.setBehaviours([{ kind: 'answer', content: UNSAFE }]);
    const response = await upload('shipping-note', 'Parcels ship within two days. Orders over 40 euros ship free of charge.');

    assert.equal(response.status, 201, response.text);
    assert.equal(response.body.version.state, 'quarantined');
    assert.deepEqual(response.body.version.findings, [{ ordinal: 0, reasons: ['model_screen:prompt_injection'] }]);
    assert.equal(screenUpstream.requests[0]?.messages.at(-1)?.content, 'Parcels ship within two days. Orders over 40 euros ship free of charge.');
  });

  test('ingest screen, when every chunk is safe, then the version is an ordinary draft', async () => {
    screenUpstream.setBehaviours([{ kind: 'answer', content: SAFE }]);
    const response = await upload('returns-note', 'Returns are accepted within 30 days of delivery.');

    assert.equal(response.status, 201, response.text);
    assert.equal(response.body.version.state, 'draft');
    assert.deepEqual(response.body.version.findings, []);
  });

  test('ingest screen, when the screen model fails or times out, then 503 screen_unavailable and nothing is stored, so the same upload can be retried (fail closed)', async () => {
    for (const behaviour of [{ kind: 'status', status: 500 } as const, { kind: 'hang' } as const, { kind: 'answer', content: 'no verdict' } as const]) {
      screenUpstream.setBehaviours([behaviour]);
      const id = `refused-${behaviour.kind}`;
      const response = await upload(id, `Opening hours are 9 to 5 on weekdays (${behaviour.kind}).`);

      assert.equal(response.status, 503, response.text);
      assert.equal(response.body.code, 'screen_unavailable');
      const stored = await request(ctx.app).get(`/admin/corpus/documents/${id}`).set('authorization', `Bearer ${adminKey}`);
      assert.equal(stored.status, 404, 'no version of an unscreened document exists');
    }
    screenUpstream.setBehaviours([{ kind: 'answer', content: SAFE }]);
    const retried = await upload('refused-status', 'Opening hours are 9 to 5 on weekdays (status).');
    assert.equal(retried.status, 201, retried.text);
  });
});

describe('model screen verdict cache (issue 15 item 4)', () => {
  test('createTextScreen, when the cache is full or an entry is older than its TTL, then the least recently used or expired verdict is asked for again', async () => {
    const upstream = await startMockUpstream([{ kind: 'answer', content: SAFE }]);
    let now = 0;
    try {
      const screen = createTextScreen({
        classify: createScreenClassifier({ apiKey: SCREEN_KEY, baseURL: upstream.baseURL, model: 'guard-model', format: 'json', timeoutMs: 2_000 }),
        budget: async () => ({ allowed: true }),
        now: () => now,
        cacheEntries: 2,
        cacheTtlMs: 1_000,
        cacheScope: 'test',
      });
      const calls = async (...texts: string[]): Promise<number> => {
        for (const text of texts) assert.equal((await screen.screen(text, 'key-1')).kind, 'verdict');
        return upstream.requests.length;
      };
      assert.equal(await calls('a', 'b', 'a'), 2, 'a and b cached; a is now the most recently used');
      assert.equal(await calls('c', 'a'), 3, 'c evicted b, the least recently used, and a is still cached');
      assert.equal(await calls('b'), 4, 'b was evicted');
      now = 1_000;
      assert.equal(await calls('b'), 5, 'an entry at its TTL has expired');
    } finally {
      await upstream.close();
    }
  });
});

describe('model_screen off by default (issue 15 item 4)', () => {
  test('createModelScreen, when AIRLOCK_SCREEN_MODEL is unset, then there is no screen and a policy naming model_screen is refused at load with the setting to use', () => {
    assert.equal(createModelScreen(loadConfig({})), undefined);
    assert.throws(
      () => loadTaskFolders(screenedTasks(), { checks: checkRegistryFor(undefined), allowedModels: ['gpt-4o-mini'], offlineRefusal }),
      /model_screen[\s\S]*AIRLOCK_SCREEN_MODEL/,
    );
  });

  test('config, when the screen model is not on AIRLOCK_ALLOWED_MODELS or has no endpoint, then startup fails naming the variable (LLM03-3)', () => {
    assert.throws(() => loadConfig({ AIRLOCK_SCREEN_MODEL: 'guard-model', AIRLOCK_UPSTREAM_BASE_URL: 'http://127.0.0.1:9/v1' }), /AIRLOCK_SCREEN_MODEL: 'guard-model' is not on AIRLOCK_ALLOWED_MODELS/);
    assert.throws(() => loadConfig({ AIRLOCK_SCREEN_MODEL: 'guard-model', AIRLOCK_ALLOWED_MODELS: 'gpt-4o-mini,guard-model' }), /AIRLOCK_SCREEN_BASE_URL: is required/);
    assert.throws(() => loadConfig({ AIRLOCK_SCREEN_INGEST: 'true' }), /AIRLOCK_SCREEN_INGEST: needs AIRLOCK_SCREEN_MODEL/);
  });

  test('createModelScreen, when the screen has its own endpoint and no key of its own, then the task provider key is not sent to it (LLM02-1)', async () => {
    const upstream = await startMockUpstream([{ kind: 'answer', content: SAFE }]);
    try {
      const env = { ...screenEnv(upstream), OPENAI_API_KEY: TASK_KEY } as Record<string, string>;
      delete env['AIRLOCK_SCREEN_API_KEY'];
      const outcome = await screenFrom(env).screen('Where is my parcel?', 'key-1');
      assert.equal(outcome.kind, 'verdict');
      assert.ok(!(upstream.authorizations[0] ?? '').includes(TASK_KEY));
    } finally {
      await upstream.close();
    }
  });

  test('openRuntime, when the embedded default runs with a task upstream but no screen model, then ingest and a task call make no screen call', async () => {
    const upstream = await startMockUpstream([{ kind: 'answer', content: supportAnswer }]);
    const dir = mkdtempSync(join(tmpdir(), 'airlock-screen-off-'));
    const runtime = await openRuntime(loadConfig({ AIRLOCK_DATA_DIR: dir, AIRLOCK_UPSTREAM_BASE_URL: upstream.baseURL, AIRLOCK_BOOTSTRAP_CORPUS: 'false' }));
    try {
      const ingested = await runtime.corpus.ingestDocument({
        id: 'refunds', collection: 'help', source: 'test', owner: 'support', title: 'Refunds', content: 'Refunds take 5 business days after the parcel arrives.', contentType: 'text', actor: 'test', approve: true,
      });
      assert.equal(ingested.version.state, 'approved');
      assert.equal(upstream.requests.length, 0, 'ingest asked no model');

      const app = createApp(appDepsFromRuntime(runtime, { logger: createLogger({ level: 'silent', destination: capture().stream }), metrics: createMetrics(), version: 'test' }));
      const keyAdmin = createKeyAdmin({ keys: runtime.store.keys, environment: 'development', clock: runtime.clock, random: randomBytes });
      const { key } = await keyAdmin.create({ name: 'screen-off', scopes: ['tasks:*'], require_signature: false });
      const response = await request(app)
        .post('/v1/tasks/support.answer')
        .set({ authorization: `Bearer ${key}`, 'content-type': 'application/json' })
        .send(JSON.stringify(envelope({ question: 'How long do refunds take?' })));
      assert.equal(response.status, 200, response.text);
      assert.deepEqual(upstream.requests.map((sent) => sent.response_format?.json_schema?.name), ['support_answer_output'], 'the one upstream call is the task itself');
      assert.equal(runtime.checks.get('model_screen')?.configSchema.safeParse({}).success, false, 'the check exists only to refuse policies that name it');
    } finally {
      await runtime.close();
      await upstream.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
