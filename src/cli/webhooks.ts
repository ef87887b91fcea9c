// `airlock webhooks …`: the outbound webhook commands, on the same database as the server (whose delivery worker
// sends what lands in the outbox). `create` prints the endpoint's whsec_ secret once.
import type { Runtime } from '../runtime.js';
import { createWebhookAdmin, DeliveryQuery, parseCreateWebhookRequest } from '../webhooks/admin.js';
import { parseAllowHosts } from '../webhooks/url-safety.js';
import { print, table, type CliIO } from './output.js';
import { parseFlags } from './common.js';

export interface WebhookCommandOptions {
  readonly url?: string | undefined;
  readonly events?: string | undefined;
  readonly key?: string | undefined;
  readonly task?: string | undefined;
  readonly endpoint?: string | undefined;
  readonly state?: string | undefined;
}

const DELIVERY_COLUMNS = ['id', 'endpoint_id', 'event', 'state', 'attempts', 'last_status', 'last_error', 'next_attempt_at'];

/** Runs one `webhooks` action; `need` reports a missing argument as a usage error (exit 2). */
export async function webhooksCommand(
  action: string,
  target: string | undefined,
  options: WebhookCommandOptions,
  runtime: Runtime,
  io: CliIO,
  need: (value: string | undefined, what: string) => string,
): Promise<number> {
  const admin = createWebhookAdmin({
    store: runtime.store,
    isTask: (name) => runtime.tasks.get(name) !== undefined,
    allowHosts: parseAllowHosts(runtime.config.AIRLOCK_WEBHOOK_ALLOW_HOSTS),
    timeoutMs: runtime.config.AIRLOCK_WEBHOOK_TIMEOUT_MS,
    clock: runtime.clock,
    newId: runtime.newId,
    random: runtime.random,
  });
  switch (action) {
    case 'create': {
      const created = await admin.create(
        parseCreateWebhookRequest({
          url: need(options.url, '--url'),
          events: need(options.events, '--events').split(',').map((event) => event.trim()).filter(Boolean),
          ...(options.key === undefined ? {} : { key_id: options.key }),
          ...(options.task === undefined ? {} : { task: options.task }),
        }),
        'cli',
      );
      print(io, created, () => [`id:     ${created.id}`, `secret: ${created.secret}`, 'Store the secret now: it is not shown again.'].join('\n'));
      return 0;
    }
    case 'list': {
      const endpoints = await admin.list();
      print(io, endpoints, () => table(endpoints, ['id', 'url', 'events', 'key_id', 'task', 'created_at', 'disabled_reason']));
      return 0;
    }
    case 'delete': {
      const removed = await admin.remove(need(target, 'endpoint id'));
      print(io, removed, () => `deleted ${removed.id}`);
      return 0;
    }
    case 'enable': {
      const enabled = await admin.enable(need(target, 'endpoint id'));
      print(io, enabled, () => `${enabled.id}: enabled`);
      return 0;
    }
    case 'test': {
      const result = await admin.test(need(target, 'endpoint id'));
      print(io, result, () => `${result.delivered ? 'delivered' : 'NOT delivered'}: ${result.status ?? result.error ?? ''} (webhook-id ${result.webhook_id})`);
      return result.delivered ? 0 : 1;
    }
    case 'deliveries': {
      const deliveries = await admin.deliveries(
        parseFlags(
          DeliveryQuery,
          { ...(options.endpoint === undefined ? {} : { endpoint_id: options.endpoint }), ...(options.state === undefined ? {} : { state: options.state }) },
          { endpoint_id: '--endpoint', state: '--state' },
        ),
      );
      print(io, deliveries, () => table(deliveries, DELIVERY_COLUMNS));
      return 0;
    }
    case 'redeliver': {
      const delivery = await admin.redeliver(need(target, 'delivery id'));
      print(io, delivery, () => `${delivery.id}: pending again (webhook-id ${delivery.webhook_id})`);
      return 0;
    }
    default:
      throw new Error(`unknown webhooks action ${action}`);
  }
}
