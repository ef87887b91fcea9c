// Task versions in SQLite: the files of each imported task folder version, its state, and the generation every
// activation bumps so each process reloads its tasks on its next request.
import type { SqliteDatabase } from './db.js';
import type { TaskVersionRecord, TaskVersionState, TaskVersionStore } from '../types.js';

interface TaskVersionRow {
  name: string;
  version: number;
  state: TaskVersionState;
  digest: string;
  files: string;
  created_at: string;
  created_by: string;
  activated_at: string | null;
  activated_by: string | null;
}

const toRecord = (row: TaskVersionRow): TaskVersionRecord => ({
  name: row.name,
  version: row.version,
  state: row.state,
  digest: row.digest,
  files: JSON.parse(row.files) as Record<string, string>,
  createdAt: row.created_at,
  createdBy: row.created_by,
  activatedAt: row.activated_at,
  activatedBy: row.activated_by,
});

export function createSqliteTaskVersionStore(db: SqliteDatabase): TaskVersionStore {
  const generation = db.prepare<[], number>('SELECT generation FROM task_generation').pluck();
  const active = db.prepare<[], TaskVersionRow>("SELECT * FROM task_versions WHERE state = 'active' ORDER BY name");
  const all = db.prepare<[], TaskVersionRow>('SELECT * FROM task_versions ORDER BY name, version DESC');
  const ofTask = db.prepare<[string], TaskVersionRow>('SELECT * FROM task_versions WHERE name = ? ORDER BY version DESC');
  const one = db.prepare<[string, number], TaskVersionRow>('SELECT * FROM task_versions WHERE name = ? AND version = ?');
  const byDigest = db.prepare<[string, string], TaskVersionRow>('SELECT * FROM task_versions WHERE name = ? AND digest = ?');
  const nextVersion = db.prepare<[string], number>('SELECT coalesce(max(version), 0) + 1 FROM task_versions WHERE name = ?').pluck();
  const insert = db.prepare(`INSERT INTO task_versions (name, version, state, digest, files, created_at, created_by)
    VALUES (@name, @version, 'draft', @digest, @files, @at, @by)`);
  const retireActive = db.prepare("UPDATE task_versions SET state = 'retired' WHERE name = ? AND state = 'active'");
  const makeActive = db.prepare("UPDATE task_versions SET state = 'active', activated_at = ?, activated_by = ? WHERE name = ? AND version = ?");
  const bump = db.prepare('UPDATE task_generation SET generation = generation + 1');

  const importVersion = db.transaction((input: Parameters<TaskVersionStore['importVersion']>[0]) => {
    const existing = byDigest.get(input.name, input.digest);
    if (existing !== undefined) return { record: toRecord(existing), created: false };
    const version = nextVersion.get(input.name) ?? 1;
    insert.run({ name: input.name, version, digest: input.digest, files: JSON.stringify(input.files), at: input.at, by: input.by });
    return { record: toRecord(one.get(input.name, version) as TaskVersionRow), created: true };
  });
  const activate = db.transaction((name: string, version: number, at: string, by: string) => {
    if (one.get(name, version) === undefined) return undefined;
    retireActive.run(name);
    makeActive.run(at, by, name, version);
    bump.run();
    return toRecord(one.get(name, version) as TaskVersionRow);
  });

  return {
    async generation() {
      return generation.get() ?? 0;
    },
    async active() {
      return active.all().map(toRecord);
    },
    async list(name) {
      return (name === undefined ? all.all() : ofTask.all(name)).map(toRecord);
    },
    async get(name, version) {
      const row = one.get(name, version);
      return row === undefined ? undefined : toRecord(row);
    },
    async importVersion(input) {
      return importVersion.immediate(input);
    },
    async activate(name, version, at, by) {
      return activate.immediate(name, version, at, by);
    },
  };
}
