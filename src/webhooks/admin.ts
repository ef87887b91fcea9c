// Managing outbound webhooks, shared by the CLI and /admin/webhooks: register an endpoint (its `whsec_` secret is
// returned once), list and delete endpoints, send a signed test event, list deliveries and redeliver dead letters.
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { RandomBytes } from '../security/random.js';
import type { Store, WebhookDeliveryRecord, WebhookEndpointRecord } from '../store/types.js';
import { checkWebhookUrl } from './url-safety.js';
import { zodIssuesToFieldErrors } from '../pipeline/field-errors.js';
import { TEST_EVENT_TYPE, WEBHOOK_EVENT_TYPES, eventPayload, newMessageId } from './events.js';
import { sendWebhook } from './send.js';

export const CreateWebhookRequest = z
  .strictObject({
    url: z.string().min(1).max(2000),
    events: z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1).max(WEBHOOK_EVENT_TYPES.length),
    key_id: z.string().min(1).max(64).optional().describe('Only requests made with this API key'),
    task: z.string().min(1).max(100).optional().describe('Only requests to this task'),
  })
  .refine((request) => request.key_id === undefined || request.task === undefined, { message: 'give key_id or task, not both', path: ['task'] });
export type CreateWebhookRequest = z.infer<typeof CreateWebhookRequest>;

export const DeliveryQuery = z.strictObject({
  endpoint_id: z.string().max(100).optional(),
  state: z.enum(['pending', 'delivered', 'dead']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export interface WebhookAdminDeps {
  readonly store: Pick<Store, 'webhooks' | 'keys'>;
  readonly isTask: (name: string) => boolean;
  readonly allowHosts: ReadonlySet<string>;
  /** For `test`, which sends at once rather than through the outbox. */
  readonly timeoutMs: number;
  readonly clock: () => Date;
  readonly newId: () => string;
  readonly random: RandomBytes;
}

/** Standard Webhooks: 24 to 64 random bytes, base64, `whsec_` prefix; 32 here. */
const SECRET_BYTES = 32;

/** An endpoint as listed: never its secret. */
const describeEndpoint = (endpoint: WebhookEndpointRecord) => ({
  id: endpoint.id,
  url: endpoint.url,
  events: endpoint.events,
  key_id: endpoint.keyId,
  task: endpoint.task,
  created_at: endpoint.createdAt,
  created_by: endpoint.createdBy,
  disabled_at: endpoint.disabledAt,
  disabled_reason: endpoint.disabledReason,
});

/** A delivery as listed: its state and history, not the payload (it carries the request's output). */
export const describeDelivery = (delivery: WebhookDeliveryRecord) => ({
  id: delivery.id,
  webhook_id: delivery.messageId,
  endpoint_id: delivery.endpointId,
  event: delivery.eventType,
  state: delivery.state,
  attempts: delivery.attempts,
  created_at: delivery.createdAt,
  next_attempt_at: delivery.state === 'pending' ? delivery.nextAttemptAt : null,
  last_status: delivery.lastStatus,
  last_error: delivery.lastError,
  delivered_at: delivery.deliveredAt,
});

export function createWebhookAdmin(deps: WebhookAdminDeps) {
  const store = deps.store.webhooks;
  const endpointOrThrow = async (id: string): Promise<WebhookEndpointRecord> => {
    const endpoint = await store.getEndpoint(id);
    if (endpoint === undefined) throw new AppError('not_found', { detail: `No webhook endpoint ${id}.` });
    return endpoint;
  };

  return {
    async create(request: CreateWebhookRequest, by: string) {
      // API7: refused here, before anything is stored, and again at every send after DNS resolution.
      const checked = checkWebhookUrl(request.url, deps.allowHosts);
      if (!checked.ok) throw new AppError('webhook_url_refused', { detail: `The webhook URL ${checked.reason}.`, errors: [{ path: 'url', message: checked.reason }] });
      if (request.key_id !== undefined && (await deps.store.keys.findById(request.key_id)) === undefined) {
        throw new AppError('validation_failed', { errors: [{ path: 'key_id', message: 'no such API key' }] });
      }
      if (request.task !== undefined && !deps.isTask(request.task)) {
        throw new AppError('validation_failed', { errors: [{ path: 'task', message: 'no such task' }] });
      }
      const record: WebhookEndpointRecord = {
        id: `we_${deps.newId().replaceAll('-', '')}`,
        url: checked.url.toString(),
        events: [...new Set(request.events)],
        keyId: request.key_id ?? null,
        task: request.task ?? null,
        secret: `whsec_${Buffer.from(deps.random(SECRET_BYTES)).toString('base64')}`,
        createdAt: deps.clock().toISOString(),
        createdBy: by,
        disabledAt: null,
        disabledReason: null,
      };
      await store.createEndpoint(record);
      return { ...describeEndpoint(record), secret: record.secret };
    },
    async list() {
      return (await store.listEndpoints()).map(describeEndpoint);
    },
    async remove(id: string) {
      if (!(await store.deleteEndpoint(id))) throw new AppError('not_found', { detail: `No webhook endpoint ${id}.` });
      return { id, deleted: true };
    },
    /** Sends to a disabled endpoint again; its dead letters can then be redelivered. */
    async enable(id: string) {
      if (!(await store.enableEndpoint(id))) throw new AppError('not_found', { detail: `No webhook endpoint ${id}.` });
      return describeEndpoint(await endpointOrThrow(id));
    },
    /** Sends one signed `webhook.test` event now, outside the outbox, and reports how the receiver answered. */
    async test(id: string) {
      const endpoint = await endpointOrThrow(id);
      const messageId = newMessageId(deps.newId);
      const result = await sendWebhook(
        { url: endpoint.url, messageId, payload: eventPayload(TEST_EVENT_TYPE, deps.clock(), { endpoint_id: endpoint.id }), secret: endpoint.secret },
        { allowHosts: deps.allowHosts, timeoutMs: deps.timeoutMs, clock: deps.clock },
      );
      const status = result.kind === 'response' ? result.status : null;
      return {
        endpoint_id: endpoint.id,
        webhook_id: messageId,
        delivered: status !== null && status >= 200 && status < 300,
        status,
        error: result.kind === 'response' ? null : result.kind === 'timeout' ? 'timeout' : `${result.kind}: ${result.detail}`,
      };
    },
    async deliveries(query: z.infer<typeof DeliveryQuery>) {
      const rows = await store.listDeliveries({
        limit: query.limit,
        ...(query.endpoint_id === undefined ? {} : { endpointId: query.endpoint_id }),
        ...(query.state === undefined ? {} : { state: query.state }),
      });
      return rows.map(describeDelivery);
    },
    /** A dead letter goes back to the outbox, due now, with the same webhook-id so the receiver can still deduplicate. */
    async redeliver(id: string) {
      const existing = await store.getDelivery(id);
      if (existing === undefined) throw new AppError('not_found', { detail: `No webhook delivery ${id}.` });
      const endpoint = await store.getEndpoint(existing.endpointId);
      if (endpoint?.disabledAt != null) throw new AppError('state_conflict', { detail: `Endpoint ${endpoint.id} is disabled (${endpoint.disabledReason ?? 'by its receiver'}); enable it first.` });
      const redelivered = await store.redeliver(id, deps.clock().toISOString());
      if (redelivered !== undefined) return describeDelivery(redelivered);
      throw new AppError('state_conflict', { detail: `Delivery ${id} is ${existing.state}; only dead letters are redelivered.` });
    },
  };
}

export type WebhookAdmin = ReturnType<typeof createWebhookAdmin>;

/** Parses a create request from the CLI or HTTP into the same validation_failed problem either way. */
export function parseCreateWebhookRequest(value: unknown): CreateWebhookRequest {
  const parsed = CreateWebhookRequest.safeParse(value);
  if (!parsed.success) throw new AppError('validation_failed', { errors: zodIssuesToFieldErrors(parsed.error.issues) });
  return parsed.data;
}
