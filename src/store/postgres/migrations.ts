// Schema of the PostgreSQL store, core tables and corpus alike. Append new migrations; never edit an applied one.
import type { PgMigration } from './db.js';

export const POSTGRES_MIGRATIONS: readonly PgMigration[] = [
  {
    id: 'pg-001-keys-audit-idempotency-reviews',
    sql: `
      CREATE TABLE api_keys (
        id text PRIMARY KEY,
        name text NOT NULL,
        integration text NOT NULL,
        scopes text[] NOT NULL,
        environment text NOT NULL CHECK (environment IN ('development','staging','production')),
        secret_hash text NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz,
        revoked_at timestamptz,
        last_used_at timestamptz,
        require_signature boolean NOT NULL DEFAULT false,
        signing_secrets jsonb NOT NULL DEFAULT '[]'
      );
      CREATE TABLE audit_log (
        seq bigserial PRIMARY KEY,
        id text NOT NULL UNIQUE,
        request_id text NOT NULL,
        at timestamptz NOT NULL,
        key_id text,
        action text NOT NULL,
        task text,
        event_id text,
        source text,
        decision text NOT NULL,
        status integer NOT NULL,
        code text,
        chunk_ids text[] NOT NULL,
        model text,
        latency_ms double precision NOT NULL,
        detail jsonb NOT NULL
      );
      CREATE INDEX audit_log_request ON audit_log (request_id);
      CREATE INDEX audit_log_key ON audit_log (key_id, seq);
      -- json, not jsonb, for the response: a replay must return the stored body byte for byte, key order included.
      CREATE TABLE idempotency_records (
        scope text PRIMARY KEY,
        fingerprint text NOT NULL,
        state text NOT NULL CHECK (state IN ('in_flight','completed')),
        claimed_at timestamptz NOT NULL,
        expires_at timestamptz,
        response json
      );
      CREATE INDEX idempotency_records_expiry ON idempotency_records (expires_at) WHERE state = 'completed';
      CREATE TABLE reviews (
        id text PRIMARY KEY,
        created_at timestamptz NOT NULL,
        request_id text NOT NULL,
        key_id text,
        task text NOT NULL,
        state text NOT NULL CHECK (state IN ('open','approved','rejected')),
        reasons text[] NOT NULL,
        input jsonb NOT NULL,
        raw_output text NOT NULL,
        chunk_ids text[] NOT NULL,
        resolved_at timestamptz,
        resolved_by text,
        resolution jsonb
      );
      CREATE INDEX reviews_state ON reviews (state, created_at);
      CREATE TABLE webhook_ids (
        scope text NOT NULL,
        id text NOT NULL,
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (scope, id)
      );
    `,
  },
  {
    id: 'pg-002-corpus',
    sql: `
      CREATE TABLE corpus_meta (key text PRIMARY KEY, value text NOT NULL);
      -- One row: bumped in the same transaction as every change to what is retrievable. Its row lock also serialises
      -- corpus writers, so generations commit in order and a reader that sees generation G sees every event up to G.
      CREATE TABLE corpus_generation (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        generation bigint NOT NULL
      );
      INSERT INTO corpus_generation (generation) VALUES (0);

      CREATE TABLE corpus_documents (
        id text PRIMARY KEY,
        collection text NOT NULL,
        source text NOT NULL,
        owner text NOT NULL,
        title text NOT NULL,
        created_at timestamptz NOT NULL,
        created_by text NOT NULL,
        next_version integer NOT NULL DEFAULT 1
      );
      CREATE INDEX corpus_documents_collection ON corpus_documents (collection);

      CREATE TABLE corpus_versions (
        document_id text NOT NULL REFERENCES corpus_documents (id),
        version integer NOT NULL,
        state text NOT NULL CHECK (state IN ('draft', 'approved', 'quarantined', 'retired')),
        content_sha256 text NOT NULL,
        content_type text NOT NULL,
        bytes integer NOT NULL,
        text text NOT NULL,
        ingested_by text NOT NULL,
        ingested_at timestamptz NOT NULL,
        approved_by text,
        approved_at timestamptz,
        retired_by text,
        retired_at timestamptz,
        chunking jsonb NOT NULL,
        embedder jsonb NOT NULL,
        findings jsonb NOT NULL,
        PRIMARY KEY (document_id, version)
      );
      -- LLM08-2: at most one retrievable version per document, enforced by the database itself.
      CREATE UNIQUE INDEX corpus_versions_one_approved ON corpus_versions (document_id) WHERE state = 'approved';

      -- retrievable mirrors "the version is approved" so the GIN index covers exactly what may be found (as the
      -- SQLite FTS table holds approved chunks only); searches still re-check the version state when reading text.
      CREATE TABLE corpus_chunks (
        id bigserial PRIMARY KEY,
        document_id text NOT NULL,
        version integer NOT NULL,
        ordinal integer NOT NULL,
        chunk_id text NOT NULL,
        collection text NOT NULL,
        text text NOT NULL,
        embedding bytea NOT NULL,
        retrievable boolean NOT NULL DEFAULT false,
        tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
        FOREIGN KEY (document_id, version) REFERENCES corpus_versions (document_id, version) ON DELETE CASCADE,
        UNIQUE (document_id, version, ordinal)
      );
      CREATE INDEX corpus_chunks_chunk_id ON corpus_chunks (chunk_id);
      CREATE INDEX corpus_chunks_tsv ON corpus_chunks USING gin (tsv) WHERE retrievable;

      -- What each generation changed, so a process's index replica applies the delta instead of reloading everything.
      CREATE TABLE corpus_events (
        seq bigserial PRIMARY KEY,
        generation bigint NOT NULL,
        op text NOT NULL CHECK (op IN ('publish', 'unpublish', 'reload')),
        document_id text,
        version integer
      );
      CREATE INDEX corpus_events_generation ON corpus_events (generation);
    `,
  },
  {
    // SIG-5 with B2/B8: see core-002-webhook-id-claims in the SQLite store.
    id: 'pg-003-webhook-id-claims',
    sql: `
      ALTER TABLE webhook_ids ADD COLUMN state text NOT NULL DEFAULT 'completed' CHECK (state IN ('in_flight','completed'));
      ALTER TABLE webhook_ids ADD COLUMN token text;
      ALTER TABLE webhook_ids ADD COLUMN replay_scope text;
    `,
  },
  {
    // Issue 14: the addressable result of every task request, and the webhook outbox written beside it.
    id: 'pg-004-results-webhooks',
    sql: `
      -- json, not jsonb: a result and an idempotent replay return the same bytes, key order included.
      CREATE TABLE task_results (
        key_id text NOT NULL,
        request_id text NOT NULL,
        task text NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        state text NOT NULL CHECK (state IN ('done','pending_review')),
        review_id text UNIQUE,
        idempotency_scope text,
        context jsonb NOT NULL,
        response json NOT NULL,
        expires_at timestamptz,
        PRIMARY KEY (key_id, request_id)
      );
      CREATE INDEX task_results_request ON task_results (request_id, updated_at);
      CREATE TABLE webhook_endpoints (
        id text PRIMARY KEY,
        url text NOT NULL,
        events text[] NOT NULL,
        key_id text,
        task text,
        secret text NOT NULL,
        created_at timestamptz NOT NULL,
        created_by text NOT NULL,
        CHECK (key_id IS NULL OR task IS NULL)
      );
      CREATE TABLE webhook_deliveries (
        id text PRIMARY KEY,
        message_id text NOT NULL,
        endpoint_id text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
        event_type text NOT NULL,
        payload text NOT NULL,
        state text NOT NULL CHECK (state IN ('pending','delivered','dead')),
        attempts integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL,
        next_attempt_at timestamptz NOT NULL,
        lease_token text,
        lease_until timestamptz,
        last_status integer,
        last_error text,
        delivered_at timestamptz,
        UNIQUE (message_id, endpoint_id)
      );
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
      CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);
    `,
  },
  {
    // B3: see core-004-idempotency-claim-token in the SQLite store.
    id: 'pg-005-idempotency-claim-token',
    sql: `ALTER TABLE idempotency_records ADD COLUMN claim_token text;`,
  },
  {
    id: 'pg-006-task-versions',
    sql: `
      CREATE TABLE task_versions (
        name text NOT NULL,
        version integer NOT NULL,
        state text NOT NULL CHECK (state IN ('draft','active','retired')),
        digest text NOT NULL,
        files jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        created_by text NOT NULL,
        activated_at timestamptz,
        activated_by text,
        PRIMARY KEY (name, version),
        UNIQUE (name, digest)
      );
      -- At most one active version per task, enforced by the database itself.
      CREATE UNIQUE INDEX task_versions_one_active ON task_versions (name) WHERE state = 'active';
      CREATE TABLE task_generation (generation bigint NOT NULL);
      INSERT INTO task_generation (generation) VALUES (0);
    `,
  },
  {
    // B12: the retention job deletes audit rows by age.
    id: 'pg-007-audit-at-index',
    sql: 'CREATE INDEX audit_log_at ON audit_log (at);',
  },
  {
    // A receiver answering 410 Gone disables its endpoint.
    id: 'pg-008-webhook-endpoint-disabled',
    sql: 'ALTER TABLE webhook_endpoints ADD COLUMN disabled_at timestamptz, ADD COLUMN disabled_reason text;',
  },
  {
    // Issue 17: one retrieval engine ranks on every backend, in memory, fed by this log (the same shape as SQLite's
    // corpus_changes); PostgreSQL full-text search is no longer used, so its column and GIN index go.
    id: 'pg-009-corpus-changes',
    sql: `
      ALTER TABLE corpus_events RENAME TO corpus_changes;
      ALTER TABLE corpus_changes RENAME COLUMN op TO kind;
      ALTER INDEX corpus_events_generation RENAME TO corpus_changes_generation;
      DROP INDEX corpus_chunks_tsv;
      ALTER TABLE corpus_chunks DROP COLUMN tsv;
    `,
  },
];
