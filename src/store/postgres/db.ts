// Connects to PostgreSQL and applies this backend's versioned migrations. Nothing outside store/ sees the pool.
import pg from 'pg';

export type PgPool = pg.Pool;
export type PgClient = pg.PoolClient;
/** Either the pool (one statement, autocommit) or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export interface PgMigration {
  /** Stable, unique id; applied once, in list order, recorded in schema_migrations. */
  readonly id: string;
  readonly sql: string;
}

// bigint (int8) columns arrive as strings by default; every int8 here (sequences, counts, generations) fits a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export function createPool(url: string, options: { readonly max?: number } = {}): PgPool {
  // A server that does not answer (host gone, pool exhausted) fails a request in seconds rather than holding it (B7).
  return new pg.Pool({ connectionString: url, max: options.max ?? 10, application_name: 'airlock', connectionTimeoutMillis: 5_000 });
}

/** Runs `body` in one transaction on one connection; rolls back on any error. */
export async function inTransaction<T>(pool: PgPool, body: (client: PgClient) => Promise<T>, isolation?: 'REPEATABLE READ'): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(isolation === undefined ? 'BEGIN' : `BEGIN ISOLATION LEVEL ${isolation}`);
    const result = await body(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

// Any constant works; it only has to be the same for every Airlock process sharing the database.
const MIGRATION_LOCK = 4_711_042;

/**
 * Applies pending migrations. Several processes may start at once against one database, so a session advisory lock
 * makes the check-then-apply atomic; each migration commits with its schema_migrations row.
 */
export async function applyMigrations(pool: PgPool, migrations: readonly PgMigration[]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const applied = new Set((await client.query<{ id: string }>('SELECT id FROM schema_migrations')).rows.map((row) => row.id));
    for (const migration of migrations) {
      if (applied.has(migration.id)) continue;
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (id) VALUES ($1)', [migration.id]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
}

export const iso = (value: Date | null): string | null => (value === null ? null : value.toISOString());
export const isoRequired = (value: Date): string => value.toISOString();
