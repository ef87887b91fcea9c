// Opens the embedded SQLite database: pragmas, the sqlite-vec extension (hash-verified first) and versioned migrations.
// Nothing outside store/ ever sees the Database handle.
import Database from 'better-sqlite3';
import { verifySqliteVecExtension } from './extension-integrity.js';

export type SqliteDatabase = Database.Database;

export interface Migration {
  /** Stable, unique id; applied once, in list order, recorded in schema_migrations. */
  readonly id: string;
  readonly sql: string;
}

export interface OpenDatabaseOptions {
  /** A file path, or ':memory:' for tests. */
  readonly path: string;
  readonly migrations: readonly Migration[];
  /**
   * WAL makes NORMAL durable against application crashes (a power loss may drop the last commits);
   * FULL also survives power loss at a cost per commit. Chosen per deployment, not by accident.
   */
  readonly synchronous?: 'NORMAL' | 'FULL';
  /** LLM03-4: replaces the pinned SHA-256 of the sqlite-vec binary (lower-case hex); the binary is verified either way. */
  readonly expectedExtensionSha256?: string;
}

export function openDatabase(options: OpenDatabaseOptions): SqliteDatabase {
  // Verified before the file is opened, so a refused extension leaves no handle, lock or WAL file behind.
  const extension = verifySqliteVecExtension(
    options.expectedExtensionSha256 === undefined ? {} : { expectedSha256: options.expectedExtensionSha256 },
  );
  const db = new Database(options.path);
  try {
    if (options.path !== ':memory:') db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.loadExtension(extension.path);
    applyMigrations(db, options.migrations);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function applyMigrations(db: SqliteDatabase, migrations: readonly Migration[]): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
  const applied = new Set(db.prepare('SELECT id FROM schema_migrations').pluck().all() as string[]);
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE id = ?').pluck();
  const record = db.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)');
  // IMMEDIATE, and checked again under the write lock: processes starting together on one file apply each once.
  const apply = db.transaction((migration: Migration) => {
    if (isApplied.get(migration.id) !== undefined) return;
    db.exec(migration.sql);
    record.run(migration.id, new Date().toISOString());
  });
  for (const migration of migrations) {
    if (!applied.has(migration.id)) apply.immediate(migration);
  }
}
