// Two Airlock processes behind the same engines, as a deployment runs them: each a `node --import tsx src/main.ts`
// child serving the real app on its own port, both on one PostgreSQL database and one Redis, the OpenAI provider of
// both pointed at one mock upstream that counts calls and answers slowly.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/index.js';
import { createKeyAdmin } from '../../src/admin/keys.js';
import { startMockUpstream, type ChatRequestBody, type MockUpstream } from '../helpers/mock-upstream.js';
import { createTestDatabase, requireEngines, type TestDatabase } from '../helpers/engines.js';
import { dataDirSecretBox } from '../helpers/context.js';
import { readTaskFolder } from '../../src/tasks/load.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';
import { Webhook } from 'standardwebhooks';

const engines = requireEngines();
const ROOT = join(import.meta.dirname, '..', '..');
const REQUESTS_PER_MINUTE = 6;
const UPSTREAM_DELAY_MS = 1_500;

interface Airlock {
  readonly url: string;
  readonly child: ChildProcess;
  readonly output: () => string;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// Every child ever spawned, so a failed start cannot leave one running (and the test process waiting on its pipes).
const children = new Set<ChildProcess>();

/** Starts `src/main.ts` and waits until /readyz says ready (logs are buffered, so they cannot be waited on). */
async function startAirlock(env: Record<string, string>): Promise<Airlock> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'main.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`airlock exited (${child.exitCode}) before it was ready:\n${output.slice(-3000)}`);
    const ready = await fetch(`${url}/readyz`).then((response) => response.status === 200, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      throw new Error(`airlock not ready within 60 s:\n${output.slice(-3000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url, child, output: () => output };
}

async function stopAirlock(airlock: Airlock | undefined): Promise<void> {
  if (airlock === undefined || airlock.child.exitCode !== null) return;
  const exited = new Promise((resolve) => airlock.child.once('exit', resolve));
  airlock.child.kill('SIGTERM');
  await exited;
}

let counter = 0;
const envelope = (data: Record<string, unknown>) => ({
  schema_version: '1.0',
  source: 'two-processes',
  event_id: `evt_${(counter += 1)}`,
  timestamp: '2026-05-12T10:15:00Z',
  data,
});

// Datamarking replaces spaces in reference data with a marker the prompt names (PI-3); undo it to read what the model saw.
function promptText(request: ChatRequestBody): string {
  const text = request.messages.map((m) => m.content).join('\n');
  const marker = /replaced by the marker character "(.)"/u.exec(text)?.[1];
  return marker === undefined ? text : text.replaceAll(marker, ' ');
}

/** A well-behaved model: cites the first chunk of `documentId` its prompt offered (or the first chunk at all). */
function citingAnswer(request: ChatRequestBody): string {
  const prompt = promptText(request);
  const wanted = /question[^\n]*van/i.test(prompt) ? /van-colour#[\w-]+/ : /[a-z0-9][a-z0-9._-]*#\d+-[0-9a-f]+/;
  const chunkId = wanted.exec(prompt)?.[0] ?? 'missing';
  return JSON.stringify({ answer: 'Here is what the approved articles say.', citations: [chunkId], confidence: 0.9, abstained: false });
}

describe('two Airlock processes on one PostgreSQL and one Redis', () => {
  let database: TestDatabase;
  let store: PostgresStore;
  let upstream: MockUpstream;
  let dataDir: string;
  let a: Airlock | undefined;
  let b: Airlock | undefined;
  let taskKey: string;
  let adminKey: string;

  before(async () => {
    database = await createTestDatabase(engines.databaseUrl);
    // The test's own connection migrates the database and issues keys through the same code the CLI uses.
    dataDir = mkdtempSync(join(tmpdir(), 'airlock-two-'));
    // Same data dir, same generated at-rest key as the two servers.
    store = await openPostgresStore({ url: database.url, poolSize: 2, secretBox: dataDirSecretBox(dataDir) });
    const keys = createKeyAdmin({ keys: store.keys, environment: 'development', clock: () => new Date(), random: randomBytes });
    taskKey = (await keys.create({ name: 'tasks', scopes: ['tasks:*'], require_signature: false })).key;
    adminKey = (await keys.create({ name: 'admin', scopes: ['admin', 'tasks:*'], require_signature: false })).key;
    upstream = await startMockUpstream([{ kind: 'answer', content: citingAnswer, delayMs: UPSTREAM_DELAY_MS }]);
    const env = {
      HOST: '127.0.0.1',
      AIRLOCK_DATABASE_URL: database.url,
      AIRLOCK_REDIS_URL: engines.redisUrl,
      AIRLOCK_DATA_DIR: dataDir,
      AIRLOCK_CORPUS_DIR: join(ROOT, 'test', 'fixtures', 'support-corpus'),
      AIRLOCK_TASKS_DIR: join(ROOT, 'tasks'),
      AIRLOCK_BOOTSTRAP_CORPUS: 'true',
      OPENAI_API_KEY: 'sk-test-not-real',
      AIRLOCK_UPSTREAM_BASE_URL: upstream.baseURL,
      AIRLOCK_UPSTREAM_MAX_RETRIES: '0',
      AIRLOCK_RATE_REQUESTS_PER_MINUTE: String(REQUESTS_PER_MINUTE),
      AIRLOCK_IDEMPOTENCY_WAIT_MS: '20000',
      AIRLOCK_LOG_LEVEL: 'info',
      AIRLOCK_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
      AIRLOCK_WEBHOOK_POLL_MS: '50',
    };
    // Started together on purpose: both migrate and bootstrap the corpus at once, as two replicas of a deployment do.
    [a, b] = await Promise.all([startAirlock(env), startAirlock(env)]);
  });

  after(async () => {
    await Promise.all([stopAirlock(a), stopAirlock(b)]);
    for (const child of children) child.kill('SIGKILL');
    await upstream?.close();
    await store?.close();
    await database?.drop();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  const post = (airlock: Airlock | undefined, task: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${airlock!.url}/v1/tasks/${task}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${taskKey}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  test('duplicates, when one idempotency key is sent to both processes at once, then the model is called once and both get the same body', async () => {
    const before = upstream.requests.length;
    const body = envelope({ question: 'How many business days until my refund is paid?' });
    const headers = { 'idempotency-key': `dup-${randomUUID()}` };
    const [first, second] = await Promise.all([post(a, 'support.answer', body, headers), post(b, 'support.answer', body, headers)]);
    const [firstText, secondText] = await Promise.all([first.text(), second.text()]);
    assert.equal(first.status, 200, firstText);
    assert.equal(second.status, 200, secondText);
    assert.equal(upstream.requests.length - before, 1, 'exactly one model call for one idempotency key');
    assert.deepEqual(JSON.parse(secondText), JSON.parse(firstText));
    assert.deepEqual([first.headers.get('idempotent-replayed'), second.headers.get('idempotent-replayed')].sort(), ['true', null].sort());
  });

  test('corpus, when a document is approved through one process, then the other answers from it, and from its newer version after the next approval', async () => {
    const ingest = (content: string) =>
      fetch(`${a!.url}/admin/corpus/documents`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'van-colour', collection: 'help', source: 'test://van', owner: 'fleet@brightbean.example', title: 'Our delivery van', content, content_type: 'text', approve: true }),
      });
    /** Approves `content` as the next version through process a, then asks process b; returns the prompt b sent. */
    const approveThenAsk = async (content: string, version: number, expected: RegExp): Promise<string> => {
      const ingested = await ingest(content);
      assert.equal(ingested.status, 201, await ingested.text());
      const response = await post(b, 'support.answer', envelope({ question: 'What colour is the delivery van?' }));
      const body = (await response.json()) as { citations?: Array<{ document_id: string; document_version: number }> };
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.deepEqual(body.citations?.map((c) => [c.document_id, c.document_version]), [['van-colour', version]]);
      const prompt = promptText(upstream.requests[upstream.requests.length - 1]!);
      assert.match(prompt, expected);
      return prompt;
    };

    await approveThenAsk('The delivery van of the roastery is painted teal with a white bean on the side.', 1, /painted teal/);
    const v2Prompt = await approveThenAsk('The delivery van of the roastery was repainted orange this spring.', 2, /repainted orange/);
    assert.doesNotMatch(v2Prompt, /painted teal/, 'the retired version never reaches the model');
  });

  test('task versions (issue 18), when a version is imported and activated through one process, then the other serves it from its next request, its in-flight request finishes on the old version and a replay stays old', async () => {
    const keys = createKeyAdmin({ keys: store.keys, environment: 'development', clock: () => new Date(), random: randomBytes });
    const key = (await keys.create({ name: 'versions', scopes: ['tasks:support.answer'], require_signature: false })).key;
    const ask = (airlock: Airlock | undefined, idempotencyKey: string) =>
      fetch(`${airlock!.url}/v1/tasks/support.answer`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        body: JSON.stringify({ ...envelope({ question: 'How many business days until my refund is paid?' }), event_id: `evt-${idempotencyKey}` }),
      });
    const admin = (path: string, body: unknown) =>
      fetch(`${a!.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

    const replayKey = `v1-${randomUUID()}`;
    const onV1 = await ask(b, replayKey);
    assert.equal(onV1.status, 200, await onV1.clone().text());
    assert.equal(onV1.headers.get('airlock-task-version'), '1');

    const files = readTaskFolder(join(ROOT, 'tasks', 'support.answer'));
    const imported = await admin('/admin/tasks/support.answer/versions', { files: { ...files, 'instructions.md': `${files['instructions.md'] ?? ''}\nVersion two, activated on process a.\n` } });
    assert.equal(imported.status, 201, await imported.clone().text());

    // The upstream answers after 1.5 s, so this request on b is still running when a activates version 2.
    const inFlight = ask(b, `in-flight-${randomUUID()}`);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const activated = await admin('/admin/tasks/support.answer/activate', {});
    assert.equal(activated.status, 200, await activated.clone().text());
    assert.equal(((await activated.json()) as { version: number }).version, 2);
    assert.equal((await inFlight).headers.get('airlock-task-version'), '1', 'the running request finished on its version');

    const onV2 = await ask(b, `v2-${randomUUID()}`);
    assert.equal(onV2.status, 200);
    assert.equal(onV2.headers.get('airlock-task-version'), '2', 'b serves the activation made on a without a restart');
    assert.ok(upstream.requests.at(-1)!.messages[0]!.content.includes('Version two, activated on process a.'));
    assert.equal((await ask(a, `v2-${randomUUID()}`)).headers.get('airlock-task-version'), '2');

    const replay = await ask(b, replayKey);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.equal(replay.headers.get('airlock-task-version'), '1');
    assert.deepEqual(await replay.json(), await onV1.json());
  });

  test('rate limits, when one key sends requests to both processes, then both spend one shared budget', async () => {
    const statuses: number[] = [];
    // Invalid envelopes: counted by the limiter, then refused before the model, so the test costs no upstream call.
    for (let i = 0; i < REQUESTS_PER_MINUTE * 2; i += 1) statuses.push((await post(i % 2 === 0 ? a : b, 'lead.classify', { not: 'an envelope' })).status);
    assert.equal(statuses.filter((s) => s === 400).length, REQUESTS_PER_MINUTE, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 429).length, REQUESTS_PER_MINUTE, statuses.join(','));
  });

  test('webhook outbox (issue 14), when both processes run their delivery worker on one database, then each delivery is sent exactly once', async () => {
    const receiver = await startWebhookReceiver();
    try {
      const secret = `whsec_${randomBytes(32).toString('base64')}`;
      const endpointId = `we_${randomUUID().replaceAll('-', '')}`;
      await store.webhooks.createEndpoint({ id: endpointId, url: receiver.url, events: ['request.completed'], keyId: null, task: null, secret, createdAt: new Date().toISOString(), createdBy: 'test' });
      const count = 40;
      await store.webhooks.enqueue(
        Array.from({ length: count }, (_, i) => ({
          id: `dlv_${randomUUID()}`,
          messageId: `msg_${randomUUID().replaceAll('-', '')}`,
          endpointId,
          eventType: 'request.completed',
          payload: JSON.stringify({ type: 'request.completed', timestamp: new Date().toISOString(), data: { n: i } }),
          createdAt: new Date().toISOString(),
        })),
      );
      const deadline = Date.now() + 30_000;
      const delivered = async () => (await store.webhooks.listDeliveries({ endpointId, state: 'delivered', limit: 500 })).length;
      while ((await delivered()) < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      // A few more poll intervals, so a second send of any delivery would have arrived.
      await new Promise((resolve) => setTimeout(resolve, 500));

      assert.equal(await delivered(), count);
      const ids = receiver.received.map((entry) => entry.headers['webhook-id']);
      assert.equal(ids.length, count, 'no delivery was sent twice');
      assert.equal(new Set(ids).size, count);
      assert.ok(receiver.received.every((entry) => new Webhook(secret).verify(entry.body, entry.headers) !== undefined));
    } finally {
      await receiver.close();
    }
  });
});
