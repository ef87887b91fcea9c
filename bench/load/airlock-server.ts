// Airlock for the load benchmark: the server's own wiring (appDepsFromRuntime) against a database built beforehand by
// build-db.ts, minus the corpus bootstrap. Writes `AIRLOCK_READY {"port":N,"pid":P}` on stderr once listening; with
// AIRLOCK_PROCESSES=N the primary writes it once every worker listens, adding `"workers":[pids]`.
// BENCH_RETRIEVAL=fixed answers every search with the first search's hits, so a run measures the guard chain alone.
import cluster from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { appDepsFromRuntime, openRuntime } from '../../src/runtime.js';
import { createMetrics } from '../../src/metrics.js';
import { createApp } from '../../src/app.js';
import { runWorkerPool } from '../../src/processes.js';
import type { RetrievedChunk, Retriever } from '../../src/retrieval/types.js';

const config = loadConfig(process.env);
const logger = createLogger({ level: config.AIRLOCK_LOG_LEVEL });
const ready = (details: { port: number; workers?: number[] }): void => {
  process.stderr.write(`AIRLOCK_READY ${JSON.stringify({ port: details.port, pid: process.pid, ...(details.workers === undefined ? {} : { workers: details.workers }) })}\n`);
};

/** One real search, then its hits for every query: what the rest of the call costs without retrieval. */
function fixedRetriever(real: Retriever): Retriever {
  let first: Promise<RetrievedChunk[]> | undefined;
  return { search: (request) => (first ??= real.search(request)) };
}

if (config.AIRLOCK_PROCESSES > 1 && cluster.isPrimary) {
  runWorkerPool({ processes: config.AIRLOCK_PROCESSES, stopTimeoutMs: config.AIRLOCK_SHUTDOWN_GRACE_MS + 5_000, logger, onReady: ready });
} else {
  await serve();
}

async function serve(): Promise<void> {
  const runtime = await openRuntime(config);
  const { corpus } = runtime;
  if ((await corpus.stats()).approvedChunks === 0) throw new Error(`no approved corpus in ${config.AIRLOCK_DATA_DIR}; run build-db.ts first`);

  const deps = appDepsFromRuntime(runtime, { logger, metrics: createMetrics(), version: 'bench' });
  const app = createApp(process.env['BENCH_RETRIEVAL'] === 'fixed' ? { ...deps, retriever: fixedRetriever(deps.retriever) } : deps);

  const server = app.listen(config.PORT, config.HOST, () => {
    // A worker's readiness is the primary's to announce, once for all of them.
    if (!cluster.isWorker) ready({ port: (server.address() as AddressInfo).port });
  });
  server.keepAliveTimeout = 65_000;

  // SIGINT as well as SIGTERM, and a clean exit, so `node --cpu-prof` writes its profile.
  const stop = (): void => {
    server.close(() => {
      void runtime.close().then(() => process.exit(0));
    });
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
