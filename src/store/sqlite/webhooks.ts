// Webhook endpoints (secrets sealed at rest, SIG-7) and the delivery outbox in SQLite. A delivery is leased to one
// worker at a time (the lease token fences a worker whose lease expired), so processes sharing the file never send the
// same delivery concurrently.
import type { SqliteDatabase } from './db.js';
import type { SecretBox } from '../../security/secret-box.js';
import { openWebhookSecret, resealedWebhookSecret, sealWebhookSecret } from '../webhook-secrets.js';
import type {
  ClaimedWebhookDelivery,
  NewWebhookDelivery,
  WebhookDeliveryRecord,
  WebhookDeliveryState,
  WebhookAttempt,
  WebhookEndpointRecord,
  WebhookStore,
} from '../types.js';

interface EndpointRow {
  id: string;
  url: string;
  events: string;
  key_id: string | null;
  task: string | null;
  secret: string;
  created_at: string;
  created_by: string;
  disabled_at: string | null;
  disabled_reason: string | null;
}

interface DeliveryRow {
  id: string;
  message_id: string;
  endpoint_id: string;
  event_type: string;
  payload: string;
  state: WebhookDeliveryState;
  attempts: number;
  created_at: string;
  next_attempt_at: string;
  last_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
}

const toEndpoint = (box: SecretBox, row: EndpointRow): WebhookEndpointRecord => ({
  id: row.id,
  url: row.url,
  events: JSON.parse(row.events) as string[],
  keyId: row.key_id,
  task: row.task,
  secret: openWebhookSecret(box, row.id, row.secret),
  createdAt: row.created_at,
  createdBy: row.created_by,
  disabledAt: row.disabled_at,
  disabledReason: row.disabled_reason,
});

const toDelivery = (row: DeliveryRow): WebhookDeliveryRecord => ({
  id: row.id,
  messageId: row.message_id,
  endpointId: row.endpoint_id,
  eventType: row.event_type,
  payload: row.payload,
  state: row.state,
  attempts: row.attempts,
  createdAt: row.created_at,
  nextAttemptAt: row.next_attempt_at,
  lastStatus: row.last_status,
  lastError: row.last_error,
  deliveredAt: row.delivered_at,
});

const DELIVERY_COLUMNS = 'id, message_id, endpoint_id, event_type, payload, state, attempts, created_at, next_attempt_at, last_status, last_error, delivered_at';

export function createSqliteWebhookStore(db: SqliteDatabase, box: SecretBox): WebhookStore & { enqueueSync(deliveries: readonly NewWebhookDelivery[]): void } {
  const insertEndpoint = db.prepare(`INSERT INTO webhook_endpoints (id, url, events, key_id, task, secret, created_at, created_by)
    VALUES (@id, @url, @events, @key_id, @task, @secret, @created_at, @created_by)`);
  const endpointById = db.prepare<[string], EndpointRow>('SELECT * FROM webhook_endpoints WHERE id = ?');
  const endpoints = db.prepare<[], EndpointRow>('SELECT * FROM webhook_endpoints ORDER BY created_at, id');
  const deleteEndpoint = db.prepare('DELETE FROM webhook_endpoints WHERE id = ?');
  const subscribed = db.prepare<{ event: string; key_id: string; task: string }, EndpointRow>(
    `SELECT * FROM webhook_endpoints WHERE disabled_at IS NULL AND (key_id IS NULL OR key_id = @key_id) AND (task IS NULL OR task = @task)
       AND EXISTS (SELECT 1 FROM json_each(webhook_endpoints.events) WHERE value = @event) ORDER BY id`,
  );
  const insertDelivery = db.prepare(`INSERT INTO webhook_deliveries (id, message_id, endpoint_id, event_type, payload, state, created_at, next_attempt_at)
    VALUES (@id, @message_id, @endpoint_id, @event_type, @payload, 'pending', @created_at, @created_at)`);
  const deliveryById = db.prepare<[string], DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = ?`);
  const deliveries = db.prepare<{ endpoint_id: string | null; state: string | null; limit: number }, DeliveryRow>(
    `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE (@endpoint_id IS NULL OR endpoint_id = @endpoint_id)
       AND (@state IS NULL OR state = @state) ORDER BY created_at DESC, id LIMIT @limit`,
  );
  const lease = db.prepare<{ now: string; lease_until: string; lease_token: string; limit: number }, DeliveryRow & { url: string; secret: string }>(
    `UPDATE webhook_deliveries SET lease_token = @lease_token, lease_until = @lease_until
     WHERE id IN (SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= @now
                    AND (lease_until IS NULL OR lease_until <= @now)
                    AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE disabled_at IS NULL) ORDER BY next_attempt_at LIMIT @limit)
     RETURNING ${DELIVERY_COLUMNS}, (SELECT url FROM webhook_endpoints e WHERE e.id = endpoint_id) AS url,
       (SELECT secret FROM webhook_endpoints e WHERE e.id = endpoint_id) AS secret`,
  );
  const attempt = db.prepare(`UPDATE webhook_deliveries SET attempts = attempts + 1, state = @state, last_status = @status, last_error = @error,
      next_attempt_at = COALESCE(@next_at, next_attempt_at), delivered_at = @delivered_at, lease_token = NULL, lease_until = NULL
    WHERE id = @id AND lease_token = @lease_token`);
  const disableEndpoint = db.prepare(`UPDATE webhook_endpoints SET disabled_at = @at, disabled_reason = @reason
    WHERE id = (SELECT endpoint_id FROM webhook_deliveries WHERE id = @id)`);
  const abandonPending = db.prepare(`UPDATE webhook_deliveries SET state = 'dead', last_error = @error, lease_token = NULL, lease_until = NULL
    WHERE state = 'pending' AND endpoint_id = (SELECT endpoint_id FROM webhook_deliveries WHERE id = @id)`);
  const recordAll = db.transaction((result: WebhookAttempt): boolean => {
    const { next } = result;
    const recorded =
      attempt.run({
        id: result.id,
        lease_token: result.leaseToken,
        state: next.state,
        status: result.status,
        error: result.error,
        next_at: next.state === 'pending' ? next.at : null,
        delivered_at: next.state === 'delivered' ? next.at : null,
      }).changes === 1;
    if (recorded && result.disableEndpoint !== undefined) {
      disableEndpoint.run({ id: result.id, ...result.disableEndpoint });
      abandonPending.run({ id: result.id, error: `endpoint disabled: ${result.disableEndpoint.reason}` });
    }
    return recorded;
  });
  const enableEndpoint = db.prepare('UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL WHERE id = ?');
  const redeliver = db.prepare(`UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = @now, lease_token = NULL, lease_until = NULL
    WHERE id = @id AND state = 'dead'`);
  const counts = db.prepare<[], { state: WebhookDeliveryState; n: number }>('SELECT state, count(*) AS n FROM webhook_deliveries GROUP BY state');

  const enqueueSync = (rows: readonly NewWebhookDelivery[]): void => {
    for (const row of rows) {
      insertDelivery.run({ id: row.id, message_id: row.messageId, endpoint_id: row.endpointId, event_type: row.eventType, payload: row.payload, created_at: row.createdAt });
    }
  };
  const enqueueAll = db.transaction(enqueueSync);
  const sealedSecrets = db.prepare<[], { id: string; secret: string }>('SELECT id, secret FROM webhook_endpoints');
  const replaceSecret = db.prepare('UPDATE webhook_endpoints SET secret = @secret WHERE id = @id');
  const resealAll = db.transaction((): number => {
    let changed = 0;
    for (const row of sealedSecrets.all()) {
      const next = resealedWebhookSecret(box, row.id, row.secret);
      if (next === undefined) continue;
      replaceSecret.run({ id: row.id, secret: next });
      changed += 1;
    }
    return changed;
  });

  return {
    enqueueSync,
    async createEndpoint(record) {
      insertEndpoint.run({
        id: record.id,
        url: record.url,
        events: JSON.stringify(record.events),
        key_id: record.keyId,
        task: record.task,
        secret: sealWebhookSecret(box, record.id, record.secret),
        created_at: record.createdAt,
        created_by: record.createdBy,
      });
    },
    async getEndpoint(id) {
      const row = endpointById.get(id);
      return row === undefined ? undefined : toEndpoint(box, row);
    },
    async listEndpoints() {
      return endpoints.all().map((row) => toEndpoint(box, row));
    },
    async deleteEndpoint(id) {
      return deleteEndpoint.run(id).changes === 1;
    },
    async endpointsFor(eventType, keyId, task) {
      return subscribed.all({ event: eventType, key_id: keyId, task }).map((row) => toEndpoint(box, row));
    },
    async enqueue(rows) {
      enqueueAll.immediate(rows);
    },
    async getDelivery(id) {
      const row = deliveryById.get(id);
      return row === undefined ? undefined : toDelivery(row);
    },
    async listDeliveries(filter) {
      return deliveries.all({ endpoint_id: filter.endpointId ?? null, state: filter.state ?? null, limit: filter.limit }).map(toDelivery);
    },
    async claimDue(claim) {
      // One UPDATE … RETURNING takes the write lock, so two processes on the file cannot lease the same row.
      return lease
        .all({ now: claim.now, lease_until: claim.leaseUntil, lease_token: claim.leaseToken, limit: claim.limit })
        .map((row): ClaimedWebhookDelivery => ({ ...toDelivery(row), leaseToken: claim.leaseToken, url: row.url, secret: openWebhookSecret(box, row.endpoint_id, row.secret) }));
    },
    async recordAttempt(result) {
      return recordAll.immediate(result);
    },
    async enableEndpoint(id) {
      return enableEndpoint.run(id).changes === 1;
    },
    async redeliver(id, now) {
      if (redeliver.run({ id, now }).changes === 0) return undefined;
      const row = deliveryById.get(id);
      return row === undefined ? undefined : toDelivery(row);
    },
    async resealSecrets() {
      return resealAll.immediate();
    },
    async countByState() {
      const result: Record<WebhookDeliveryState, number> = { pending: 0, delivered: 0, dead: 0 };
      for (const row of counts.all()) result[row.state] = row.n;
      return result;
    },
  };
}
