// Webhook endpoints (secrets sealed at rest, SIG-7) and the delivery outbox in PostgreSQL. Due deliveries are leased
// with FOR UPDATE SKIP LOCKED, so every process on the database can run a worker and none sends a delivery another one
// holds; the lease token fences a worker whose lease ran out.
import { inTransaction, iso, isoRequired, type PgPool, type Queryable } from './db.js';
import type { SecretBox } from '../../security/secret-box.js';
import { openWebhookSecret, resealedWebhookSecret, sealWebhookSecret } from '../webhook-secrets.js';
import type { NewWebhookDelivery, WebhookDeliveryRecord, WebhookDeliveryState, WebhookEndpointRecord, WebhookStore } from '../types.js';

interface EndpointRow {
  id: string;
  url: string;
  events: string[];
  key_id: string | null;
  task: string | null;
  secret: string;
  created_at: Date;
  created_by: string;
  disabled_at: Date | null;
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
  created_at: Date;
  next_attempt_at: Date;
  last_status: number | null;
  last_error: string | null;
  delivered_at: Date | null;
}

const toEndpoint = (box: SecretBox, row: EndpointRow): WebhookEndpointRecord => ({
  id: row.id,
  url: row.url,
  events: row.events,
  keyId: row.key_id,
  task: row.task,
  secret: openWebhookSecret(box, row.id, row.secret),
  createdAt: isoRequired(row.created_at),
  createdBy: row.created_by,
  disabledAt: iso(row.disabled_at),
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
  createdAt: isoRequired(row.created_at),
  nextAttemptAt: isoRequired(row.next_attempt_at),
  lastStatus: row.last_status,
  lastError: row.last_error,
  deliveredAt: iso(row.delivered_at),
});

const DELIVERY_COLUMNS = 'id, message_id, endpoint_id, event_type, payload, state, attempts, created_at, next_attempt_at, last_status, last_error, delivered_at';

/** Runs inside the transaction that raised the events (a request's outcome, a review decision). */
export async function insertDeliveries(db: Queryable, deliveries: readonly NewWebhookDelivery[]): Promise<void> {
  for (const row of deliveries) {
    await db.query(
      `INSERT INTO webhook_deliveries (id, message_id, endpoint_id, event_type, payload, state, created_at, next_attempt_at)
       VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6)`,
      [row.id, row.messageId, row.endpointId, row.eventType, row.payload, row.createdAt],
    );
  }
}

export function createPostgresWebhookStore(pool: PgPool, box: SecretBox): WebhookStore {
  return {
    async createEndpoint(record) {
      await pool.query(
        `INSERT INTO webhook_endpoints (id, url, events, key_id, task, secret, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [record.id, record.url, [...record.events], record.keyId, record.task, sealWebhookSecret(box, record.id, record.secret), record.createdAt, record.createdBy],
      );
    },
    async getEndpoint(id) {
      const { rows } = await pool.query<EndpointRow>('SELECT * FROM webhook_endpoints WHERE id = $1', [id]);
      return rows[0] === undefined ? undefined : toEndpoint(box, rows[0]);
    },
    async listEndpoints() {
      return (await pool.query<EndpointRow>('SELECT * FROM webhook_endpoints ORDER BY created_at, id')).rows.map((row) => toEndpoint(box, row));
    },
    async deleteEndpoint(id) {
      return ((await pool.query('DELETE FROM webhook_endpoints WHERE id = $1', [id])).rowCount ?? 0) === 1;
    },
    async endpointsFor(eventType, keyId, task) {
      const { rows } = await pool.query<EndpointRow>(
        `SELECT * FROM webhook_endpoints WHERE disabled_at IS NULL AND (key_id IS NULL OR key_id = $2) AND (task IS NULL OR task = $3) AND $1 = ANY (events) ORDER BY id`,
        [eventType, keyId, task],
      );
      return rows.map((row) => toEndpoint(box, row));
    },
    async enqueue(deliveries) {
      await insertDeliveries(pool, deliveries);
    },
    async getDelivery(id) {
      const { rows } = await pool.query<DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1`, [id]);
      return rows[0] === undefined ? undefined : toDelivery(rows[0]);
    },
    async listDeliveries(filter) {
      const { rows } = await pool.query<DeliveryRow>(
        `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE ($1::text IS NULL OR endpoint_id = $1) AND ($2::text IS NULL OR state = $2)
         ORDER BY created_at DESC, id LIMIT $3`,
        [filter.endpointId ?? null, filter.state ?? null, filter.limit],
      );
      return rows.map(toDelivery);
    },
    async claimDue(claim) {
      const { rows } = await pool.query<DeliveryRow & { url: string; secret: string }>(
        `WITH due AS (
           SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
             AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE disabled_at IS NULL)
           ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED)
         UPDATE webhook_deliveries d SET lease_token = $3, lease_until = $2 FROM due, webhook_endpoints e
         WHERE d.id = due.id AND e.id = d.endpoint_id
         RETURNING d.id, d.message_id, d.endpoint_id, d.event_type, d.payload, d.state, d.attempts, d.created_at, d.next_attempt_at,
           d.last_status, d.last_error, d.delivered_at, e.url, e.secret`,
        [claim.now, claim.leaseUntil, claim.leaseToken, claim.limit],
      );
      return rows.map((row) => ({ ...toDelivery(row), leaseToken: claim.leaseToken, url: row.url, secret: openWebhookSecret(box, row.endpoint_id, row.secret) }));
    },
    async recordAttempt(result) {
      const { next, disableEndpoint } = result;
      return inTransaction(pool, async (client) => {
        const { rows } = await client.query<{ endpoint_id: string }>(
          `UPDATE webhook_deliveries SET attempts = attempts + 1, state = $3, last_status = $4, last_error = $5,
             next_attempt_at = COALESCE($6, next_attempt_at), delivered_at = $7, lease_token = NULL, lease_until = NULL
           WHERE id = $1 AND lease_token = $2 RETURNING endpoint_id`,
          [result.id, result.leaseToken, next.state, result.status, result.error, next.state === 'pending' ? next.at : null, next.state === 'delivered' ? next.at : null],
        );
        const endpointId = rows[0]?.endpoint_id;
        if (endpointId !== undefined && disableEndpoint !== undefined) {
          await client.query('UPDATE webhook_endpoints SET disabled_at = $2, disabled_reason = $3 WHERE id = $1', [endpointId, disableEndpoint.at, disableEndpoint.reason]);
          await client.query(
            `UPDATE webhook_deliveries SET state = 'dead', last_error = $2, lease_token = NULL, lease_until = NULL WHERE endpoint_id = $1 AND state = 'pending'`,
            [endpointId, `endpoint disabled: ${disableEndpoint.reason}`],
          );
        }
        return endpointId !== undefined;
      });
    },
    async enableEndpoint(id) {
      return ((await pool.query('UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL WHERE id = $1', [id])).rowCount ?? 0) === 1;
    },
    async redeliver(id, now) {
      const { rows } = await pool.query<DeliveryRow>(
        `UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = $2, lease_token = NULL, lease_until = NULL
         WHERE id = $1 AND state = 'dead' RETURNING ${DELIVERY_COLUMNS}`,
        [id, now],
      );
      return rows[0] === undefined ? undefined : toDelivery(rows[0]);
    },
    async resealSecrets() {
      // Row locks keep an endpoint deleted or re-created meanwhile from being written with a stale secret.
      return inTransaction(pool, async (client) => {
        const { rows } = await client.query<{ id: string; secret: string }>('SELECT id, secret FROM webhook_endpoints FOR UPDATE');
        let changed = 0;
        for (const row of rows) {
          const next = resealedWebhookSecret(box, row.id, row.secret);
          if (next === undefined) continue;
          await client.query('UPDATE webhook_endpoints SET secret = $2 WHERE id = $1', [row.id, next]);
          changed += 1;
        }
        return changed;
      });
    },
    async countByState() {
      const result: Record<WebhookDeliveryState, number> = { pending: 0, delivered: 0, dead: 0 };
      const { rows } = await pool.query<{ state: WebhookDeliveryState; n: number }>('SELECT state, count(*)::int AS n FROM webhook_deliveries GROUP BY state');
      for (const row of rows) result[row.state] = row.n;
      return result;
    },
  };
}
