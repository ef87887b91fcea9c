// AIRLOCK_PROCESSES: N server processes on one machine as node:cluster workers behind one port. The primary opens no
// store and serves no request; it starts the workers, replaces one that dies, and on SIGTERM has every worker drain.
// Everything a guarantee depends on is shared through the store (SQLite file, or PostgreSQL + Redis), never held by
// one process: see README, "Running at scale".
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry, type Registry } from 'prom-client';

export interface WorkerPoolOptions {
  readonly processes: number;
  /** How long a draining worker may take before it is killed: the workers' own grace period plus a margin. */
  readonly stopTimeoutMs: number;
  readonly logger: Logger;
  /** Called once every worker listens: the shared port and the workers' pids. */
  readonly onReady?: (ready: { port: number; workers: number[] }) => void;
  /** Ends the primary; process.exit unless a test wants to see the code. */
  readonly exit?: (code: number) => void;
}

/** More unexpected exits than this within a minute means the workers cannot stay up: stop instead of looping. */
const RESTARTS_PER_MINUTE = 10;
/** IPC message a worker sends for, and gets back with, every worker's metrics summed by the primary. */
const CLUSTER_METRICS = 'airlock:cluster-metrics';

interface ClusterMetricsMessage {
  readonly type: typeof CLUSTER_METRICS;
  readonly id: number;
  readonly text?: string;
  readonly error?: string;
}

const isClusterMetricsMessage = (message: unknown): message is ClusterMetricsMessage =>
  typeof message === 'object' && message !== null && (message as { type?: unknown }).type === CLUSTER_METRICS;

/**
 * In a worker: what `/metrics` serves, whichever worker the scrape reaches, is every worker's metrics summed (counters
 * and histograms add up), asked of the primary, which collects them with prom-client's AggregatorRegistry. A scrape
 * answered by one worker alone would make every rate jump between workers.
 */
export function clusterMetricsRenderer(registry: Registry, timeoutMs = 5_000): () => Promise<string> {
  AggregatorRegistry.setRegistries([registry]);
  // The constructor installs prom-client's worker-side listener that answers the primary's collection requests.
  new AggregatorRegistry();
  const pending = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  process.on('message', (message: unknown) => {
    if (!isClusterMetricsMessage(message)) return;
    const waiting = pending.get(message.id);
    pending.delete(message.id);
    if (message.text !== undefined) waiting?.resolve(message.text);
    else waiting?.reject(new Error(`the primary could not collect the workers' metrics: ${message.error ?? 'no answer'}`));
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = (nextId += 1);
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`the primary did not send the workers' metrics within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, {
        resolve: (text) => (clearTimeout(timer), resolve(text)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      process.send?.({ type: CLUSTER_METRICS, id } satisfies ClusterMetricsMessage);
    });
}

/**
 * Runs in the primary. The first worker starts alone (it applies migrations and ingests the bundled corpus into an
 * empty database), the others once it listens. A worker that dies after it listened is replaced at once; one that
 * dies before it ever listened cannot start (configuration, database, port), so the whole server stops with exit 1,
 * as a single process would.
 */
export function runWorkerPool(options: WorkerPoolOptions): void {
  const { logger, processes } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  // cluster.workers drops a worker only once both its exit and its disconnect arrived, in either order; this is exact.
  const live = new Map<number, Worker>();
  const listening = new Set<number>();
  let port = 0;
  let stopping = false;
  let othersStarted = false;
  let announced = false;
  let exitCode = 0;
  const recentRestarts: number[] = [];

  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: unknown) => {
    if (!isClusterMetricsMessage(message)) return;
    const reply = (answer: Partial<ClusterMetricsMessage>): void => {
      if (worker.isConnected()) worker.send({ type: CLUSTER_METRICS, id: message.id, ...answer });
    };
    aggregator.clusterMetrics().then(
      (text) => reply({ text }),
      (error: unknown) => reply({ error: error instanceof Error ? error.message : String(error) }),
    );
  });

  const fork = (): Worker => {
    const worker = cluster.fork();
    live.set(worker.id, worker);
    logger.info({ worker: worker.id, pid: worker.process.pid }, 'worker starting');
    return worker;
  };

  const stopAll = (reason: string, code: number): void => {
    exitCode = Math.max(exitCode, code);
    if (stopping) return;
    stopping = true;
    logger.info({ reason, workers: live.size }, 'stopping every worker');
    if (live.size === 0) finish();
    for (const worker of live.values()) worker.process.kill('SIGTERM');
    const force = setTimeout(() => {
      for (const worker of live.values()) {
        logger.warn({ worker: worker.id }, 'worker still draining after the grace period; killing it');
        worker.process.kill('SIGKILL');
      }
    }, options.stopTimeoutMs);
    force.unref();
  };

  const finish = (): void => {
    logger.info({ code: exitCode }, 'all workers stopped');
    exit(exitCode);
  };

  cluster.on('listening', (worker, address) => {
    listening.add(worker.id);
    port = address.port;
    logger.info({ worker: worker.id, pid: worker.process.pid, port }, 'worker listening');
    if (!othersStarted && !stopping) {
      othersStarted = true;
      for (let i = 1; i < processes; i += 1) fork();
    }
    if (!announced && listening.size === processes) {
      announced = true;
      const workers = [...live.values()].map((worker) => worker.process.pid ?? 0);
      logger.info({ port, workers }, 'airlock listening on every worker');
      options.onReady?.({ port, workers });
    }
  });

  cluster.on('exit', (worker, code, signal) => {
    live.delete(worker.id);
    const listened = listening.delete(worker.id);
    const outcome = { worker: worker.id, pid: worker.process.pid, code, signal };
    if (stopping) {
      if (code !== 0) exitCode = 1;
      logger.info(outcome, 'worker stopped');
      if (live.size === 0) finish();
      return;
    }
    if (!listened) {
      logger.error(outcome, 'worker exited before it listened; the server cannot start');
      stopAll('a worker could not start', 1);
      return;
    }
    const now = Date.now();
    recentRestarts.push(now);
    while ((recentRestarts[0] ?? now) < now - 60_000) recentRestarts.shift();
    if (recentRestarts.length > RESTARTS_PER_MINUTE) {
      logger.error(outcome, `more than ${RESTARTS_PER_MINUTE} workers died within a minute; stopping`);
      stopAll('workers keep dying', 1);
      return;
    }
    logger.warn(outcome, 'worker died; starting a replacement');
    fork();
  });

  // The workers of a terminal's process group get SIGINT themselves too; draining twice is a no-op there.
  process.on('SIGTERM', () => stopAll('SIGTERM', 0));
  process.on('SIGINT', () => stopAll('SIGINT', 0));
  logger.info({ processes }, 'starting worker processes');
  fork();
}
