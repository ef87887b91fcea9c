// Composition root: builds the Express app from its dependencies. No I/O at import, no environment reads;
// main.ts (or a test) opens the store, loads the task folders and passes everything in.
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import { AppError, isAppError } from './errors.js';
import type { RateLimits } from './security/rate-limit.js';
import type { Environment, Store } from './store/types.js';
import { createTaskPipeline, type TaskPipelineDeps } from './pipeline/run-task.js';
import type { TaskRegistry } from './tasks/registry.js';
import type { TaskCompileDeps } from './tasks/compile.js';
import { createTaskAdmin } from './admin/tasks.js';
import type { ModelClient } from './model/types.js';
import { createModelCatalogue } from './model/catalogue.js';
import { createOfflineModel } from './model/offline.js';
import { createTaskService } from './pipeline/handle-task.js';
import { buildOpenApiDocument } from './contracts/openapi.js';
import { requestId } from './http/middleware/request-id.js';
import { accessLog } from './http/middleware/access-log.js';
import { authenticate, requireAdmin } from './http/middleware/auth.js';
import type { Metrics } from './metrics.js';
import { rateLimitTask } from './http/middleware/rate-limit.js';
import { notFound, problemHandler } from './http/middleware/problems.js';
import { taskRoutes } from './http/routes/tasks.js';
import { healthRoutes } from './http/routes/health.js';
import { ADMIN_OPERATIONS, adminRoutes } from './http/routes/admin.js';
import { openAiCompatRoutes } from './http/routes/openai-compat.js';
import { consoleRoutes } from './http/routes/console.js';
import { createKeyAdmin } from './admin/keys.js';
import { createReviewAdmin } from './admin/reviews.js';
import type { Corpus } from './corpus/corpus.js';
import { resultRoutes } from './http/routes/results.js';
import { createWebhookEvents } from './webhooks/events.js';
import { createWebhookAdmin } from './webhooks/admin.js';
import { WEBHOOK_OPERATIONS, webhookRoutes } from './http/routes/webhooks.js';

/** Everything the pipeline needs, plus the HTTP-side services; the metrics object is the pipeline's observer. */
export interface AppDeps extends Omit<TaskPipelineDeps, 'observer'> {
  readonly tasks: TaskRegistry;
  /** What /admin/tasks compiles a version against before storing or activating it. */
  readonly taskCompileDeps: TaskCompileDeps;
  /** The configured model: it serves every task whose task.json names none. */
  readonly model: ModelClient;
  /** Models a task may name by id; "offline" is always available. */
  readonly namedModels?: ReadonlyMap<string, ModelClient>;
  readonly environment: Environment;
  readonly version: string;
  readonly bodyLimitBytes: number;
  readonly idempotencyTtlMs: number;
  readonly idempotencyWaitMs: number;
  /**
   * The longest a task may run: the upstream call's deadline plus a margin. An in-flight idempotency claim older than
   * twice this is abandoned (IDEM-8); claim tokens keep a late completion from counting twice (B3).
   */
  readonly requestDeadlineMs: number;
  readonly store: Store;
  readonly limits: RateLimits;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly corpus: Corpus;
  readonly uploadLimitBytes: number;
  /** API7: hosts webhooks may reach over http or at private addresses; none by default. */
  readonly webhookAllowHosts?: ReadonlySet<string>;
  readonly webhookTimeoutMs?: number;
  /**
   * Reverse proxies (addresses, CIDR blocks) whose X-Forwarded-For names the client, so per-IP limits count clients
   * rather than the proxy (RL-3). Empty or absent: X-Forwarded-For is ignored, so a caller cannot pick its own address.
   */
  readonly trustProxy?: readonly string[];
  /** Resolves to a reason while the service must not take traffic (corpus not loaded, draining). */
  readonly notReadyReason?: () => Promise<string | undefined>;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy !== undefined && deps.trustProxy.length > 0 ? [...deps.trustProxy] : false);

  const pipeline = createTaskPipeline({ ...deps, observer: deps.metrics });
  const planDeliveries = createWebhookEvents({ store: deps.store.webhooks, clock: deps.clock, newId: deps.newId });
  const handleTask = createTaskService({
    store: deps.store,
    tasks: deps.tasks,
    models: createModelCatalogue(deps.model, new Map([['offline', createOfflineModel()], ...(deps.namedModels ?? new Map())])),
    pipeline,
    clock: deps.clock,
    newId: deps.newId,
    idempotencyTtlMs: deps.idempotencyTtlMs,
    idempotencyWaitMs: deps.idempotencyWaitMs,
    staleClaimMs: 2 * deps.requestDeadlineMs,
    planDeliveries,
    limits: deps.limits,
    // Token usage is charged by the pipeline itself, settling the reservation it took before the call (B6).
    onOutcome: (event) => {
      if (event.replayed) deps.metrics.replay(event.task);
    },
  });
  const authDeps = {
    keys: deps.store.keys,
    environment: deps.environment,
    limits: deps.limits,
    clock: deps.clock,
    replayCache: deps.store.replayCache,
    newId: deps.newId,
  };
  const authenticateKey = authenticate(authDeps);
  // The task routes answer a repeated webhook-id from its stored idempotent response (SIG-5); nothing else does.
  const authenticateTaskCall = authenticate({ ...authDeps, answersRepeats: true });

  app.use(requestId(deps.newId));
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });
  app.use(
    accessLog({
      logger: deps.logger,
      audit: deps.store.audit,
      clock: deps.clock,
      newId: deps.newId,
      quietPaths: new Set(['/healthz', '/readyz', '/metrics']),
      onFinish: (route, task, status, seconds) => deps.metrics.request(route, task, status, seconds),
    }),
  );
  deps.metrics.attachState({
    openReviews: () => deps.store.reviews.countOpen(),
    versionsByState: async () => (await deps.corpus.stats()).versionsByState,
    indexGeneration: async () => (await deps.corpus.stats()).generation,
    webhookDeliveries: () => deps.store.webhooks.countByState(),
  });

  // Rebuilt only when the active task versions change (list() returns a new array then).
  const operations = [...ADMIN_OPERATIONS, ...WEBHOOK_OPERATIONS];
  let documented = deps.tasks.list();
  let openApiDocument = buildOpenApiDocument(documented, deps.version, operations);
  const openApi = (): Readonly<Record<string, unknown>> => {
    if (deps.tasks.list() !== documented) {
      documented = deps.tasks.list();
      openApiDocument = buildOpenApiDocument(documented, deps.version, operations);
    }
    return openApiDocument;
  };
  // Every request that reads tasks sees the versions active when it arrived (one generation read per request).
  app.use(['/v1', '/admin', '/openapi.json'], async (_req, _res, next) => {
    await deps.tasks.refresh?.();
    next();
  });
  app.use(
    healthRoutes({
      openApi,
      notReadyReason: async () => {
        const storeDown = await deps.store.ping().then(
          (ok) => (ok ? undefined : 'database unavailable'),
          // B7: the store names the engine that is down (PostgreSQL, Redis, SQLite).
          (error: unknown) => (isAppError(error) && error.code === 'store_unavailable' ? error.detail : 'database unavailable'),
        );
        if (storeDown !== undefined) return storeDown;
        return deps.notReadyReason?.();
      },
    }),
  );
  app.use(resultRoutes({ authenticate: authenticateKey, results: deps.store.results }));
  app.use(taskRoutes({ handleTask, bodyLimitBytes: deps.bodyLimitBytes, authenticate: authenticateTaskCall, rateLimit: rateLimitTask(deps.limits) }));
  app.use(
    openAiCompatRoutes({
      handleTask,
      tasks: deps.tasks,
      bodyLimitBytes: deps.bodyLimitBytes,
      authenticate: authenticateTaskCall,
      rateLimit: rateLimitTask(deps.limits),
      clock: deps.clock,
      logger: deps.logger,
    }),
  );
  app.use(consoleRoutes());
  app.use(
    adminRoutes({
      authenticate: authenticateKey,
      keys: createKeyAdmin({ keys: deps.store.keys, environment: deps.environment, clock: deps.clock, random: deps.random }),
      tasks: createTaskAdmin({ versions: deps.store.tasks, audit: deps.store.audit, compileDeps: deps.taskCompileDeps, clock: deps.clock, newId: deps.newId }),
      reviews: createReviewAdmin({ store: deps.store, tasks: deps.tasks, clock: deps.clock, newId: deps.newId, resultTtlMs: deps.idempotencyTtlMs, planDeliveries }),
      corpus: deps.corpus,
      audit: deps.store.audit,
      uploadLimitBytes: deps.uploadLimitBytes,
    }),
  );
  app.use(
    webhookRoutes({
      authenticate: authenticateKey,
      bodyLimitBytes: deps.bodyLimitBytes,
      webhooks: createWebhookAdmin({
        store: deps.store,
        isTask: (name) => deps.tasks.get(name) !== undefined,
        allowHosts: deps.webhookAllowHosts ?? new Set<string>(),
        timeoutMs: deps.webhookTimeoutMs ?? 15_000,
        clock: deps.clock,
        newId: deps.newId,
        random: deps.random,
      }),
    }),
  );
  app.get('/metrics', authenticateKey, requireAdmin, async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.render());
  });
  app.all('/v1/tasks/:task', () => {
    throw new AppError('method_not_allowed', { detail: 'Use POST.', headers: { Allow: 'POST' } });
  });

  app.use(notFound);
  app.use(problemHandler(deps.logger));
  return app;
}
