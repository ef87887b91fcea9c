// /admin/webhooks: outbound webhook endpoints and their deliveries, for keys with the `admin` scope. Thin adapters over
// the webhooks module; what each call changed goes to res.locals.auditDetail, which the access log audits.
import { Router, type RequestHandler } from 'express';
import { CreateWebhookRequest, DeliveryQuery, type WebhookAdmin } from '../../webhooks/admin.js';
import type { DocumentedOperation } from '../../contracts/openapi.js';
import { parseJson, rawBody } from '../middleware/json-body.js';
import { principalOf, requireAdmin } from '../middleware/auth.js';
import { audited, parse } from './admin.js';

export interface WebhookRouteDeps {
  readonly authenticate: RequestHandler;
  readonly webhooks: WebhookAdmin;
  readonly bodyLimitBytes: number;
}

export const WEBHOOK_OPERATIONS: readonly DocumentedOperation[] = [
  { method: 'get', path: '/admin/webhooks', tag: 'webhooks', summary: 'List webhook endpoints (never their secrets)', success: { status: 200, description: 'The endpoints' } },
  { method: 'post', path: '/admin/webhooks', tag: 'webhooks', summary: 'Register an endpoint; its whsec_ secret is shown once', body: CreateWebhookRequest, success: { status: 201, description: 'The endpoint and its secret' } },
  { method: 'delete', path: '/admin/webhooks/:id', tag: 'webhooks', summary: 'Delete an endpoint and its deliveries', success: { status: 200, description: 'The deletion' } },
  { method: 'post', path: '/admin/webhooks/:id/enable', tag: 'webhooks', summary: 'Send to an endpoint again after its receiver answered 410 Gone', success: { status: 200, description: 'The endpoint, enabled' } },
  { method: 'post', path: '/admin/webhooks/:id/test', tag: 'webhooks', summary: 'Send a signed webhook.test event now', success: { status: 200, description: 'How the receiver answered' } },
  { method: 'get', path: '/admin/webhooks/deliveries', tag: 'webhooks', summary: 'List deliveries (dead letters with state=dead)', query: DeliveryQuery, success: { status: 200, description: 'Deliveries, newest first' } },
  { method: 'post', path: '/admin/webhooks/deliveries/:id/redeliver', tag: 'webhooks', summary: 'Put a dead-lettered delivery back in the outbox', success: { status: 200, description: 'The delivery, pending again' } },
];

export function webhookRoutes(deps: WebhookRouteDeps): Router {
  const router = Router();
  const body = [rawBody(deps.bodyLimitBytes), deps.authenticate, requireAdmin, parseJson];
  const noBody = [deps.authenticate, requireAdmin];

  router.get('/admin/webhooks', ...noBody, async (_req, res) => {
    res.json({ endpoints: await deps.webhooks.list() });
  });
  router.post('/admin/webhooks', ...body, async (_req, res) => {
    const created = await deps.webhooks.create(parse(CreateWebhookRequest, res.locals['json']), principalOf(res.locals).keyId);
    audited(res, { endpoint_id: created.id, events: created.events, key_id: created.key_id, task: created.task });
    res.status(201).setHeader('Cache-Control', 'no-store').json(created);
  });
  router.get('/admin/webhooks/deliveries', ...noBody, async (req, res) => {
    res.json({ deliveries: await deps.webhooks.deliveries(parse(DeliveryQuery, req.query)) });
  });
  router.post('/admin/webhooks/deliveries/:id/redeliver', ...noBody, async (req, res) => {
    const delivery = await deps.webhooks.redeliver(String(req.params['id']));
    audited(res, { delivery_id: delivery.id, endpoint_id: delivery.endpoint_id });
    res.json(delivery);
  });
  router.delete('/admin/webhooks/:id', ...noBody, async (req, res) => {
    const removed = await deps.webhooks.remove(String(req.params['id']));
    audited(res, { endpoint_id: removed.id });
    res.json(removed);
  });
  router.post('/admin/webhooks/:id/enable', ...noBody, async (req, res) => {
    const enabled = await deps.webhooks.enable(String(req.params['id']));
    audited(res, { endpoint_id: enabled.id });
    res.json(enabled);
  });
  router.post('/admin/webhooks/:id/test', ...noBody, async (req, res) => {
    const result = await deps.webhooks.test(String(req.params['id']));
    audited(res, { endpoint_id: result.endpoint_id, delivered: result.delivered, status: result.status });
    res.json(result);
  });
  return router;
}
