// Task versions in PostgreSQL, shared by every Airlock process: the files of each imported task folder version, its
// state, and the generation every activation bumps so each process reloads its tasks on its next request.
import { inTransaction, type PgPool } from './db.js';
import type { TaskVersionRecord, TaskVersionState, TaskVersionStore } from '../types.js';

interface TaskVersionRow {
  name: string;
  version: number;
  state: TaskVersionState;
  digest: string;
  files: Record<string, string>;
  created_at: Date;
  created_by: string;
  activated_at: Date | null;
  activated_by: string | null;
}

const toRecord = (row: TaskVersionRow): TaskVersionRecord => ({
  name: row.name,
  version: row.version,
  state: row.state,
  digest: row.digest,
  files: row.files,
  createdAt: row.created_at.toISOString(),
  createdBy: row.created_by,
  activatedAt: row.activated_at?.toISOString() ?? null,
  activatedBy: row.activated_by,
});

// Serialises imports and activations of one task across processes (two boots importing the same folder at once).
const LOCK_TASK = 'SELECT pg_advisory_xact_lock(hashtext($1))';

export function createPostgresTaskVersionStore(pool: PgPool): TaskVersionStore {
  return {
    async generation() {
      const { rows } = await pool.query<{ generation: number }>('SELECT generation FROM task_generation');
      return rows[0]?.generation ?? 0;
    },
    async active() {
      const { rows } = await pool.query<TaskVersionRow>("SELECT * FROM task_versions WHERE state = 'active' ORDER BY name");
      return rows.map(toRecord);
    },
    async list(name) {
      const { rows } =
        name === undefined
          ? await pool.query<TaskVersionRow>('SELECT * FROM task_versions ORDER BY name, version DESC')
          : await pool.query<TaskVersionRow>('SELECT * FROM task_versions WHERE name = $1 ORDER BY version DESC', [name]);
      return rows.map(toRecord);
    },
    async get(name, version) {
      const { rows } = await pool.query<TaskVersionRow>('SELECT * FROM task_versions WHERE name = $1 AND version = $2', [name, version]);
      return rows[0] === undefined ? undefined : toRecord(rows[0]);
    },
    async importVersion(input) {
      return inTransaction(pool, async (client) => {
        await client.query(LOCK_TASK, [input.name]);
        const existing = await client.query<TaskVersionRow>('SELECT * FROM task_versions WHERE name = $1 AND digest = $2', [input.name, input.digest]);
        if (existing.rows[0] !== undefined) return { record: toRecord(existing.rows[0]), created: false };
        const { rows } = await client.query<TaskVersionRow>(
          `INSERT INTO task_versions (name, version, state, digest, files, created_at, created_by)
           SELECT $1, coalesce(max(version), 0) + 1, 'draft', $2, $3, $4, $5 FROM task_versions WHERE name = $1
           RETURNING *`,
          [input.name, input.digest, JSON.stringify(input.files), input.at, input.by],
        );
        return { record: toRecord(rows[0] as TaskVersionRow), created: true };
      });
    },
    async activate(name, version, at, by) {
      return inTransaction(pool, async (client) => {
        await client.query(LOCK_TASK, [name]);
        const target = await client.query('SELECT 1 FROM task_versions WHERE name = $1 AND version = $2', [name, version]);
        if (target.rowCount === 0) return undefined;
        await client.query("UPDATE task_versions SET state = 'retired' WHERE name = $1 AND state = 'active'", [name]);
        const { rows } = await client.query<TaskVersionRow>(
          "UPDATE task_versions SET state = 'active', activated_at = $3, activated_by = $4 WHERE name = $1 AND version = $2 RETURNING *",
          [name, version, at, by],
        );
        await client.query('UPDATE task_generation SET generation = generation + 1');
        return toRecord(rows[0] as TaskVersionRow);
      });
    },
  };
}
