// Keeps this process's retrieval engine in step with the corpus rows: one full build from the approved chunks (at start,
// after a reindex, or when the change log no longer reaches back far enough), then only deltas, replayed from the
// store's change log whole generations at a time. On PostgreSQL a NOTIFY says a generation committed; on SQLite a search
// asks the store, which answers from PRAGMA data_version until another connection commits (README "Running at scale").
import type { RetrievalEngine } from '../retrieval/engine.js';
import type { CorpusChange, CorpusRows } from '../store/corpus.js';

/** Where this process's engine stands against the corpus generation (bumped by every approve, retire and reindex). */
export interface IndexStatus {
  /** The generation the engine reflects; -1 before its first build. */
  readonly indexedGeneration: number;
  /** The newest generation this process knows was committed (from a notification or its last check). */
  readonly knownGeneration: number;
  /** Full builds from the approved rows so far: the first, and one per reindex or log gap. */
  readonly fullBuilds: number;
  /** Generations applied as deltas from the change log. */
  readonly deltaGenerations: number;
}

export interface EngineFollower {
  /** The engine, caught up to at least `generation` first (a delta, or the first build). */
  atLeast(generation: number): Promise<RetrievalEngine>;
  /** Records that `generation` committed elsewhere and catches up in the background, once the engine is built. */
  observe(generation: number): void;
  status(): IndexStatus;
  close(): Promise<void>;
}

const PAGE = 2_000;
const GENERATIONS_PER_READ = 1_000;
const RETRY_MS = 1_000;

/** Applies one log entry; both operations are idempotent, so replaying over rows read after the entry is harmless. */
function apply(engine: RetrievalEngine, change: CorpusChange): void {
  if (change.kind === 'publish') for (const chunk of change.chunks) engine.add(chunk);
  else if (change.kind === 'unpublish') for (const rowid of change.rowids) engine.remove(rowid);
}

export function followChanges(rows: CorpusRows, createEngine: () => RetrievalEngine, onError: (error: unknown) => void): EngineFollower {
  let engine = createEngine();
  let indexed = -1;
  let known = 0;
  let fullBuilds = 0;
  let deltaGenerations = 0;
  let running: Promise<void> | null = null;
  let retryTimer: NodeJS.Timeout | null = null;
  let closed = false;

  /**
   * Replays the generations after `from` into `target`, a read at a time; returns the generation reached, or null when
   * the log cannot get there (entries trimmed, or a reload). Each read is applied with no await in between, so a search
   * sees the engine before or after whole generations, never half of one.
   */
  async function replay(target: RetrievalEngine, from: number, onApplied: (generation: number) => void): Promise<number | null> {
    for (let at = from; ; ) {
      const changes = await rows.changesSince(at, GENERATIONS_PER_READ);
      if (changes.length === 0) return at;
      let expected = at + 1;
      for (const change of changes) {
        if (change.kind === 'reload' || (change.generation !== expected && change.generation !== expected - 1)) return null;
        expected = change.generation + 1;
      }
      for (const change of changes) apply(target, change);
      at = expected - 1;
      onApplied(at);
    }
  }

  /**
   * Builds a fresh engine from the approved rows and swaps it in; searches meanwhile keep the old, complete one. The
   * pages are read after the generation they start from, so the log since then is replayed over them.
   */
  async function rebuild(): Promise<void> {
    for (;;) {
      const fresh = createEngine();
      const start = await rows.latestGeneration();
      for (let after = 0; ; ) {
        const page = await rows.loadApproved(after, PAGE);
        for (const chunk of page) fresh.add(chunk);
        if (page.length < PAGE) break;
        after = page[page.length - 1]?.rowid ?? after;
      }
      const reached = await replay(fresh, start, () => undefined);
      // A reindex committed during the build: its embeddings replace what was read, so build again.
      if (reached === null) continue;
      engine = fresh;
      indexed = reached;
      known = Math.max(known, reached);
      fullBuilds += 1;
      return;
    }
  }

  /**
   * Catches up to the committed generation, and again while a notification that arrived meanwhile names a newer one:
   * callers that found this catch-up running only share it, so ending it behind `known` would strand the engine.
   */
  async function catchUp(): Promise<void> {
    for (let previous = -1; ; ) {
      const target = await rows.latestGeneration();
      known = Math.max(known, target);
      if (indexed < 0) await rebuild();
      else if (indexed < target) {
        // Counted as each read is applied: a later read that fails leaves the engine (and the count) where it got.
        const reached = await replay(engine, indexed, (generation) => {
          deltaGenerations += generation - indexed;
          indexed = generation;
        });
        if (reached === null) await rebuild();
      }
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
      }, RETRY_MS);
      retryTimer.unref();
    });
  }

  return {
    async atLeast(generation) {
      known = Math.max(known, generation);
      while (indexed < generation) {
        const before = indexed;
        await runCatchUp();
        // The committed generation never reached `generation` (a caller's number from the future): stop here.
        if (indexed === before && indexed >= 0 && (await rows.latestGeneration()) <= indexed) break;
      }
      return engine;
    },
    observe(generation) {
      known = Math.max(known, generation);
      // An engine nobody has asked for yet (the CLI's) is not built just because others commit.
      if (indexed >= 0 && indexed < known) kick();
    },
    status: () => ({ indexedGeneration: indexed, knownGeneration: known, fullBuilds, deltaGenerations }),
    async close() {
      closed = true;
      if (retryTimer !== null) clearTimeout(retryTimer);
      await running?.catch(() => undefined);
    },
  };
}
