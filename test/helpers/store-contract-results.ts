// Issue 14's part of the storage contract, run on every backend through storeContract: addressable results, a review
// decision replacing the result and the idempotent response in one transaction, and the webhook outbox's leases.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AuditRecord, NewWebhookDelivery, ReviewRecord, Store, StoredResponse, TaskResultRecord } from '../../src/store/types.js';

const T0 = Date.UTC(2026, 0, 1);
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

const audit = (requestId: string): AuditRecord => ({
  id: randomUUID(), requestId, at: at(0), keyId: 'key_results', action: 'task.run', task: 'support.answer', eventId: 'evt_1', source: 'contract',
  decision: 'review', status: 422, code: 'sent_to_review', chunkIds: [], model: null, latencyMs: 1, detail: {},
});

const review = (requestId: string): ReviewRecord => ({
  id: randomUUID(), createdAt: at(0), requestId, keyId: 'key_results', task: 'support.answer', state: 'open', reasons: ['schema'],
  input: { question: 'q' }, rawOutput: '{}', chunkIds: [], resolvedAt: null, resolvedBy: null, resolution: null,
});

const PENDING: StoredResponse = { status: 422, headers: {}, body: { code: 'sent_to_review', zeta: 1, alpha: 2 } };
const DECIDED: StoredResponse = { status: 200, headers: {}, body: { trust: 'untrusted', zeta: 'approved', alpha: [1] } };

export function resultsAndOutboxContract(getStore: () => Store): void {
  describe('results and the webhook outbox (issue 14)', () => {
    test('recordReviewDecision, when a pending result exists, then the result and the stored idempotent response both become the decided one, with its webhook rows and audit row, once', async () => {
      const store = getStore();
      const requestId = `req-${randomUUID()}`;
      const scope = `scope-${randomUUID()}`;
      const item = review(requestId);
      await store.idempotency.claim({ scope, fingerprint: 'fp', token: 'holder', now: new Date(T0), staleAfterMs: 60_000 });
      const result: TaskResultRecord = {
        requestId, keyId: 'key_results', task: 'support.answer', createdAt: at(0), updatedAt: at(0), state: 'pending_review', reviewId: item.id,
        idempotencyScope: scope, context: { schema_version: '1.0' }, response: PENDING, expiresAt: null,
      };
      await store.recordOutcome({ audit: audit(requestId), review: item, result, idempotency: { scope, token: 'holder', response: PENDING, expiresAt: at(86_400) } });
      assert.deepEqual(await store.results.find(requestId, 'key_results'), result);
      assert.equal(await store.results.find(requestId, 'key_other'), undefined);

      const endpointId = `we_${randomUUID()}`;
      await store.webhooks.createEndpoint({ id: endpointId, url: 'https://hooks.example.com/x', events: ['review.resolved'], keyId: 'key_results', task: null, secret: 'sealed', createdAt: at(0), createdBy: 'admin' });
      const delivery: NewWebhookDelivery = { id: `dlv_${randomUUID()}`, messageId: `msg_${randomUUID()}`, endpointId, eventType: 'review.resolved', payload: '{"b":1,"a":2}', createdAt: at(10) };
      const decision = {
        reviewId: item.id,
        resolution: { state: 'approved' as const, at: at(10), by: 'key_admin', detail: { decision: 'approve' } },
        audit: { ...audit(`req-${randomUUID()}`), action: 'review.approve', decision: 'admin' as const, status: 200, code: null },
        decided: { response: DECIDED, expiresAt: at(90_000) },
        deliveries: [delivery],
      };
      assert.equal((await store.recordReviewDecision(decision))?.state, 'approved');
      const decided = await store.results.findByReview(item.id);
      assert.deepEqual([decided?.state, decided?.response, decided?.expiresAt], ['done', DECIDED, at(90_000)]);
      assert.deepEqual(await store.idempotency.claim({ scope, fingerprint: 'fp', token: 'another', now: new Date(T0 + 1000), staleAfterMs: 60_000 }), { kind: 'replay', response: DECIDED });
      assert.equal((await store.webhooks.getDelivery(delivery.id))?.payload, delivery.payload);
      assert.equal((await store.audit.list({ requestId: decision.audit.requestId, limit: 5 })).length, 1);

      // Resolved already: nothing of a second decision is written.
      const again = { ...decision, audit: audit(`req-${randomUUID()}`), deliveries: [{ ...delivery, id: `dlv_${randomUUID()}`, messageId: `msg_${randomUUID()}` }] };
      assert.equal(await store.recordReviewDecision(again), undefined);
      assert.equal(await store.webhooks.getDelivery(again.deliveries[0]!.id), undefined);
      assert.deepEqual(await store.audit.list({ requestId: again.audit.requestId, limit: 5 }), []);
    });

    test('claimDue, when two workers claim at once, then each due delivery is leased to one of them; a lost lease cannot record; an expired lease is taken over; dead letters redeliver', async () => {
      const store = getStore();
      const endpointId = `we_${randomUUID()}`;
      await store.webhooks.createEndpoint({ id: endpointId, url: 'https://hooks.example.com/y', events: ['request.completed'], keyId: null, task: 'support.answer', secret: 'sealed', createdAt: at(0), createdBy: 'admin' });
      assert.ok((await store.webhooks.endpointsFor('request.completed', 'any-key', 'support.answer')).some((e) => e.id === endpointId));
      assert.ok(!(await store.webhooks.endpointsFor('request.completed', 'any-key', 'lead.classify')).some((e) => e.id === endpointId));
      assert.ok(!(await store.webhooks.endpointsFor('review.resolved', 'any-key', 'support.answer')).some((e) => e.id === endpointId));
      const rows = Array.from({ length: 6 }, (_, i): NewWebhookDelivery => ({ id: `dlv_${randomUUID()}`, messageId: `msg_${randomUUID()}`, endpointId, eventType: 'request.completed', payload: `{"n":${i}}`, createdAt: at(100) }));
      await store.webhooks.enqueue(rows);
      const mine = new Set(rows.map((row) => row.id));

      const [a, b] = await Promise.all([
        store.webhooks.claimDue({ now: at(200), leaseUntil: at(260), leaseToken: 'lease-a', limit: 4 }),
        store.webhooks.claimDue({ now: at(200), leaseUntil: at(260), leaseToken: 'lease-b', limit: 4 }),
      ]);
      const claimed = [...a, ...b].filter((row) => mine.has(row.id)).map((row) => row.id);
      assert.equal(new Set(claimed).size, claimed.length, 'no delivery is leased twice');
      const first = [...a, ...b].find((row) => mine.has(row.id))!;
      assert.equal(first.url, 'https://hooks.example.com/y');

      assert.equal(await store.webhooks.recordAttempt({ id: first.id, leaseToken: 'someone-else', status: 200, error: null, next: { state: 'delivered', at: at(201) } }), false);
      // The lease runs out; another worker takes the delivery over and the first one's result no longer counts.
      const takeover = await store.webhooks.claimDue({ now: at(300), leaseUntil: at(360), leaseToken: 'lease-c', limit: 100 });
      assert.ok(takeover.some((row) => row.id === first.id));
      assert.equal(await store.webhooks.recordAttempt({ id: first.id, leaseToken: first.leaseToken, status: 200, error: null, next: { state: 'delivered', at: at(301) } }), false);
      assert.equal(await store.webhooks.recordAttempt({ id: first.id, leaseToken: 'lease-c', status: 500, error: null, next: { state: 'dead' } }), true);
      const dead = await store.webhooks.getDelivery(first.id);
      assert.deepEqual([dead?.state, dead?.attempts, dead?.lastStatus], ['dead', 1, 500]);
      assert.ok((await store.webhooks.countByState()).dead >= 1);
      assert.ok((await store.webhooks.listDeliveries({ endpointId, state: 'dead', limit: 10 })).some((row) => row.id === first.id));

      const redelivered = await store.webhooks.redeliver(first.id, at(400));
      assert.deepEqual([redelivered?.state, redelivered?.attempts, redelivered?.messageId], ['pending', 0, first.messageId]);
      assert.equal(await store.webhooks.redeliver(first.id, at(400)), undefined, 'only a dead letter redelivers');
      assert.equal(await store.webhooks.resealSecrets(), 0, 'secrets sealed under the current key stay as they are');
      assert.equal((await store.webhooks.getEndpoint(endpointId))?.secret, 'sealed');
      assert.equal(await store.webhooks.deleteEndpoint(endpointId), true);
      assert.equal(await store.webhooks.getDelivery(first.id), undefined, 'deliveries go with their endpoint');
    });

    test('recordAttempt with disableEndpoint (410 Gone), when it holds the lease, then in one write the endpoint is disabled, its other pending deliveries die, it is neither subscribed nor leased, and enableEndpoint restores it', async () => {
      const store = getStore();
      const endpointId = `we_${randomUUID()}`;
      await store.webhooks.createEndpoint({ id: endpointId, url: 'https://hooks.example.com/gone', events: ['request.completed'], keyId: null, task: null, secret: 'sealed', createdAt: at(0), createdBy: 'admin' });
      const rows = Array.from({ length: 3 }, (_, i): NewWebhookDelivery => ({ id: `dlv_${randomUUID()}`, messageId: `msg_${randomUUID()}`, endpointId, eventType: 'request.completed', payload: `{"n":${i}}`, createdAt: at(500 + i) }));
      await store.webhooks.enqueue(rows);
      const leased = (await store.webhooks.claimDue({ now: at(501), leaseUntil: at(560), leaseToken: 'lease-gone', limit: 100 })).filter((row) => row.endpointId === endpointId);
      assert.deepEqual(leased.map((row) => row.id).sort(), rows.slice(0, 2).map((row) => row.id).sort(), 'the third is not due yet');
      const gone = { at: at(502), reason: 'HTTP 410 Gone' };
      assert.equal(await store.webhooks.recordAttempt({ id: leased[0]!.id, leaseToken: 'wrong', status: 410, error: 'HTTP 410', next: { state: 'dead' }, disableEndpoint: gone }), false);
      assert.equal((await store.webhooks.getEndpoint(endpointId))?.disabledAt, null, 'a lost lease disables nothing');
      assert.equal(await store.webhooks.recordAttempt({ id: leased[0]!.id, leaseToken: 'lease-gone', status: 410, error: 'HTTP 410', next: { state: 'dead' }, disableEndpoint: gone }), true);

      const endpoint = await store.webhooks.getEndpoint(endpointId);
      assert.deepEqual([endpoint?.disabledAt, endpoint?.disabledReason], [gone.at, gone.reason]);
      const states = await Promise.all(rows.map(async (row) => (await store.webhooks.getDelivery(row.id))?.state));
      assert.deepEqual(states, ['dead', 'dead', 'dead']);
      assert.equal(await store.webhooks.recordAttempt({ id: leased[1]!.id, leaseToken: 'lease-gone', status: 200, error: null, next: { state: 'delivered', at: at(503) } }), false, 'the one in flight lost its lease');
      assert.ok(!(await store.webhooks.endpointsFor('request.completed', 'any-key', 'any-task')).some((e) => e.id === endpointId));
      await store.webhooks.redeliver(rows[2]!.id, at(600));
      assert.ok(!(await store.webhooks.claimDue({ now: at(700), leaseUntil: at(760), leaseToken: 'lease-late', limit: 100 })).some((row) => row.endpointId === endpointId), 'a disabled endpoint is never leased');

      assert.equal(await store.webhooks.enableEndpoint(endpointId), true);
      assert.equal(await store.webhooks.enableEndpoint(`we_${randomUUID()}`), false);
      assert.equal((await store.webhooks.getEndpoint(endpointId))?.disabledAt, null);
      assert.ok((await store.webhooks.endpointsFor('request.completed', 'any-key', 'any-task')).some((e) => e.id === endpointId));
      assert.ok((await store.webhooks.claimDue({ now: at(800), leaseUntil: at(860), leaseToken: 'lease-back', limit: 100 })).some((row) => row.id === rows[2]!.id));
    });

    test('API4 B12: purgeExpired, when delivered and dead-lettered deliveries are older than the audit cutoff, then they go (their payloads carry task output) while pending and younger ones stay', async () => {
      const store = getStore();
      const endpointId = `we_${randomUUID()}`;
      await store.webhooks.createEndpoint({ id: endpointId, url: 'https://hooks.example.com/kept', events: ['request.completed'], keyId: null, task: null, secret: 'sealed', createdAt: at(-400_000), createdBy: 'admin' });
      // Every row here is due before anything the other outbox tests enqueue (they start at T0), so only these are leased.
      const delivery = (name: string, createdAt: string): NewWebhookDelivery => ({ id: `dlv_${name}_${randomUUID()}`, messageId: `msg_${randomUUID()}`, endpointId, eventType: 'request.completed', payload: `{"output":"${name}"}`, createdAt });
      const oldDelivered = delivery('old-delivered', at(-300_000));
      const oldDead = delivery('old-dead', at(-300_000));
      const oldPending = delivery('old-pending', at(-300_000));
      const youngDelivered = delivery('young-delivered', at(-3_600));
      await store.webhooks.enqueue([oldDelivered, oldDead, oldPending, youngDelivered]);
      const leased = await store.webhooks.claimDue({ now: at(-3_500), leaseUntil: at(-3_440), leaseToken: 'lease-purge', limit: 100 });
      assert.deepEqual(leased.map((row) => row.id).sort(), [oldDelivered, oldDead, oldPending, youngDelivered].map((row) => row.id).sort());
      for (const [row, next] of [[oldDelivered, { state: 'delivered', at: at(-3_490) }], [oldDead, { state: 'dead' }], [youngDelivered, { state: 'delivered', at: at(-3_490) }]] as const) {
        assert.equal(await store.webhooks.recordAttempt({ id: row.id, leaseToken: 'lease-purge', status: next.state === 'dead' ? 500 : 200, error: null, next }), true);
      }

      // The audit cutoff falls between the old rows and the young one; nothing else in the store is that old.
      const purged = await store.purgeExpired({ auditBefore: new Date(Date.parse(at(-86_400))), now: new Date(Date.parse(at(-86_400))) });
      assert.equal(purged.webhookDeliveries, 2);
      assert.equal(await store.webhooks.getDelivery(oldDelivered.id), undefined, 'a delivered payload past retention is gone');
      assert.equal(await store.webhooks.getDelivery(oldDead.id), undefined, 'so is a dead letter nobody redelivered');
      assert.equal((await store.webhooks.getDelivery(oldPending.id))?.state, 'pending', 'an undelivered event is never dropped by age');
      assert.equal((await store.webhooks.getDelivery(youngDelivered.id))?.state, 'delivered', 'a delivery inside the retention stays');
      assert.equal((await store.purgeExpired({ auditBefore: new Date(Date.parse(at(-86_400))), now: new Date(Date.parse(at(-86_400))) })).webhookDeliveries, 0);
      assert.equal(await store.webhooks.deleteEndpoint(endpointId), true);
    });
  });
}
