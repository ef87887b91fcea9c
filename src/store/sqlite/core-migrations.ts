// Schema of the non-corpus tables in the embedded store. Append new migrations; never edit an applied one.
import type { Migration } from './db.js';

export const CORE_MIGRATIONS: readonly Migration[] = [
  {
    id: 'core-001-keys-audit-idempotency-reviews',
    sql: `
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        integration TEXT NOT NULL,
        scopes TEXT NOT NULL,
        environment TEXT NOT NULL CHECK (environment IN ('development','staging','production')),
        secret_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        revoked_at TEXT,
        last_used_at TEXT,
        require_signature INTEGER NOT NULL DEFAULT 0,
        signing_secrets TEXT NOT NULL DEFAULT '[]'
      );
      CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        request_id TEXT NOT NULL,
        at TEXT NOT NULL,
        key_id TEXT,
        action TEXT NOT NULL,
        task TEXT,
        event_id TEXT,
        source TEXT,
        decision TEXT NOT NULL,
        status INTEGER NOT NULL,
        code TEXT,
        chunk_ids TEXT NOT NULL,
        model TEXT,
        latency_ms REAL NOT NULL,
        detail TEXT NOT NULL
      );
      CREATE INDEX audit_log_request ON audit_log (request_id);
      CREATE INDEX audit_log_key ON audit_log (key_id, seq);
      CREATE TABLE idempotency_records (
        scope TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('in_flight','completed')),
        claimed_at TEXT NOT NULL,
        expires_at TEXT,
        response TEXT
      );
      CREATE TABLE reviews (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        request_id TEXT NOT NULL,
        key_id TEXT,
        task TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('open','approved','rejected')),
        reasons TEXT NOT NULL,
        input TEXT NOT NULL,
        raw_output TEXT NOT NULL,
        chunk_ids TEXT NOT NULL,
        resolved_at TEXT,
        resolved_by TEXT,
        resolution TEXT
      );
      CREATE INDEX reviews_state ON reviews (state, created_at);
      CREATE TABLE webhook_ids (
        scope TEXT NOT NULL,
        id TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        PRIMARY KEY (scope, id)
      );
    `,
  },
  {
    // SIG-5 with B2/B8: an id is in flight while its request runs and completed only by a final outcome; the token
    // fences settling, and replay_scope names the idempotency record a completed id may replay. Ids remembered
    // before this migration were consumed, so they stay completed.
    id: 'core-002-webhook-id-claims',
    sql: `
      ALTER TABLE webhook_ids ADD COLUMN state TEXT NOT NULL DEFAULT 'completed' CHECK (state IN ('in_flight','completed'));
      ALTER TABLE webhook_ids ADD COLUMN token TEXT;
      ALTER TABLE webhook_ids ADD COLUMN replay_scope TEXT;
    `,
  },
  {
    // Issue 14: the addressable result of every task request, and the webhook outbox written beside it.
    id: 'core-003-results-webhooks',
    sql: `
      CREATE TABLE task_results (
        key_id TEXT NOT NULL,
        request_id TEXT NOT NULL,
        task TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('done','pending_review')),
        review_id TEXT UNIQUE,
        idempotency_scope TEXT,
        context TEXT NOT NULL,
        response TEXT NOT NULL,
        expires_at TEXT,
        PRIMARY KEY (key_id, request_id)
      );
      CREATE INDEX task_results_request ON task_results (request_id, updated_at);
      CREATE TABLE webhook_endpoints (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        events TEXT NOT NULL,
        key_id TEXT,
        task TEXT,
        secret TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        CHECK (key_id IS NULL OR task IS NULL)
      );
      CREATE TABLE webhook_deliveries (
        id TEXT PRIMARY KEY,
        message_id TEXT NOT NULL,
        endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
        event_type TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending','delivered','dead')),
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        next_attempt_at TEXT NOT NULL,
        lease_token TEXT,
        lease_until TEXT,
        last_status INTEGER,
        last_error TEXT,
        delivered_at TEXT,
        UNIQUE (message_id, endpoint_id)
      );
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
      CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);
    `,
  },
  {
    // B3: the token of the request holding a claim; completion and release must present it, so a claim reclaimed as
    // abandoned can never be completed by its old holder too.
    id: 'core-004-idempotency-claim-token',
    sql: `ALTER TABLE idempotency_records ADD COLUMN claim_token TEXT;`,
  },
  {
    id: 'core-005-task-versions',
    sql: `
      CREATE TABLE task_versions (
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('draft','active','retired')),
        digest TEXT NOT NULL,
        files TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        activated_at TEXT,
        activated_by TEXT,
        PRIMARY KEY (name, version),
        UNIQUE (name, digest)
      );
      -- At most one active version per task, enforced by the database itself.
      CREATE UNIQUE INDEX task_versions_one_active ON task_versions (name) WHERE state = 'active';
      CREATE TABLE task_generation (generation INTEGER NOT NULL);
      INSERT INTO task_generation (generation) VALUES (0);
    `,
  },
  {
    // B12: the retention job deletes audit rows by age.
    id: 'core-006-audit-at-index',
    sql: 'CREATE INDEX audit_log_at ON audit_log (at);',
  },
  {
    // A receiver answering 410 Gone disables its endpoint.
    id: 'core-007-webhook-endpoint-disabled',
    sql: `
      ALTER TABLE webhook_endpoints ADD COLUMN disabled_at TEXT;
      ALTER TABLE webhook_endpoints ADD COLUMN disabled_reason TEXT;
    `,
  },
  {
    // Issue 17 item 4: limits every process on the file shares (store/sqlite/rate-limits.ts); times in epoch ms.
    id: 'core-008-shared-rate-limits',
    sql: `
      CREATE TABLE rate_limit_counters (
        policy TEXT NOT NULL,
        key TEXT NOT NULL,
        points INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (policy, key)
      ) WITHOUT ROWID;
      CREATE INDEX rate_limit_counters_expiry ON rate_limit_counters (expires_at);
      CREATE TABLE concurrency_slots (
        scope TEXT NOT NULL,
        holder TEXT NOT NULL,
        lease_until INTEGER NOT NULL,
        PRIMARY KEY (scope, holder)
      ) WITHOUT ROWID;
    `,
  },
];
