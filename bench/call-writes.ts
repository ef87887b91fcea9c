// The store work of one signed, idempotent task call on the embedded SQLite file (issue 17, the chain's own cost),
// measured apart from everything else the call does: the reads (key, auth-failure gate, token budget, webhook
// endpoints), the five claims (webhook-id, request counter, idempotency key, execution slot, token reservation) and the
// writes that end the call, through the real stores on a real WAL file. Two ways of ending the call, alternating in one
// process so machine load hits both alike: `joined` (the finishing writes commit with the outcome, as handle-task does
// now) and `separate` (each runs on its own after the outcome, as before: settlement, replay completion, slot release).
// Then, with checkpoints off so the log only grows, the commits and WAL frames (4 KiB pages written) per call of each.
// Usage: node --import tsx bench/call-writes.ts [calls=3000] [rounds=4]   → one JSON line on stdout
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import { CORPUS_MIGRATIONS } from '../src/store/sqlite/corpus-schema.js';
import { createSqliteConcurrencyStore, createSqliteRateLimiters } from '../src/store/sqlite/rate-limits.js';
import { createRateLimits } from '../src/security/rate-limit.js';
import { claimedMessage } from '../src/security/replay-cache.js';
import { createSecretBox } from '../src/security/secret-box.js';
import { idempotencyScope } from '../src/security/idempotency-key.js';
import { resultRecord } from '../src/pipeline/results.js';
import type { StoredResponse } from '../src/store/types.js';

const CALLS = Number(process.argv[2] ?? 3000);
const ROUNDS = Number(process.argv[3] ?? 4);
const TASK = 'support.answer';
const ROUTE = `/v1/tasks/${TASK}`;

const dir = mkdtempSync(join(tmpdir(), 'airlock-call-writes-'));
const store = openSqliteStore({ path: join(dir, 'airlock.db'), extraMigrations: CORPUS_MIGRATIONS, secretBox: createSecretBox({ key: randomBytes(32), random: randomBytes }) });
const clock = (): Date => new Date();
const limits = createRateLimits({
  requestsPerMinute: 1_000_000_000,
  tokensPerDay: 1_000_000_000,
  authFailuresPerMinutePerIp: 100,
  concurrentPerKey: 64,
  random: Math.random,
  storeFactory: createSqliteRateLimiters(store.db, clock),
  concurrencyStore: createSqliteConcurrencyStore(store.db, clock),
});
const keyId = 'key_bench';
// A support answer's size: five citations, a paragraph of answer, the usage and check lists.
const response: StoredResponse = {
  status: 200,
  headers: { 'Airlock-Task-Version': '1' },
  body: { trust: 'untrusted', task: TASK, output: { answer: 'x'.repeat(600), citations: Array.from({ length: 5 }, () => randomUUID()) }, checks: Array.from({ length: 8 }, (_, i) => ({ name: `check_${i}`, stage: 'output', result: 'passed' })), request_id: randomUUID() },
};

async function oneCall(joined: boolean): Promise<void> {
  const now = clock();
  const requestId = randomUUID();
  await store.keys.findById(keyId);
  await limits.checkAuthFailures('127.0.0.1');
  const entry = { scope: keyId, id: `msg_${randomUUID()}` };
  const replay = await store.replayCache.claim(entry, randomUUID(), 600, now);
  if (replay.kind !== 'claimed') throw new Error('fresh webhook-id not claimed');
  const message = claimedMessage(store.replayCache, entry, replay.token, 600, clock);
  if (message.kind !== 'first') throw new Error('unreachable');
  await Promise.all([limits.consumeRequest(keyId, TASK), limits.checkTokenBudget(keyId)]);
  const scope = idempotencyScope(keyId, 'POST', ROUTE, randomUUID());
  const token = randomUUID();
  await store.idempotency.claim({ scope, fingerprint: 'fp', token, now, staleAfterMs: 60_000 });
  const slot = await limits.acquireSlot(keyId, token);
  const reservation = await limits.reserveTokens(keyId, 1_200);
  if (!slot.allowed || !reservation.allowed) throw new Error('refused');
  const deliveries = await store.webhooks.endpointsFor('request.completed', keyId, TASK);
  const outcome = {
    audit: { id: randomUUID(), requestId, at: now.toISOString(), keyId, action: 'task.run', task: TASK, eventId: 'evt', source: 'bench', decision: 'allowed' as const, status: 200, code: null, chunkIds: ['a', 'b', 'c', 'd', 'e'], model: 'mock', latencyMs: 1, detail: { usage: { total_tokens: 150 } } },
    idempotency: { scope, token, response, expiresAt: new Date(now.getTime() + 86_400_000).toISOString() },
    result: resultRecord({ requestId, keyId, task: TASK, at: now, response, reviewId: null, idempotencyScope: scope, context: { schema_version: '1.0', event_id: 'evt', output_schema: { name: `${TASK}.output`, version: '1' } }, ttlMs: 86_400_000 }),
    ...(deliveries.length === 0 ? {} : { deliveries: [] }),
  };
  if (joined) {
    await store.recordOutcome({ ...outcome, finishing: [reservation.settling(150), slot.releasing(), message.completing(scope)] });
  } else {
    await reservation.settle(150);
    await store.recordOutcome(outcome);
    await message.complete(scope);
    await slot.release();
  }
}

const cpuMs = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

const results: Record<'joined' | 'separate', number[]> = { joined: [], separate: [] };
for (let i = 0; i < 500; i += 1) await oneCall(i % 2 === 0);
for (let round = 1; round <= ROUNDS; round += 1) {
  for (const mode of round % 2 === 0 ? (['joined', 'separate'] as const) : (['separate', 'joined'] as const)) {
    const started = cpuMs();
    for (let i = 0; i < CALLS; i += 1) await oneCall(mode === 'joined');
    const perCall = ((cpuMs() - started) / CALLS) * 1000;
    results[mode].push(perCall);
    process.stderr.write(`round ${round} ${mode}: ${perCall.toFixed(1)} CPU µs per call\n`);
  }
}

/** Frames and commit frames in the current write-ahead log (its header's salts mark which frames are current). */
function walFrames(): { frames: number; commits: number } {
  const wal = readFileSync(join(dir, 'airlock.db-wal'));
  if (wal.length < 32) return { frames: 0, commits: 0 };
  const pageSize = wal.readUInt32BE(8);
  let frames = 0;
  let commits = 0;
  for (let offset = 32; offset + 24 + pageSize <= wal.length; offset += 24 + pageSize) {
    if (wal.readUInt32BE(offset + 8) !== wal.readUInt32BE(16) || wal.readUInt32BE(offset + 12) !== wal.readUInt32BE(20)) break;
    frames += 1;
    if (wal.readUInt32BE(offset + 4) !== 0) commits += 1;
  }
  return { frames, commits };
}
store.db.pragma('wal_checkpoint(TRUNCATE)');
store.db.pragma('wal_autocheckpoint = 0');
const written: Record<'joined' | 'separate', { frames: number; commits: number }> = { joined: { frames: 0, commits: 0 }, separate: { frames: 0, commits: 0 } };
for (const mode of ['separate', 'joined', 'separate', 'joined'] as const) {
  const before = walFrames();
  for (let i = 0; i < 250; i += 1) await oneCall(mode === 'joined');
  const after = walFrames();
  written[mode].frames += (after.frames - before.frames) / 500;
  written[mode].commits += (after.commits - before.commits) / 500;
}

const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;
console.log(
  JSON.stringify({
    calls: CALLS,
    rounds: ROUNDS,
    separate_us: Number(mean(results.separate).toFixed(1)),
    joined_us: Number(mean(results.joined).toFixed(1)),
    separate_commits: written.separate.commits,
    joined_commits: written.joined.commits,
    separate_frames: Number(written.separate.frames.toFixed(1)),
    joined_frames: Number(written.joined.frames.toFixed(1)),
  }),
);
await store.close();
rmSync(dir, { recursive: true, force: true });
