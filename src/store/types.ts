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

export interface AuditStore {
  append(record: AuditRecord): Promise<void>;
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
  readonly now: Date;
  /** An in-flight claim older than this is treated as abandoned by a crashed process (IDEM-8). */
  readonly staleAfterMs: number;
}

export interface IdempotencyStore {
  claim(request: IdempotencyClaimRequest): Promise<IdempotencyClaim>;
  /** Drops an in-flight claim so a retry re-executes (IDEM-7: transient failures are not stored). */
  release(scope: string): Promise<void>;
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

/** Everything a finished request writes, committed in one transaction. */
export interface RequestOutcome {
  readonly audit: AuditRecord;
  /** When set, the claim for this scope becomes a completed, replayable record. */
  readonly idempotency?: { readonly scope: string; readonly response: StoredResponse; readonly expiresAt: string };
  readonly review?: ReviewRecord;
}

export interface Store {
  readonly keys: KeyStore;
  readonly audit: AuditStore;
  readonly idempotency: IdempotencyStore;
  readonly reviews: ReviewStore;
  /** Writes the audit row, the stored idempotent response and any review item atomically. */
  recordOutcome(outcome: RequestOutcome): Promise<void>;
  /** Signed-request ids seen within the replay window (SIG-5). */
  readonly replayCache: ReplayCache;
  /** True when every engine answers; rejects with store_unavailable naming the engine that does not. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
