// Managing task versions, shared by the CLI and /admin/tasks: list, show, diff, import a folder as a draft, and
// activate a version (the previous active one is retired atomically). A version is compiled before it is stored or
// activated, so nothing invalid can become active; every import and activation is an audit row.
import { AppError } from '../errors.js';
import { compileTask, digestOf, TaskLoadError, type TaskCompileDeps } from '../tasks/compile.js';
import { unifiedDiff } from '../retrieval/line-diff.js';
import type { AuditStore, TaskVersionRecord, TaskVersionStore } from '../store/types.js';

export interface TaskAdminDeps {
  readonly versions: TaskVersionStore;
  readonly audit: AuditStore;
  readonly compileDeps: TaskCompileDeps;
  readonly clock: () => Date;
  readonly newId: () => string;
}

export interface ActorContext {
  readonly by: string;
  readonly requestId?: string;
}

/** A version without its files: what lists show. */
export const describeVersion = (record: TaskVersionRecord) => ({
  name: record.name,
  version: record.version,
  state: record.state,
  digest: record.digest,
  created_at: record.createdAt,
  created_by: record.createdBy,
  activated_at: record.activatedAt,
  activated_by: record.activatedBy,
});

/** Compiles a version's files the way the server will, turning load errors into a 400 naming file and pointer. */
function compiled(name: string, files: Readonly<Record<string, string>>, deps: TaskCompileDeps, version?: number) {
  try {
    return compileTask(name, files, deps, version);
  } catch (error) {
    if (!(error instanceof TaskLoadError)) throw error;
    throw new AppError('validation_failed', {
      detail: `The task folder ${name} is invalid; nothing was stored.`,
      errors: error.issues.map((issue) => ({ path: `${issue.file}${issue.pointer === '' ? '' : `#${issue.pointer}`}`, pointer: issue.pointer, message: issue.message })),
    });
  }
}

export function createTaskAdmin(deps: TaskAdminDeps) {
  const record = async (action: string, name: string, actor: ActorContext, detail: Record<string, unknown>): Promise<void> => {
    await deps.audit.append({
      id: deps.newId(),
      requestId: actor.requestId ?? deps.newId(),
      at: deps.clock().toISOString(),
      keyId: actor.by,
      action,
      task: name,
      eventId: null,
      source: null,
      decision: 'admin',
      status: 200,
      code: null,
      chunkIds: [],
      model: null,
      latencyMs: 0,
      detail,
    });
  };
  const version = async (name: string, number: number): Promise<TaskVersionRecord> => {
    const found = await deps.versions.get(name, number);
    if (found === undefined) throw new AppError('not_found', { detail: `No version ${number} of task ${name}.` });
    return found;
  };

  return {
    async list() {
      const grouped = new Map<string, TaskVersionRecord[]>();
      for (const entry of await deps.versions.list()) grouped.set(entry.name, [...(grouped.get(entry.name) ?? []), entry]);
      return [...grouped].map(([name, versions]) => ({
        name,
        active_version: versions.find((entry) => entry.state === 'active')?.version ?? null,
        versions: versions.map(describeVersion),
      }));
    },
    async show(name: string, number?: number) {
      const versions = await deps.versions.list(name);
      if (versions.length === 0) throw new AppError('not_found', { detail: `No task named ${name}.` });
      const chosen = number === undefined ? (versions.find((entry) => entry.state === 'active') ?? versions[0]) : await version(name, number);
      return { ...describeVersion(chosen as TaskVersionRecord), files: (chosen as TaskVersionRecord).files, versions: versions.map(describeVersion) };
    },
    async diff(name: string, from: number, to: number) {
      const [before, after] = [await version(name, from), await version(name, to)];
      const files = [...new Set([...Object.keys(before.files), ...Object.keys(after.files)])].sort();
      return {
        name,
        from,
        to,
        files: files
          .filter((file) => before.files[file] !== after.files[file])
          .map((file) => ({ file, diff: unifiedDiff(before.files[file] ?? '', after.files[file] ?? '', { from: `${name}@${from}/${file}`, to: `${name}@${to}/${file}` }) })),
      };
    },
    /** Stores a folder's files as a new draft version (or finds the version that already holds them). */
    async importFolder(name: string, files: Readonly<Record<string, string>>, actor: ActorContext) {
      compiled(name, files, deps.compileDeps);
      const { record: stored, created } = await deps.versions.importVersion({ name, digest: digestOf(files), files, at: deps.clock().toISOString(), by: actor.by });
      if (created) await record('task.import', name, actor, { version: stored.version, digest: stored.digest });
      return { ...describeVersion(stored), created };
    },
    /** Activates a version (the newest by default) after compiling it again; the active one is retired in the same transaction. */
    async activate(name: string, number: number | undefined, actor: ActorContext) {
      const versions = await deps.versions.list(name);
      const target = number === undefined ? versions[0] : versions.find((entry) => entry.version === number);
      if (target === undefined) throw new AppError('not_found', { detail: number === undefined ? `No task named ${name}.` : `No version ${number} of task ${name}.` });
      if (target.state === 'active') throw new AppError('state_conflict', { detail: `Version ${target.version} of ${name} is already active.` });
      compiled(name, target.files, deps.compileDeps, target.version);
      const previous = versions.find((entry) => entry.state === 'active')?.version ?? null;
      const activated = await deps.versions.activate(name, target.version, deps.clock().toISOString(), actor.by);
      if (activated === undefined) throw new AppError('not_found', { detail: `No version ${target.version} of task ${name}.` });
      await record('task.activate', name, actor, { version: activated.version, retired_version: previous, digest: activated.digest });
      return { ...describeVersion(activated), retired_version: previous };
    },
  };
}

export type TaskAdmin = ReturnType<typeof createTaskAdmin>;
