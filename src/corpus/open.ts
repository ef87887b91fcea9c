// Opens the corpus on either backend: the store's rows with this process's retrieval engine over them.
import type { SqliteDatabase } from '../store/sqlite/db.js';
import { createSqliteCorpusRows } from '../store/sqlite/corpus.js';
import { openPostgresCorpusRows, type PostgresCorpusRowsOptions } from '../store/postgres/corpus.js';
import { openCorpus, type Corpus, type CorpusOptions } from './corpus.js';

export type CorpusOpenOptions = CorpusOptions & { readonly clock: () => Date };

/** The corpus on the embedded SQLite file; the connection stays the caller's. */
export function openSqliteCorpus(db: SqliteDatabase, options: CorpusOpenOptions): Corpus {
  return openCorpus(createSqliteCorpusRows(db, options), options);
}

/** The corpus on PostgreSQL, hearing other processes' commits when `listenUrl` is given. */
export async function openPostgresCorpus(options: CorpusOpenOptions & Omit<PostgresCorpusRowsOptions, 'embedder' | 'clock' | 'onListenError'>): Promise<Corpus> {
  const rows = await openPostgresCorpusRows({ ...options, ...(options.onBackgroundError === undefined ? {} : { onListenError: options.onBackgroundError }) });
  return openCorpus(rows, options);
}
