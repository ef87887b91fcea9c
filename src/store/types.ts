// The storage seam: plain records and async repository interfaces, so the embedded SQLite store and a
// PostgreSQL store can stand behind the same calls. Nothing here exposes SQL, statements or handles.
import type { ReplayCache } from '../security/replay-cache.js';

export const ENVIRONMENTS = ['development', 'staging', 'production'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export interface ApiKeyRecord {
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly environment: Environment;
  /** SHA-256 of the secret part; the key itself is never stored. */
  readonly secretHash: string;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  readonly lastUsedAt: string | null;
  /** Set when every request made with this key must carry a Standard Webhooks signature. */
  readonly requireSignature: boolean;
  /** Active `whsec_` secrets, newest first; several during a rotation overlap. */
  readonly signingSecrets: readonly SigningSecret[];
  /** Keys rotated from one another share an integration name, so both can be listed together. */
  readonly integration: string;
}

export interface SigningSecret {
  readonly secret: string;
  readonly createdAt: string;
  /** After this instant the secret no longer verifies (the rotation overlap has ended). */
  readonly expiresAt: string | null;
}

export interface KeyStore {
  create(record: ApiKeyRecord): Promise<void>;
  findById(id: string): Promise<ApiKeyRecord | undefined>;
  list(): Promise<ApiKeyRecord[]>;
  revoke(id: string, at: string): Promise<boolean>;
  setExpiry(id: string, at: string): Promise<boolean>;
  touch(id: string, at: string): Promise<void>;
  setSigningSecrets(id: string, secrets: readonly SigningSecret[], requireSignature: boolean): Promise<boolean>;
  /** SIG-7: re-encrypts every signing secret not sealed under the current key (plaintext rows, a rotated key); returns the rows changed. */
  resealSigningSecrets(): Promise<number>;
}

export type AuditDecision = 'allowed' | 'abstained' | 'rejected' | 'denied' | 'review' | 'error' | 'admin';

export interface AuditRecord {
  readonly id: string;
  readonly requestId: string;
  readonly at: string;
  readonly keyId: string | null;
  readonly action: string;
  readonly task: string | null;
  readonly eventId: string | null;
  readonly source: string | null;
  readonly decision: AuditDecision;
  readonly status: number;
  readonly code: string | null;
  readonly chunkIds: readonly string[];
  readonly model: string | null;
  readonly latencyMs: number;
  /** Secret-free, redacted details: check reasons, a rejected model output, an admin action's target. */
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface AuditFilter {
  readonly requestId?: string;
  readonly keyId?: string;
  readonly task?: string;
  readonly decision?: AuditDecision;
  readonly limit: number;
  /** Rows older than this sequence number: the keyset position of the next page. */
  readonly beforeSeq?: number;
}

/** One failed unauthenticated request, folded into its source's row for the window (B12: counted, not one row each). */
export interface AuthFailure {
  /** The same for every failure of one source in one window, so they land on one row. */
  readonly summaryId: string;
  readonly requestId: string;
  readonly at: string;
  readonly source: string;
  readonly windowStart: string;
  readonly status: number;
  readonly code: string | null;
}

export interface AuditStore {
  append(record: AuditRecord): Promise<void>;
  /** Adds one to the source's summary row for the window, creating it (count 1) on the window's first failure. */
  countAuthFailure(failure: AuthFailure): Promise<void>;
  /** Newest first; `seq` orders rows and positions the next page. */
  list(filter: AuditFilter): Promise<Array<AuditRecord & { readonly seq: number }>>;
}

export interface StoredResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

export type IdempotencyClaim =
  | { readonly kind: 'claimed' }
  | { readonly kind: 'replay'; readonly response: StoredResponse }
  | { readonly kind: 'mismatch' }
  | { readonly kind: 'in_flight' };

export interface IdempotencyClaimRequest {
  /** Composite key: API key id, method, route template and the caller's Idempotency-Key (IDEM-3). */
  readonly scope: string;
  readonly fingerprint: string;
  /** Fresh per request: it fences the claim, so only its holder can complete or release it (B3). */
  readonly token: string;
  readonly now: Date;
  /** An in-flight claim older than this is treated as abandoned by a crashed process (IDEM-8). */
  readonly staleAfterMs: number;
}

/** The claim a completion presented is no longer in flight under its token: another request took the key over. */
export class IdempotencyClaimLostError extends Error {
  override readonly name = 'IdempotencyClaimLostError';
  constructor(readonly scope: string) {
    super('the idempotency claim was taken over before this request completed');
  }
}

export interface IdempotencyStore {
  claim(request: IdempotencyClaimRequest): Promise<IdempotencyClaim>;
  /** Drops the in-flight claim `token` holds so a retry re-executes (IDEM-7); a claim taken over since stays. */
  release(scope: string, token: string): Promise<void>;
  /** Removes completed records older than the retention window. */
  purgeExpired(olderThan: Date): Promise<number>;
}

export type ReviewState = 'open' | 'approved' | 'rejected';

export interface ReviewRecord {
  readonly id: string;
  readonly createdAt: string;
  readonly requestId: string;
  readonly keyId: string | null;
  readonly task: string;
  readonly state: ReviewState;
  readonly reasons: readonly string[];
  /** The task input after redaction; raw personal data is never stored here. */
  readonly input: Readonly<Record<string, unknown>>;
  /** The model's raw answer text, kept so a reviewer can see what was rejected. */
  readonly rawOutput: string;
  readonly chunkIds: readonly string[];
  readonly resolvedAt: string | null;
  readonly resolvedBy: string | null;
  readonly resolution: Readonly<Record<string, unknown>> | null;
}

export interface ReviewStore {
  get(id: string): Promise<ReviewRecord | undefined>;
  /** Newest first; `after` is the last item of the previous page. */
  list(filter: { readonly state?: ReviewState; readonly limit: number; readonly after?: { readonly createdAt: string; readonly id: string } }): Promise<ReviewRecord[]>;
  resolve(id: string, resolution: { state: 'approved' | 'rejected'; at: string; by: string; detail: Record<string, unknown> }): Promise<ReviewRecord | undefined>;
  countOpen(): Promise<number>;
}

/**
 * A write that finishes a call beside its outcome: settling the token reservation, releasing the execution slot,
 * settling the webhook-id. Handed to recordOutcome, which commits it in the outcome's transaction when it lives in
 * the same SQLite file (the embedded store keeps limits, slots and ids there too: one commit instead of four), and
 * runs it on its own after the commit otherwise (Redis, or limits a PostgreSQL deployment keeps in memory).
 */
export interface FinishingWrite {
  /** Performs the write on its own. Never rejects (a failed write leaves its safe state); does nothing once done. */
  run(): Promise<void>;
  /** The same write as statements of a transaction on an embedded SQLite file, when it lives in one. */
  readonly inFile?: FileWrite;
}

/** Statements on an embedded SQLite file, for a transaction there (a FileWrite before its owner's bookkeeping). */
export type FileStatements = Pick<FileWrite, 'file' | 'apply'>;

/** A FinishingWrite's statements, for a transaction on the file they live in. */
export interface FileWrite {
  /** The connection the statements belong to (opaque): only a store on that very connection runs them. */
  readonly file: object;
  /** Runs the statements inside the caller's open transaction; its rollback undoes them. */
  apply(): void;
  /** Called once that transaction committed, so the write's owner counts it as done. */
  committed(): void;
}

/** Everything a finished request writes, committed in one transaction. */
export interface RequestOutcome {
  readonly audit: AuditRecord;
  /**
   * When set, the claim `token` holds becomes a completed, replayable record. If the claim was taken over (reclaimed
   * as abandoned) the whole outcome is rolled back with IdempotencyClaimLostError: a key never completes twice (B3).
   */
  readonly idempotency?: { readonly scope: string; readonly token: string; readonly response: StoredResponse; readonly expiresAt: string };
  /** A transient outcome's claim, dropped with its audit row so a retry re-executes (IDEM-7); one taken over since stays. */
  readonly releaseClaim?: { readonly scope: string; readonly token: string };
  readonly review?: ReviewRecord;
  /** The request's addressable result (GET /v1/results/{request_id}). */
  readonly result?: TaskResultRecord;
  /** Webhook deliveries of the events this outcome raised, in the outbox before the commit returns. */
  readonly deliveries?: readonly NewWebhookDelivery[];
  /**
   * Done when recordOutcome returns: in the outcome's transaction where they live in its file, else after the commit.
   * When recordOutcome rejects, none is guaranteed: the caller runs the ones it still wants on their own.
   */
  readonly finishing?: readonly FinishingWrite[];
}

export type TaskResultState = 'done' | 'pending_review';

export interface TaskResultRecord {
  readonly requestId: string;
  readonly keyId: string;
  readonly task: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly state: TaskResultState;
  readonly reviewId: string | null;
  /** The idempotency record that replays this result, so a review decision replaces both. */
  readonly idempotencyScope: string | null;
  /** What a decided review needs to build its envelope (schema_version, event_id, output_schema). */
  readonly context: Readonly<Record<string, unknown>>;
  readonly response: StoredResponse;
  readonly expiresAt: string | null;
}

export interface ResultStore {
  /** The newest result stored under this request id; only among `keyId`'s own when given. */
  find(requestId: string, keyId?: string): Promise<TaskResultRecord | undefined>;
  findByReview(reviewId: string): Promise<TaskResultRecord | undefined>;
}

/** A review's resolution and everything it changes, committed in one transaction. */
export interface ReviewDecision {
  readonly reviewId: string;
  readonly resolution: { readonly state: 'approved' | 'rejected'; readonly at: string; readonly by: string; readonly detail: Record<string, unknown> };
  readonly audit: AuditRecord;
  /** Replaces the pending result, and the idempotent response stored for the same request, with the decided one. */
  readonly decided?: { readonly response: StoredResponse; readonly expiresAt: string };
  readonly deliveries: readonly NewWebhookDelivery[];
}

export interface WebhookEndpointRecord {
  readonly id: string;
  readonly url: string;
  readonly events: readonly string[];
  /** Only this key's requests (null: any key). */
  readonly keyId: string | null;
  /** Only this task's requests (null: any task). */
  readonly task: string | null;
  /** The `whsec_` signing secret; the store seals it at rest (SIG-7) and opens it when read. */
  readonly secret: string;
  readonly createdAt: string;
  readonly createdBy: string;
  /** Set when the receiver answered 410 Gone (Standard Webhooks: stop sending); nothing is enqueued or sent until an admin enables it again. */
  readonly disabledAt: string | null;
  readonly disabledReason: string | null;
}

/** An endpoint as registered: never disabled yet. */
export type NewWebhookEndpoint = Omit<WebhookEndpointRecord, 'disabledAt' | 'disabledReason'>;

export type WebhookDeliveryState = 'pending' | 'delivered' | 'dead';

export interface NewWebhookDelivery {
  readonly id: string;
  /** The Standard Webhooks `webhook-id`: one per event, the same on every attempt and redelivery. */
  readonly messageId: string;
  readonly endpointId: string;
  readonly eventType: string;
  /** The exact bytes that are signed and sent. */
  readonly payload: string;
  readonly createdAt: string;
}

export interface WebhookDeliveryRecord extends NewWebhookDelivery {
  readonly state: WebhookDeliveryState;
  readonly attempts: number;
  readonly nextAttemptAt: string;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly deliveredAt: string | null;
}

/** A delivery leased to one worker, with what it needs to send it. */
export interface ClaimedWebhookDelivery extends WebhookDeliveryRecord {
  readonly leaseToken: string;
  readonly url: string;
  readonly secret: string;
}

export interface WebhookAttempt {
  readonly id: string;
  readonly leaseToken: string;
  readonly status: number | null;
  readonly error: string | null;
  readonly next: { readonly state: 'delivered'; readonly at: string } | { readonly state: 'pending'; readonly at: string } | { readonly state: 'dead' };
  /** The receiver said the endpoint is gone: disable it and dead-letter its other pending deliveries, in the same write. */
  readonly disableEndpoint?: { readonly at: string; readonly reason: string };
}

export interface WebhookStore {
  createEndpoint(record: NewWebhookEndpoint): Promise<void>;
  getEndpoint(id: string): Promise<WebhookEndpointRecord | undefined>;
  listEndpoints(): Promise<WebhookEndpointRecord[]>;
  /** Deletes the endpoint and its deliveries. */
  deleteEndpoint(id: string): Promise<boolean>;
  /** Clears a disabled endpoint's disabled state; false when there is no such endpoint. */
  enableEndpoint(id: string): Promise<boolean>;
  /** Endpoints subscribed to `eventType` whose key and task filters match the request. */
  endpointsFor(eventType: string, keyId: string, task: string): Promise<WebhookEndpointRecord[]>;
  enqueue(deliveries: readonly NewWebhookDelivery[]): Promise<void>;
  getDelivery(id: string): Promise<WebhookDeliveryRecord | undefined>;
  listDeliveries(filter: { readonly endpointId?: string; readonly state?: WebhookDeliveryState; readonly limit: number }): Promise<WebhookDeliveryRecord[]>;
  /** Leases up to `limit` due, pending deliveries to one worker until `leaseUntil`; an expired lease is taken over. */
  claimDue(claim: { readonly now: string; readonly leaseUntil: string; readonly leaseToken: string; readonly limit: number }): Promise<ClaimedWebhookDelivery[]>;
  /** Records an attempt under the lease; false when the lease was lost to another worker (nothing is written). */
  recordAttempt(attempt: WebhookAttempt): Promise<boolean>;
  /** A dead-lettered delivery goes back to pending, due now, with a fresh attempt budget. */
  redeliver(id: string, now: string): Promise<WebhookDeliveryRecord | undefined>;
  countByState(): Promise<Readonly<Record<WebhookDeliveryState, number>>>;
  /** Re-encrypts endpoint secrets sealed under a previous at-rest key (SIG-7 rotation); returns how many changed. */
  resealSecrets(): Promise<number>;
}

/** What the retention job removes (B12); each cutoff is an instant, rows strictly older go. */
export interface RetentionCutoffs {
  /** Audit rows whose `at` is before this, and finished (delivered or dead) webhook deliveries created before it. */
  readonly auditBefore: Date;
  /** Completed idempotency records (and their stored bodies), addressable task results and replay-cache ids that expired before this. */
  readonly now: Date;
}

export interface PurgeCounts {
  readonly auditRows: number;
  readonly idempotencyRecords: number;
  /** Finished task results past their TTL; results waiting for a review decision have no expiry yet. */
  readonly taskResults: number;
  readonly replayIds: number;
  /** Delivered and dead-lettered webhook deliveries (their payloads carry task output) as old as purged audit rows. */
  readonly webhookDeliveries: number;
}

export type TaskVersionState = 'draft' | 'active' | 'retired';

/** One version of a task folder: its files as imported, and who made it active when. */
export interface TaskVersionRecord {
  readonly name: string;
  readonly version: number;
  readonly state: TaskVersionState;
  readonly digest: string;
  readonly files: Readonly<Record<string, string>>;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly activatedAt: string | null;
  readonly activatedBy: string | null;
}

/** Task versions, managed like corpus versions: draft → active → retired, at most one active per task. */
export interface TaskVersionStore {
  /** Bumped by every activation; a process reloads its tasks when it reads a newer one. */
  generation(): Promise<number>;
  /** The active version of every task. */
  active(): Promise<TaskVersionRecord[]>;
  /** Every version, newest first per task; one task's when `name` is given. */
  list(name?: string): Promise<TaskVersionRecord[]>;
  get(name: string, version: number): Promise<TaskVersionRecord | undefined>;
  /** Stores the files as a new draft, or returns the version that already holds exactly them (same digest). */
  importVersion(input: { name: string; digest: string; files: Readonly<Record<string, string>>; at: string; by: string }): Promise<{ record: TaskVersionRecord; created: boolean }>;
  /** Activates `version` and retires the previously active one in one transaction, bumping the generation. */
  activate(name: string, version: number, at: string, by: string): Promise<TaskVersionRecord | undefined>;
}

export interface Store {
  readonly keys: KeyStore;
  readonly audit: AuditStore;
  readonly idempotency: IdempotencyStore;
  readonly reviews: ReviewStore;
  readonly tasks: TaskVersionStore;
  readonly results: ResultStore;
  readonly webhooks: WebhookStore;
  /** Writes the audit row, the stored idempotent response and any review item atomically, then the finishing writes. */
  recordOutcome(outcome: RequestOutcome): Promise<void>;
  /** Resolves an open review with its decided result and webhook deliveries; undefined when it was not open. */
  recordReviewDecision(decision: ReviewDecision): Promise<ReviewRecord | undefined>;
  /** Signed-request ids seen within the replay window (SIG-5). */
  readonly replayCache: ReplayCache;
  /** Deletes what has outlived its retention (B12), in bounded batches so writers are never blocked for long. */
  purgeExpired(cutoffs: RetentionCutoffs): Promise<PurgeCounts>;
  /** True when every engine answers; rejects with store_unavailable naming the engine that does not. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
