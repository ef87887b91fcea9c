// The real process on a broken task folder: `node --import tsx src/main.ts` must exit non-zero before it listens,
// with the file and JSON pointer on stderr, so a typo in a task can never reach request time (fail fast, not fail open).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLED_TASKS } from './helpers/context.js';

const REPO_ROOT = join(import.meta.dirname, '..');

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the server entry point with `env` and waits for it to exit; a process that keeps running is killed. */
function runMain(env: Record<string, string>): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? tmpdir(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      // A server that started listening is the failure this test exists for; stop it instead of hanging.
      if (stdout.includes('airlock listening')) child.kill('SIGKILL');
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('server boot on a broken task folder (issue 18 item 2)', () => {
  const dirs: string[] = [];
  const tempDir = (prefix: string): string => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
  /** A copy of the bundled tasks with `file` of `task` replaced by `text`. */
  const brokenTasks = (task: string, file: string, text: (original: string) => string): string => {
    const tasks = tempDir('airlock-boot-tasks-');
    cpSync(BUNDLED_TASKS, tasks, { recursive: true });
    writeFileSync(join(tasks, task, file), text(readFileSync(join(BUNDLED_TASKS, task, file), 'utf8')));
    return tasks;
  };
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('main, when one task.json names an unknown check, then the process exits non-zero before listening and stderr names the file, pointer and rule', async () => {
    const tasks = brokenTasks('lead.classify', 'task.json', (original) => {
      const spec = JSON.parse(original) as { output_rules: unknown[] };
      spec.output_rules.push({ check: 'no_such_check', action: 'review' });
      return JSON.stringify(spec);
    });

    const exit = await runMain({ AIRLOCK_TASKS_DIR: tasks, AIRLOCK_DATA_DIR: tempDir('airlock-boot-data-'), PORT: '0', HOST: '127.0.0.1', AIRLOCK_LOG_LEVEL: 'info' });

    assert.notEqual(exit.code, 0);
    assert.equal(exit.signal, null, 'it exited on its own, it was not killed after listening');
    assert.ok(!exit.stdout.includes('airlock listening'));
    assert.match(exit.stderr, /lead\.classify\/task\.json#\/output_rules\/4: \(no_such_check\): unknown check/);
  });

  test('main, when an output schema is not strict-compatible, then the process exits non-zero before listening and stderr names the file and pointer', async () => {
    const tasks = brokenTasks('support.answer', 'output.schema.json', (original) => JSON.stringify({ ...(JSON.parse(original) as object), additionalProperties: true }));

    const exit = await runMain({ AIRLOCK_TASKS_DIR: tasks, AIRLOCK_DATA_DIR: tempDir('airlock-boot-data-'), PORT: '0', HOST: '127.0.0.1' });

    assert.notEqual(exit.code, 0);
    assert.equal(exit.signal, null);
    assert.ok(!exit.stdout.includes('airlock listening'));
    assert.match(exit.stderr, /support\.answer\/output\.schema\.json: strict mode needs "additionalProperties": false/);
  });
});
