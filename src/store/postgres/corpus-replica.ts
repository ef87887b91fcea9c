// This process's read replica of the approved vector index. PostgreSQL holds the vectors; every Airlock process keeps
// the same quantised in-memory index as the embedded store (retrieval/vector-index.ts), loaded at start and kept in
// step by the corpus generation: LISTEN/NOTIFY says a generation committed, the events table says what it changed,
// and a search never runs on an index older than the generation it read just before (see README "Running at scale").
import pg from 'pg';
import { createVectorIndex, type VectorIndex, type VectorIndexOptions } from '../../retrieval/vector-index.js';
import { bytesToVector } from '../corpus-common.js';
import type { IndexStatus } from '../corpus.js';
import { inTransaction, type PgPool, type Queryable } from './db.js';

export const CORPUS_CHANNEL = 'airlock_corpus';

export interface IndexReplica {
  /** An index reflecting at least `generation`; catches up first (delta, or a full reload) when behind. */
  atLeast(generation: number): Promise<VectorIndex>;
  /** Records that `generation` committed (this process's write or a notification) and starts catching up. */
  observe(generation: number): void;
  status(): IndexStatus;
  close(): Promise<void>;
}

export interface IndexReplicaOptions {
  readonly pool: PgPool;
  /** For the dedicated LISTEN connection; omitted, the replica only catches up when a search asks it to. */
  readonly listenUrl?: string;
  readonly dimension: number;
  readonly index?: VectorIndexOptions;
  /** Background failures (a lost LISTEN connection, a failed catch-up); searches report their own. */
  readonly onError?: (error: unknown) => void;
}

const PAGE = 2_000;
const RECONNECT_MS = 1_000;

export async function readGeneration(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ generation: number }>('SELECT generation FROM corpus_generation');
  return rows[0]?.generation ?? 0;
}

interface EventRow {
  generation: number;
  op: 'publish' | 'unpublish' | 'reload';
  id: number | null;
  collection: string | null;
  embedding: Buffer | null;
}

export async function openIndexReplica(options: IndexReplicaOptions): Promise<IndexReplica> {
  const { pool, dimension } = options;
  const onError = options.onError ?? (() => undefined);
  let index = createVectorIndex(dimension, options.index);
  let indexed = -1;
  let known = 0;
  let running: Promise<void> | null = null;
  let closed = false;
  let listener: pg.Client | null = null;
  let reconnectTimer: NodeJS.Timeout | null = null;
  let retryTimer: NodeJS.Timeout | null = null;

  /** Builds a fresh index from one snapshot, then swaps it in: searches meanwhile keep the old, complete one. */
  async function reload(): Promise<void> {
    const fresh = createVectorIndex(dimension, options.index);
    const generation = await inTransaction(
      pool,
      async (client) => {
        const at = await readGeneration(client);
        for (let after = 0; ; ) {
          const { rows } = await client.query<{ id: number; collection: string; embedding: Buffer }>(
            'SELECT id, collection, embedding FROM corpus_chunks WHERE retrievable AND id > $1 ORDER BY id LIMIT $2',
            [after, PAGE],
          );
          for (const row of rows) fresh.add(row.id, row.collection, bytesToVector(row.embedding));
          if (rows.length < PAGE) break;
          after = rows[rows.length - 1]?.id ?? after;
        }
        return at;
      },
      'REPEATABLE READ',
    );
    index = fresh;
    indexed = generation;
    known = Math.max(known, generation);
  }

  /** Applies the events after `indexed`; falls back to a reload when any generation's events are gone or say so. */
  async function applyDelta(target: number): Promise<void> {
    const { rows } = await pool.query<EventRow>(
      `SELECT e.generation, e.op, c.id, c.collection, CASE WHEN e.op = 'publish' THEN c.embedding END AS embedding
       FROM corpus_events e LEFT JOIN corpus_chunks c ON c.document_id = e.document_id AND c.version = e.version
       WHERE e.generation > $1 AND e.generation <= $2 ORDER BY e.seq, c.id`,
      [indexed, target],
    );
    const generations = new Set(rows.map((row) => row.generation));
    const complete = generations.size === target - indexed && rows.every((row) => row.op !== 'reload');
    if (!complete) return reload();
    // No await from here on: a search sees the index before or after the whole delta, never half of it.
    for (const row of rows) {
      if (row.id === null) continue;
      if (row.op === 'publish' && row.embedding !== null && row.collection !== null) index.add(row.id, row.collection, bytesToVector(row.embedding));
      else if (row.op === 'unpublish') index.remove(row.id);
    }
    indexed = target;
  }

  /**
   * Catches up to the committed generation, and again while a notification that arrived meanwhile names a newer one:
   * callers that found this catch-up running only share it, so ending it behind `known` would strand the replica.
   */
  async function catchUp(): Promise<void> {
    for (let previous = -1; ; ) {
      const target = await readGeneration(pool);
      known = Math.max(known, target);
      if (indexed < 0) await reload();
      else if (indexed < target) await applyDelta(target);
      // A pass that found no newer committed generation ends it, so a payload naming a future one cannot spin here.
      if (closed || indexed >= known || target <= previous) return;
      previous = target;
    }
  }

  /** One catch-up at a time; callers arriving meanwhile share it and check again afterwards. */
  function runCatchUp(): Promise<void> {
    running ??= catchUp().finally(() => {
      running = null;
    });
    return running;
  }

  /** Catches up in the background; a failed catch-up is tried again shortly rather than left until the next event. */
  function kick(): void {
    runCatchUp().catch((error: unknown) => {
      onError(error);
      if (closed || retryTimer !== null) return;
      retryTimer = setTimeout(() => {
        retryTimer = null;
        if (indexed < known) kick();
      }, RECONNECT_MS);
      retryTimer.unref();
    });
  }

  async function listen(url: string): Promise<void> {
    const client = new pg.Client({ connectionString: url, application_name: 'airlock-corpus-listener' });
    const retry = (error?: unknown): void => {
      if (error !== undefined) onError(error);
      if (listener === client) listener = null;
      client.removeAllListeners();
      client.on('error', () => undefined);
      void client.end().catch(() => undefined);
      if (closed || reconnectTimer !== null) return;
      reconnectTimer = setTimeout(() => {
        reconnectTimer = null;
        // Notifications sent while disconnected are lost; the catch-up after reconnecting covers them.
        listen(url).then(kick, retry);
      }, RECONNECT_MS);
      reconnectTimer.unref();
    };
    client.on('notification', (message) => {
      const generation = Number(message.payload);
      if (Number.isSafeInteger(generation)) known = Math.max(known, generation);
      kick();
    });
    client.on('error', retry);
    client.on('end', () => retry());
    await client.connect();
    await client.query(`LISTEN ${CORPUS_CHANNEL}`);
    listener = client;
  }

  if (options.listenUrl !== undefined) await listen(options.listenUrl);
  await runCatchUp();

  return {
    async atLeast(generation) {
      known = Math.max(known, generation);
      while (indexed < generation) await runCatchUp();
      return index;
    },
    observe(generation) {
      known = Math.max(known, generation);
      if (indexed < known) kick();
    },
    status: () => ({ indexedGeneration: indexed, knownGeneration: known }),
    async close() {
      closed = true;
      if (reconnectTimer !== null) clearTimeout(reconnectTimer);
      if (retryTimer !== null) clearTimeout(retryTimer);
      const client = listener;
      listener = null;
      if (client !== null) {
        client.removeAllListeners();
        client.on('error', () => undefined);
        await client.end().catch(() => undefined);
      }
      await running?.catch(() => undefined);
    },
  };
}
