// The process: reads the environment, opens the store, loads the bundled corpus on first start, listens, and
// drains on SIGTERM. The only module that touches process.env, the file system layout and the port.
import cluster from 'node:cluster';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { describeUnknownVariables, loadConfig, unknownVariables, withBundledFolders } from './config.js';
import { createLogger } from './logger.js';
import { appDepsFromRuntime, createWebhookWorker, describeServing, openRuntime, retentionPolicy } from './runtime.js';
import { scheduleRetention } from './retention.js';
import { createApp } from './app.js';
import { bootstrapCorpus } from './corpus/files.js';
import { createMetrics } from './metrics.js';
import { packageVersion } from './package-info.js';
import { clusterMetricsRenderer, runWorkerPool } from './processes.js';

const version = packageVersion();

async function main(): Promise<void> {
  const config = loadConfig(withBundledFolders(process.env));
  const processLogger = createLogger({ level: config.AIRLOCK_LOG_LEVEL });
  // Each worker's lines name it, so an operator can tell which process served, drained or failed.
  const logger = cluster.isWorker ? processLogger.child({ worker: cluster.worker?.id, pid: process.pid }) : processLogger;
  const unknown = unknownVariables(process.env);
  if (unknown.length > 0 && !cluster.isWorker) logger.warn({ variables: unknown.map(({ name }) => name) }, `unknown configuration variables ignored: ${describeUnknownVariables(unknown)}`);
  if (config.AIRLOCK_PROCESSES > 1 && cluster.isPrimary) {
    runWorkerPool({ processes: config.AIRLOCK_PROCESSES, stopTimeoutMs: config.AIRLOCK_SHUTDOWN_GRACE_MS + 5_000, logger });
    return;
  }
  const processMetrics = createMetrics({ defaultMetrics: true });
  const metrics = cluster.isWorker ? { ...processMetrics, render: clusterMetricsRenderer(processMetrics.registry) } : processMetrics;
  const runtime = await openRuntime(config, {
    onUpstreamAttempt: () => metrics.upstreamAttempt(),
    onBackgroundError: (error) => logger.warn({ err: error }, 'corpus index replica: background catch-up failed; searches still check the generation'),
  });
  const { corpus } = runtime;
  // SIG-7: rows written before encryption, or under a key now in AIRLOCK_SECRET_KEY_PREVIOUS, are sealed anew.
  const resealed = await runtime.store.keys.resealSigningSecrets();
  if (resealed > 0) logger.info({ keys: resealed }, 'signing secrets re-encrypted under the current secret key');
  // Say at load which tasks the offline provider fills; the others answer 503 model_not_configured until a model is set.
  for (const task of runtime.tasks.list()) {
    const serving = describeServing(task);
    logger.info({ task: task.name, input_versions: serving.input_versions, model: serving.model, offline: serving.offline }, 'task loaded');
  }

  if (config.AIRLOCK_BOOTSTRAP_CORPUS && (await corpus.stats()).documents === 0) {
    const outcomes = await bootstrapCorpus(corpus, resolve(config.AIRLOCK_CORPUS_DIR), 'bootstrap');
    const refused = outcomes.filter((outcome) => outcome.error !== undefined || outcome.result?.version.state !== 'approved');
    logger.info({ documents: outcomes.length - refused.length }, 'bundled corpus ingested and approved');
    for (const outcome of refused) logger.warn({ path: outcome.path, code: outcome.error?.code ?? outcome.result?.version.state }, 'bundled document not approved');
  }

  // Load the retrieval index before listening: the first request must not pay for it, and /readyz reports ready at once.
  const indexStarted = performance.now();
  await corpus.catchUp();
  logger.info({ ms: Math.round(performance.now() - indexStarted), approved_chunks: (await corpus.stats()).approvedChunks }, 'corpus index loaded');

  let draining = false;
  const app = createApp(
    appDepsFromRuntime(runtime, {
      logger,
      metrics,
      version,
      notReadyReason: async () => {
        if (draining) return 'shutting down';
        // A change committed elsewhere (the CLI on the same file, another process) is applied here rather than left
        // for a search that a load balancer would not send while this says "not ready". Cheap when nothing changed:
        // the generation check (PRAGMA data_version on SQLite) and no delta.
        await corpus.catchUp();
        if (corpus.indexStatus().indexedGeneration < corpus.indexStatus().knownGeneration) return 'corpus index catching up';
        return (await corpus.stats()).approvedChunks === 0 ? 'no approved corpus loaded' : undefined;
      },
    }),
  );

  const server: Server = app.listen(config.PORT, config.HOST, (error?: Error) => {
    // Express 5 hands listen errors to this callback; without this a taken port surfaced as a TypeError.
    if (error !== undefined) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason =
        code === 'EADDRINUSE' ? `port ${config.PORT} is in use; set PORT` :
        code === 'EACCES' ? `port ${config.PORT} needs privileges; set PORT above 1023` :
        `cannot listen on ${config.HOST}:${config.PORT}: ${error.message}`;
      process.stderr.write(`airlock: ${reason}\n`);
      process.exit(1);
    }
    const { port } = server.address() as AddressInfo;
    logger.info({ port, host: config.HOST, environment: config.AIRLOCK_ENV, model: `${runtime.model.provider}:${runtime.model.modelName}` }, 'airlock listening');
  });
  server.keepAliveTimeout = 65_000;
  // Webhooks left in the outbox by a previous run (even one killed with -9) are sent once their lease runs out.
  const webhookWorker = createWebhookWorker(runtime, {
    metrics,
    onError: (error) => logger.warn({ err: error }, 'webhook delivery worker: attempt failed; the delivery stays in the outbox'),
  });
  webhookWorker.start();

  const retention = scheduleRetention({
    store: runtime.store,
    policy: retentionPolicy(config),
    intervalMs: config.AIRLOCK_RETENTION_INTERVAL_MINUTES * 60_000,
    clock: runtime.clock,
    onPurged: (counts) => logger.info(counts, 'retention: expired rows purged'),
    onError: (error) => logger.warn({ err: error }, 'retention: purge failed; retrying at the next interval'),
  });

  const shutdown = (signal: string): void => {
    if (draining) return;
    draining = true;
    logger.info({ signal }, 'draining');
    // Keep-alive clients are told to reconnect elsewhere; requests already running finish normally. The header goes
    // on before the app sees the request: a listener after it finds /healthz already answered, and a throw here
    // would end the process with every in-flight call unrecorded (issue 12 B1).
    server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
      if (!res.headersSent) res.setHeader('Connection', 'close');
    });
    const force = setTimeout(() => {
      logger.warn('grace period over; closing remaining connections');
      server.closeAllConnections();
    }, config.AIRLOCK_SHUTDOWN_GRACE_MS);
    force.unref();
    server.close(() => {
      void Promise.all([retention.stop(), webhookWorker.stop()]).then(() => runtime.close()).then(() => {
        logger.info('stopped');
        process.exit(0);
      });
    });
    // Connections go idle as their last request finishes; close them as they do rather than at the grace deadline.
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    sweep.unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  // Configuration and policy errors name the variable, file and field; they are safe to print.
  process.stderr.write(`airlock: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
