// The `airlock` command line: keys, corpus, reviews, tasks and doctor. It opens the same database as the
// server (AIRLOCK_DATA_DIR) and never prints a secret except the one it just created.
import { parseArgs } from 'node:util';
import { existsSync, readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { ConfigError, describeUnknownVariables, loadConfig, unknownVariables, withBundledFolders, type Config } from '../config.js';
import { checkRegistryFor, createModelScreen, databasePath, describeProcesses, describeServing, retentionPolicy, taskCompileDeps, type Runtime } from '../runtime.js';
import { purgeExpired } from '../retention.js';
import { createReviewAdmin } from '../admin/reviews.js';
import { createWebhookEvents } from '../webhooks/events.js';
import { webhooksCommand } from './webhooks.js';
import { loadTaskFolders, readTaskFolder } from '../tasks/load.js';
import { TASK_FILE } from '../tasks/compile.js';
import { createTaskAdmin, type TaskAdmin } from '../admin/tasks.js';
import { isAppError } from '../errors.js';
import { print, step, table, type CliIO } from './output.js';
import { need, UsageError, withRuntime } from './common.js';
import { keysCommand } from './keys.js';
import { corpusCommand } from './corpus.js';
import { packageVersion } from '../package-info.js';
import { verifySqliteVecExtension } from '../store/sqlite/extension-integrity.js';
import { probeUpstream } from '../model/upstream-diagnosis.js';

const HELP = `airlock: the guarded gateway between automations and AI models

Usage: airlock <command> [options]            (add --json for machine-readable output)

  keys create --name NAME --scopes 'tasks:*' [--env ENV] [--expires ISO] [--signed]
                                     create an API key; the key is printed once
  keys list                          list keys (never their secrets)
  keys revoke ID                     revoke a key now
  keys rotate ID [--overlap-hours 24] [--expires ISO]
                                     new key with the same scopes and expiry; the old one expires after the overlap
  keys rotate-secret ID [--overlap-hours 24]
                                     new signing secret; older ones stop verifying after the overlap
  keys reseal                        re-encrypt stored signing and webhook secrets under AIRLOCK_SECRET_KEY (after a key rotation)
  corpus ingest PATH [--collection C] [--owner O] [--approve]
                                     ingest a file or folder: .md .txt .html .pdf .docx, front matter optional
                                     (id from the path, title from the first heading); exit 1 if a file was refused
  corpus sync wordpress --url URL --collection C [--type posts,pages] [--user U --app-password P]
                                     new and changed posts/pages become drafts; gone ones are proposed for retirement
  corpus list [--collection C]       documents with their current state
  corpus approve DOC [--version N]   approve a version (the previous approved one is retired atomically)
  corpus approve --all-drafts [--collection C] [--dry-run]
                                     approve every draft (never a quarantined version)
  corpus retire DOC                  retire the approved version
  corpus reindex                     re-embed every version with the configured embedder
  reviews list [--state open]        the review queue
  reviews show ID                    one review item
  reviews resolve ID --approve|--reject [--output JSON] [--note TEXT]
  webhooks create --url URL --events review.resolved[,request.completed] [--key ID | --task NAME]
                                     register a signed webhook endpoint; its whsec_ secret is printed once
  webhooks list | delete ID | test ID
  webhooks enable ID                 send to an endpoint again after its receiver answered 410 Gone (which disables it)
  webhooks deliveries [--state dead] [--endpoint ID]
  webhooks redeliver DELIVERY_ID     put a dead-lettered delivery back in the outbox
  tasks check [DIR]                  validate task folders without starting (exit 1 naming file and JSON pointer)
  tasks list                         tasks and their versions (draft, active, retired)
  tasks show NAME [--version N]      one version with its files (the active one by default)
  tasks import DIR                   store a task folder (or every folder under DIR) as a new draft version
  tasks activate NAME [--version N]  activate a version (the newest by default); running servers pick it up
  tasks diff NAME --from N --to M    unified diff of the files of two versions
  maintenance purge                  delete expired audit rows, idempotency records and replay ids now
  doctor                             check configuration, database, sqlite-vec, corpus and upstream
  help                               this text

Exit codes: 0 ok, 1 the command failed (or a file was refused, or doctor found a problem), 2 usage error.
airlock --version prints the version; airlock <command> --help the help of that command.
Environment: AIRLOCK_DATA_DIR (./data), AIRLOCK_ENV (development), AIRLOCK_TASKS_DIR (./tasks), AIRLOCK_CORPUS_DIR, ...
Run from another directory, the CLI uses the project's data, tasks and corpus folders unless these variables say otherwise.`;

/** The help of one command group (`airlock corpus --help`): its entries of HELP, continuation lines included. */
function commandHelp(area: string): string | undefined {
  const lines: string[] = [];
  let inEntry = false;
  for (const line of HELP.split('\n')) {
    // An entry is its `  area action` line and the deeper-indented lines under it.
    inEntry = line.startsWith(`  ${area} `) || (inEntry && /^ {3,}\S/.test(line));
    if (inEntry) lines.push(line);
  }
  return lines.length === 0 ? undefined : `Usage: airlock ${area} <action> [options]            (add --json for machine-readable output)\n\n${lines.join('\n')}`;
}

/** `airlock corpus list | head` closes the pipe early: that ends the output, not with a stack trace. */
const guardedStreams = new WeakSet<Writable>();
const quietOnBrokenPipe = (stream: Writable): void => {
  if (guardedStreams.has(stream)) return;
  guardedStreams.add(stream);
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
};

export async function runCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, out: Writable, err: Writable): Promise<number> {
  // Known before parsing, so even an option error is reported as JSON to a script that asked for it.
  let io: CliIO = { out, err, json: argv.includes('--json') };
  quietOnBrokenPipe(out);
  quietOnBrokenPipe(err);
  try {
    if (argv[0] === '--version' || argv[0] === '-V') {
      print(io, { version: packageVersion() }, () => `airlock ${packageVersion()}`);
      return 0;
    }
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        name: { type: 'string' },
        scopes: { type: 'string' },
        env: { type: 'string' },
        expires: { type: 'string' },
        signed: { type: 'boolean', default: false },
        'overlap-hours': { type: 'string', default: '24' },
        collection: { type: 'string' },
        owner: { type: 'string' },
        approve: { type: 'boolean', default: false },
        'all-drafts': { type: 'boolean', default: false },
        'dry-run': { type: 'boolean', default: false },
        type: { type: 'string' },
        user: { type: 'string' },
        'app-password': { type: 'string' },
        reject: { type: 'boolean', default: false },
        version: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        state: { type: 'string' },
        output: { type: 'string' },
        note: { type: 'string' },
        url: { type: 'string' },
        events: { type: 'string' },
        key: { type: 'string' },
        task: { type: 'string' },
        endpoint: { type: 'string' },
      },
    });
    io = { out, err, json: values.json };
    const [area, action, target] = positionals;
    const areaHelp = values.help && area !== undefined ? commandHelp(area) : undefined;
    if (areaHelp !== undefined) {
      print(io, { usage: `airlock ${area ?? ''} <action> [options]`, commands: COMMANDS.filter((command) => command.startsWith(`${area ?? ''} `)) }, () => areaHelp);
      return 0;
    }
    if (values.help || area === undefined || area === 'help') {
      print(io, { usage: 'airlock <command> [options]', commands: COMMANDS }, () => HELP);
      return 0;
    }
    if (!COMMANDS.includes(`${area} ${action ?? ''}`.trim())) {
      throw new UsageError(`unknown command "${positionals.join(' ')}"; run "airlock help"`);
    }
    env = withBundledFolders(env);
    if (area === 'doctor') return await doctor(env, io);
    const config = loadConfig(env);
    if (area === 'tasks' && action === 'check') {
      const dir = resolve(target ?? config.AIRLOCK_TASKS_DIR);
      const tasks = loadTaskFolders(dir, taskCompileDeps(config, checkRegistryFor(createModelScreen(config)))).map(describeServing);
      print(io, { ok: true, dir, tasks }, () => [`ok: ${tasks.length} tasks in ${dir}`, ...tasks.map((task) => `  ${task.name.padEnd(24)} input ${task.input_versions.join(', ')}  ${task.serving}`)].join('\n'));
      return 0;
    }
    if (area === 'keys') return await withRuntime(config, (runtime) => keysCommand(action ?? '', target, values, runtime, io));
    if (area === 'corpus') return await withRuntime(config, (runtime) => corpusCommand(action ?? '', target, values, runtime, io));

    if (area === 'webhooks') return await withRuntime(config, (runtime) => webhooksCommand(action ?? '', target, values, runtime, io, need));

    switch (`${area} ${action ?? ''}`.trim()) {
      case 'maintenance purge':
        return await withRuntime(config, async (runtime) => {
          const purged = await purgeExpired(runtime.store, retentionPolicy(config), runtime.clock());
          print(io, purged, () => `purged ${purged.auditRows} audit rows, ${purged.idempotencyRecords} idempotency records, ${purged.taskResults} task results, ${purged.replayIds} replay ids, ${purged.webhookDeliveries} finished webhook deliveries`);
          return 0;
        });
      case 'tasks list':
        return await withRuntime(config, async (runtime) => {
          const tasks = await taskAdmin(runtime).list();
          print(io, tasks, () => table(tasks.map((task) => ({ task: task.name, active: task.active_version, versions: task.versions.map((entry) => `v${entry.version} ${entry.state}`) })), ['task', 'active', 'versions']));
          return 0;
        });
      case 'tasks show':
        return await withRuntime(config, async (runtime) => {
          const shown = await taskAdmin(runtime).show(need(target, 'task name'), versionOption(values.version));
          print(io, shown, () => [`${shown.name} v${shown.version} (${shown.state}), digest ${shown.digest}`, ...Object.keys(shown.files).map((file) => `  ${file}`)].join('\n'));
          return 0;
        });
      case 'tasks import':
        return await withRuntime(config, async (runtime) => {
          const dir = resolve(need(target, 'folder'));
          const folders = existsSync(join(dir, TASK_FILE)) ? [dir] : readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => join(dir, entry.name));
          const imported: Array<Awaited<ReturnType<TaskAdmin['importFolder']>>> = [];
          for (const folder of folders) imported.push(await taskAdmin(runtime).importFolder(basename(folder), readTaskFolder(folder), { by: 'cli' }));
          print(io, imported, () => imported.map((entry) => `${entry.name} v${entry.version} ${entry.created ? 'imported as a draft' : `unchanged (already v${entry.version}, ${entry.state})`}`).join('\n'));
          return 0;
        });
      case 'tasks activate':
        return await withRuntime(config, async (runtime) => {
          const activated = await taskAdmin(runtime).activate(need(target, 'task name'), versionOption(values.version), { by: 'cli' });
          print(io, activated, () => `activated ${activated.name} v${activated.version}${activated.retired_version === null ? '' : ` (v${activated.retired_version} retired)`}`);
          return 0;
        });
      case 'tasks diff':
        return await withRuntime(config, async (runtime) => {
          const diff = await taskAdmin(runtime).diff(need(target, 'task name'), versionOption(need(values.from, '--from')) as number, versionOption(need(values.to, '--to')) as number);
          print(io, diff, () => (diff.files.length === 0 ? 'no differences' : diff.files.map((file) => file.diff).join('\n')));
          return 0;
        });
      case 'reviews list':
        return await withRuntime(config, async (runtime) => {
          const { reviews } = await reviewAdmin(runtime).list(values.state === undefined ? {} : { state: values.state });
          print(io, reviews, () => table(reviews.map((review) => ({ ...review, reasons: review.reasons.join('; ') })), ['id', 'created_at', 'task', 'state', 'reasons']));
          return 0;
        });
      case 'reviews show':
        return await withRuntime(config, async (runtime) => {
          const review = await reviewAdmin(runtime).get(need(target, 'review id'));
          print(io, review, () => JSON.stringify(review, null, 2));
          return 0;
        });
      case 'reviews resolve':
        return await withRuntime(config, async (runtime) => {
          if (values.approve === values.reject) throw new UsageError('pass exactly one of --approve or --reject');
          const review = await reviewAdmin(runtime).resolve(need(target, 'review id'), {
            decision: values.approve ? 'approve' : 'reject',
            ...(values.output === undefined ? {} : { output: parseJsonOption(values.output, '--output') }),
            ...(values.note === undefined ? {} : { note: values.note }),
            by: 'cli',
          });
          print(io, review, () => `${review.id}: ${review.state}`);
          return 0;
        });
      default:
        throw new UsageError(`unknown command "${positionals.join(' ')}"; run "airlock help"`);
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // parseArgs reports unknown or malformed options as TypeErrors with an ERR_PARSE_ARGS_* code.
    const usage = error instanceof UsageError || (error instanceof TypeError && 'code' in error);
    const code = usage ? 2 : 1;
    const kind = isAppError(error) ? error.code : usage ? 'usage' : error instanceof ConfigError ? 'config' : 'error';
    if (io.json) err.write(`${JSON.stringify({ error: kind, message, exit_code: code })}\n`);
    else err.write(`airlock: ${message}${usage ? '\nRun "airlock help" for usage.' : ''}\n`);
    return code;
  }
}

/** Every command the dispatcher knows, as `area action`; `help` lists them for scripts. */
const COMMANDS = [
  'keys create', 'keys list', 'keys revoke', 'keys rotate', 'keys rotate-secret', 'keys reseal', 'maintenance purge',
  'corpus ingest', 'corpus sync', 'corpus list', 'corpus approve', 'corpus retire', 'corpus reindex',
  'reviews list', 'reviews show', 'reviews resolve', 'tasks check', 'tasks list', 'tasks show', 'tasks import', 'tasks activate', 'tasks diff', 'doctor', 'help',
  'webhooks create', 'webhooks list', 'webhooks delete', 'webhooks test', 'webhooks deliveries', 'webhooks redeliver', 'webhooks enable',
];

const parseJsonOption = (value: string, option: string): unknown => {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw new UsageError(`${option} must be valid JSON`);
  }
};

/** A --version style option: undefined when absent, a usage error unless a positive whole number. */
function versionOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const version = Number(value);
  if (!Number.isSafeInteger(version) || version < 1) throw new UsageError('a version must be a positive whole number');
  return version;
}

const taskAdmin = (runtime: Runtime) =>
  createTaskAdmin({ versions: runtime.store.tasks, audit: runtime.store.audit, compileDeps: runtime.taskCompileDeps, clock: runtime.clock, newId: runtime.newId });

const reviewAdmin = (runtime: Runtime) =>
  createReviewAdmin({
    store: runtime.store,
    tasks: runtime.tasks,
    clock: runtime.clock,
    newId: runtime.newId,
    resultTtlMs: runtime.config.AIRLOCK_IDEMPOTENCY_TTL_HOURS * 3_600_000,
    // A decision made here raises its webhooks too; the server's delivery worker sends them.
    planDeliveries: createWebhookEvents({ store: runtime.store.webhooks, clock: runtime.clock, newId: runtime.newId }),
  });

async function doctor(env: Readonly<Record<string, string | undefined>>, io: CliIO): Promise<number> {
  const checks: Array<{ check: string; ok: boolean; detail: string }> = [];
  const record = (check: string, ok: boolean, detail: string): void => {
    checks.push({ check, ok, detail });
  };
  const report = (): number => {
    const ok = checks.every((check) => check.ok);
    print(io, { ok, checks }, () => checks.map((check) => `${check.ok ? 'ok  ' : 'FAIL'}  ${check.check.padEnd(11)} ${check.detail}`).join('\n'));
    return ok ? 0 : 1;
  };
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    record('config', false, error instanceof Error ? error.message : String(error));
    return report();
  }
  record('config', true, `environment ${config.AIRLOCK_ENV}, data dir ${resolve(config.AIRLOCK_DATA_DIR)}`);
  record('processes', true, describeProcesses(config));
  const unknown = unknownVariables(env);
  if (unknown.length > 0) record('variables', false, `unknown, ignored: ${describeUnknownVariables(unknown)}`);
  const done = step(io, 'checking database, corpus and upstream');
  try {
    await withRuntime(config, async (runtime) => {
      const db = runtime.sqliteDb;
      record('database', await runtime.store.ping(), db === undefined ? 'PostgreSQL (AIRLOCK_DATABASE_URL)' : databasePath(config));
      if (db !== undefined) {
        try {
          const { version } = db.prepare('SELECT vec_version() AS version').get() as { version: string };
          // The runtime verified the binary before loading it; hashing it again shows which hash that was.
          const vec = verifySqliteVecExtension(config.AIRLOCK_SQLITE_VEC_SHA256 === undefined ? {} : { expectedSha256: config.AIRLOCK_SQLITE_VEC_SHA256 });
          record('sqlite-vec', true, `extension loaded, ${version}, sha256 ${vec.sha256} (${vec.source === 'pinned' ? 'pinned' : 'AIRLOCK_SQLITE_VEC_SHA256'})`);
        } catch (error) {
          record('sqlite-vec', false, error instanceof Error ? error.message : String(error));
        }
      }
      record('tasks', true, runtime.tasks.list().map((task) => task.name).join(', '));
      const stats = await runtime.corpus.stats();
      record('corpus', stats.approvedChunks > 0, `${stats.documents} documents, ${stats.approvedChunks} approved chunks, embedder ${runtime.embedder.name}`);
      if (runtime.model.provider === 'offline') {
        record('upstream', true, 'offline extractive provider (no network needed)');
      } else {
        const base = config.AIRLOCK_UPSTREAM_BASE_URL ?? 'https://api.openai.com/v1';
        const probe = await probeUpstream({
          apiKey: config.OPENAI_API_KEY ?? 'not-needed',
          ...(config.AIRLOCK_UPSTREAM_BASE_URL === undefined ? {} : { baseURL: config.AIRLOCK_UPSTREAM_BASE_URL }),
          model: config.AIRLOCK_MODEL,
          timeoutMs: 5_000,
        });
        record('upstream', probe.ok, `${base}: ${probe.detail}`);
      }
    });
  } catch (error) {
    record('startup', false, error instanceof Error ? error.message : String(error));
  } finally {
    done();
  }
  return report();
}
