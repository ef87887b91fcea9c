// The `airlock` command through runCli: help, doctor, ingest and the exit-code contract (0 ok, 1 failure, 2 usage).
import { after, before, describe, test } from 'node:test';
import { capture } from './helpers/capture.js';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../src/cli/main.js';
import { BUNDLED_TASKS, FIXTURE_CORPUS } from './helpers/context.js';


describe('airlock CLI', () => {
  let dataDir: string;
  let env: Record<string, string>;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'airlock-cli-'));
    env = { AIRLOCK_DATA_DIR: dataDir, AIRLOCK_TASKS_DIR: BUNDLED_TASKS };
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  const run = async (argv: string[], environment: Record<string, string> = env) => {
    const out = capture();
    const err = capture();
    const code = await runCli(argv, environment, out.stream, err.stream);
    return { code, out: out.text(), err: err.text() };
  };

  test('help, when asked, then prints usage with every command and exits 0', async () => {
    const result = await run(['help']);
    assert.equal(result.code, 0);
    assert.match(result.out, /^airlock: the guarded gateway/);
    for (const command of ['keys create', 'corpus ingest', 'reviews resolve', 'doctor']) assert.ok(result.out.includes(command), command);
    assert.equal(result.err, '');
  });

  test('help --json, when asked, then prints the command list as JSON', async () => {
    const result = await run(['help', '--json']);
    assert.equal(result.code, 0);
    const parsed = JSON.parse(result.out) as { commands: string[] };
    assert.ok(parsed.commands.includes('doctor'));
    assert.ok(parsed.commands.includes('corpus reindex'));
  });

  test('a bad command, when run, then exits 2 with a usage message on stderr and nothing on stdout', async () => {
    const result = await run(['frobnicate']);
    assert.equal(result.code, 2);
    assert.equal(result.out, '');
    assert.match(result.err, /unknown command "frobnicate"/);
    assert.match(result.err, /airlock help/);
  });

  test('an unknown option, when run with --json, then exits 2 with a JSON error naming the usage problem', async () => {
    const result = await run(['keys', 'list', '--colour', '--json']);
    assert.equal(result.code, 2);
    const error = JSON.parse(result.err) as { error: string; exit_code: number };
    assert.equal(error.error, 'usage');
    assert.equal(error.exit_code, 2);
  });

  test('a missing argument, when a command needs one, then exits 2', async () => {
    const result = await run(['keys', 'revoke']);
    assert.equal(result.code, 2);
    assert.match(result.err, /missing key id/);
  });

  test('invalid --output JSON, when resolving a review, then exits 2 rather than crashing', async () => {
    const result = await run(['reviews', 'resolve', 'r-1', '--approve', '--output', '{not json']);
    assert.equal(result.code, 2);
    assert.match(result.err, /--output must be valid JSON/);
  });

  test('doctor --json, when the database has no approved corpus, then reports corpus FAIL and exits 1', async () => {
    const result = await run(['doctor', '--json']);
    assert.equal(result.code, 1);
    const report = JSON.parse(result.out) as { ok: boolean; checks: Array<{ check: string; ok: boolean; detail: string }> };
    assert.equal(report.ok, false);
    const byName = new Map(report.checks.map((check) => [check.check, check]));
    assert.equal(byName.get('config')?.ok, true);
    assert.equal(byName.get('database')?.ok, true);
    assert.equal(byName.get('sqlite-vec')?.ok, true);
    assert.match(byName.get('sqlite-vec')?.detail ?? '', /v\d+\.\d+/);
    assert.equal(byName.get('corpus')?.ok, false);
    assert.equal(byName.get('upstream')?.ok, true);
  });

  test('doctor --json, after the corpus is ingested and approved, then every check passes and it exits 0', async () => {
    const ingest = await run(['corpus', 'ingest', FIXTURE_CORPUS, '--approve', '--json']);
    assert.equal(ingest.code, 0, ingest.err);
    const rows = (JSON.parse(ingest.out) as { items: Array<{ state: string }> }).items;
    assert.ok(rows.length > 0 && rows.every((row) => row.state === 'approved'));
    const result = await run(['doctor', '--json']);
    assert.equal(result.code, 0, result.out);
    assert.equal((JSON.parse(result.out) as { ok: boolean }).ok, true);
  });

  test('doctor, when the configuration is invalid, then reports config FAIL and exits 1 instead of throwing', async () => {
    const result = await run(['doctor', '--json'], { ...env, AIRLOCK_ENV: 'moon' });
    assert.equal(result.code, 1);
    const report = JSON.parse(result.out) as { checks: Array<{ check: string; ok: boolean; detail: string }> };
    assert.equal(report.checks[0]?.check, 'config');
    assert.equal(report.checks[0]?.ok, false);
    assert.match(report.checks[0]?.detail ?? '', /AIRLOCK_ENV/);
  });

  test('a failing command, when the target does not exist, then exits 1 with the problem code under --json', async () => {
    const result = await run(['corpus', 'retire', 'no-such-document', '--json']);
    assert.equal(result.code, 1);
    const error = JSON.parse(result.err) as { error: string; exit_code: number };
    assert.equal(error.exit_code, 1);
    assert.notEqual(error.error, 'usage');
  });
});
