// The process: reads the environment, opens the store, loads the bundled corpus on first start, listens, and
// drains on SIGTERM. The only module that touches process.env, the file system layout and the port.
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type { Server } from 'node:http';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { openRuntime } from './runtime.js';
import { createApp } from './app.js';
import { bootstrapCorpus } from './retrieval/corpus-files.js';
import { createRateLimits } from './security/rate-limit.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.AIRLOCK_LOG_LEVEL });
  const runtime = await openRuntime(config);
  const { corpus } = runtime;

  if (config.AIRLOCK_BOOTSTRAP_CORPUS && (await corpus.stats()).documents === 0) {
    const outcomes = await bootstrapCorpus(corpus, resolve(config.AIRLOCK_CORPUS_DIR), 'bootstrap');
    const refused = outcomes.filter((outcome) => outcome.error !== undefined || outcome.result?.version.state !== 'approved');
    logger.info({ documents: outcomes.length - refused.length }, 'bundled corpus ingested and approved');
    for (const outcome of refused) logger.warn({ path: outcome.path, code: outcome.error?.code ?? outcome.result?.version.state }, 'bundled document not approved');
  }

  let draining = false;
  const app = createApp({
    environment: config.AIRLOCK_ENV,
    version,
    bodyLimitBytes: config.AIRLOCK_BODY_LIMIT_BYTES,
    idempotencyTtlMs: config.AIRLOCK_IDEMPOTENCY_TTL_HOURS * 3_600_000,
    idempotencyWaitMs: config.AIRLOCK_IDEMPOTENCY_WAIT_MS,
    requestDeadlineMs: config.AIRLOCK_UPSTREAM_TIMEOUT_MS * (config.AIRLOCK_UPSTREAM_MAX_RETRIES + 1) + 5_000,
    store: runtime.store,
    retriever: corpus.retriever,
    model: runtime.model,
    policies: runtime.policies,
    checks: runtime.checks,
    limits: createRateLimits({
      requestsPerMinute: config.AIRLOCK_RATE_REQUESTS_PER_MINUTE,
      tokensPerDay: config.AIRLOCK_RATE_TOKENS_PER_DAY,
      authFailuresPerMinutePerIp: config.AIRLOCK_RATE_AUTH_FAILURES_PER_MINUTE,
      random: Math.random,
    }),
    logger,
    clock: runtime.clock,
    newId: runtime.newId,
    random: runtime.random,
    corpus,
    uploadLimitBytes: config.AIRLOCK_UPLOAD_LIMIT_BYTES,
    notReadyReason: async () => {
      if (draining) return 'shutting down';
      return (await corpus.stats()).approvedChunks === 0 ? 'no approved corpus loaded' : undefined;
    },
  });

  const server: Server = app.listen(config.PORT, config.HOST, () => {
    logger.info({ port: config.PORT, host: config.HOST, environment: config.AIRLOCK_ENV, model: `${runtime.model.provider}:${runtime.model.modelName}` }, 'airlock listening');
  });
  server.keepAliveTimeout = 65_000;

  const shutdown = (signal: string): void => {
    if (draining) return;
    draining = true;
    logger.info({ signal }, 'draining');
    const force = setTimeout(() => {
      logger.warn('grace period over; closing remaining connections');
      server.closeAllConnections();
    }, config.AIRLOCK_SHUTDOWN_GRACE_MS);
    force.unref();
    server.close(() => {
      void runtime.close().then(() => {
        logger.info('stopped');
        process.exit(0);
      });
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  // Configuration and policy errors name the variable, file and field; they are safe to print.
  process.stderr.write(`airlock: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
