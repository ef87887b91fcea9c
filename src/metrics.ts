// Prometheus metrics on a registry owned by the app (never prom-client's global one), and the observer the
// pipeline reports into. Gauges that mirror state (review queue, corpus) are read when scraped, not kept in step.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the protocol-free pipeline tells the outside world; a no-op observer satisfies it in tests. */
export interface PipelineObserver {
  check(name: string, stage: string, result: string): void;
  retrieval(seconds: number): void;
  upstream(seconds: number, outcome: string): void;
  replay(task: string): void;
}

export interface StateProbes {
  readonly openReviews: () => Promise<number>;
  readonly versionsByState: () => Promise<Readonly<Record<string, number>>>;
  readonly indexGeneration: () => Promise<number>;
  readonly webhookDeliveries?: () => Promise<Readonly<Record<string, number>>>;
}

export interface Metrics extends PipelineObserver {
  readonly registry: Registry;
  /** The text `/metrics` serves: this registry's, or every worker's summed under AIRLOCK_PROCESSES (src/processes.ts). */
  render(): Promise<string>;
  request(route: string, task: string, status: number, seconds: number): void;
  upstreamAttempt(): void;
  /** One webhook attempt: delivered, scheduled for retry, or dead-lettered. */
  webhookAttempt(outcome: 'delivered' | 'retry' | 'dead'): void;
  attachState(probes: StateProbes): void;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics === true) collectDefaultMetrics({ register: registry, prefix: 'airlock_' });
  const requests = new Counter({ name: 'airlock_requests_total', help: 'Requests by route, task and status', labelNames: ['route', 'task', 'status'], registers: [registry] });
  const requestSeconds = new Histogram({ name: 'airlock_request_seconds', help: 'Request latency', labelNames: ['route'], buckets: LATENCY_BUCKETS, registers: [registry] });
  const guardDecisions = new Counter({ name: 'airlock_guard_decisions_total', help: 'Guard rule outcomes', labelNames: ['rule', 'stage', 'result'], registers: [registry] });
  const retrievalSeconds = new Histogram({ name: 'airlock_retrieval_seconds', help: 'Retrieval latency', buckets: LATENCY_BUCKETS, registers: [registry] });
  const upstreamSeconds = new Histogram({ name: 'airlock_upstream_seconds', help: 'Model call latency by outcome (ok, timeout, unavailable, rejected)', labelNames: ['outcome'], buckets: LATENCY_BUCKETS, registers: [registry] });
  const upstreamAttempts = new Counter({ name: 'airlock_upstream_attempts_total', help: 'HTTP attempts to the upstream model, retries included', registers: [registry] });
  const upstreamTimeouts = new Counter({ name: 'airlock_upstream_timeouts_total', help: 'Model calls that ended in a timeout', registers: [registry] });
  const replays = new Counter({ name: 'airlock_idempotent_replays_total', help: 'Responses replayed from the idempotency store', labelNames: ['task'], registers: [registry] });
  const webhookAttempts = new Counter({ name: 'airlock_webhook_attempts_total', help: 'Outbound webhook attempts by outcome (delivered, retry, dead)', labelNames: ['outcome'], registers: [registry] });
  let probes: StateProbes | undefined;
  new Gauge({
    name: 'airlock_webhook_deliveries',
    help: 'Webhook deliveries in the outbox by state (pending, delivered, dead: the dead-letter count)',
    labelNames: ['state'],
    registers: [registry],
    // Read from the shared store: every worker reports the same count, so summed workers report it once (AIRLOCK_PROCESSES).
    aggregator: 'first',
    async collect() {
      if (probes?.webhookDeliveries === undefined) return;
      for (const [state, count] of Object.entries(await probes.webhookDeliveries())) this.set({ state }, count);
    },
  });
  new Gauge({
    name: 'airlock_review_queue_depth',
    help: 'Open review items',
    registers: [registry],
    aggregator: 'first',
    async collect() {
      if (probes !== undefined) this.set(await probes.openReviews());
    },
  });
  new Gauge({
    name: 'airlock_corpus_versions',
    help: 'Corpus document versions by state',
    labelNames: ['state'],
    registers: [registry],
    aggregator: 'first',
    async collect() {
      if (probes === undefined) return;
      for (const [state, count] of Object.entries(await probes.versionsByState())) this.set({ state }, count);
    },
  });
  new Gauge({
    name: 'airlock_index_generation',
    help: 'Corpus generation this process has indexed (the furthest behind, with AIRLOCK_PROCESSES)',
    registers: [registry],
    aggregator: 'min',
    async collect() {
      if (probes !== undefined) this.set(await probes.indexGeneration());
    },
  });

  return {
    registry,
    render: () => registry.metrics(),
    request(route, task, status, seconds) {
      requests.inc({ route, task, status: String(status) });
      requestSeconds.observe({ route }, seconds);
    },
    check(name, stage, result) {
      guardDecisions.inc({ rule: name, stage, result });
    },
    retrieval(seconds) {
      retrievalSeconds.observe(seconds);
    },
    webhookAttempt(outcome) {
      webhookAttempts.inc({ outcome });
    },
    upstream(seconds, outcome) {
      upstreamSeconds.observe({ outcome }, seconds);
      if (outcome === 'timeout') upstreamTimeouts.inc();
    },
    upstreamAttempt() {
      upstreamAttempts.inc();
    },
    replay(task) {
      replays.inc({ task });
    },
    attachState(next) {
      probes = next;
    },
  };
}
