// Webhook events: the payload every subscribed endpoint receives, and the outbox rows that carry it. The rows are
// returned, not written, so the caller commits them in the same transaction as the change that raised the event.
import type { NewWebhookDelivery, WebhookStore } from '../store/types.js';

export const WEBHOOK_EVENT_TYPES = ['review.resolved', 'request.completed'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
/** Sent only by `webhooks test`, to the one endpoint being tested. */
export const TEST_EVENT_TYPE = 'webhook.test';

export interface WebhookEventsDeps {
  readonly store: Pick<WebhookStore, 'endpointsFor'>;
  readonly clock: () => Date;
  readonly newId: () => string;
}

/** A Standard Webhooks message id: `msg_` and hex, never a `.` (the separator of the signed content). */
export const newMessageId = (newId: () => string): string => `msg_${newId().replaceAll('-', '')}`;

/** The `{type, timestamp, data}` body Standard Webhooks recommends; these exact bytes are signed and sent. */
export const eventPayload = (type: string, at: Date, data: Readonly<Record<string, unknown>>): string =>
  JSON.stringify({ type, timestamp: at.toISOString(), data });

export function createWebhookEvents(deps: WebhookEventsDeps) {
  /** One delivery per endpoint subscribed to `type` for this key and task; all share one message id. */
  return async function planDeliveries(
    type: WebhookEventType,
    source: { readonly keyId: string; readonly task: string },
    data: Readonly<Record<string, unknown>>,
  ): Promise<NewWebhookDelivery[]> {
    const endpoints = await deps.store.endpointsFor(type, source.keyId, source.task);
    if (endpoints.length === 0) return [];
    const at = deps.clock();
    const messageId = newMessageId(deps.newId);
    const payload = eventPayload(type, at, data);
    return endpoints.map((endpoint) => ({ id: `dlv_${deps.newId().replaceAll('-', '')}`, messageId, endpointId: endpoint.id, eventType: type, payload, createdAt: at.toISOString() }));
  };
}

export type PlanDeliveries = ReturnType<typeof createWebhookEvents>;
