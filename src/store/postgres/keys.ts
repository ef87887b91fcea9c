// API key rows in PostgreSQL: hashes, scopes, environment, signing secrets. Never the key itself.
import { inTransaction, iso, isoRequired, type PgPool } from './db.js';
import type { SecretBox } from '../../security/secret-box.js';
import { openSigningSecrets, resealed, sealSigningSecrets } from '../signing-secrets.js';
import type { ApiKeyRecord, Environment, KeyStore, SigningSecret } from '../types.js';

interface KeyRow {
  id: string;
  name: string;
  integration: string;
  scopes: string[];
  environment: Environment;
  secret_hash: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  require_signature: boolean;
  signing_secrets: SigningSecret[];
}

const toRecord = (row: KeyRow, box: SecretBox): ApiKeyRecord => ({
  id: row.id,
  name: row.name,
  integration: row.integration,
  scopes: row.scopes,
  environment: row.environment,
  secretHash: row.secret_hash,
  createdAt: isoRequired(row.created_at),
  expiresAt: iso(row.expires_at),
  revokedAt: iso(row.revoked_at),
  lastUsedAt: iso(row.last_used_at),
  requireSignature: row.require_signature,
  signingSecrets: openSigningSecrets(box, row.id, row.signing_secrets),
});

export function createPostgresKeyStore(db: PgPool, box: SecretBox): KeyStore {
  return {
    async create(record) {
      await db.query(
        `INSERT INTO api_keys (id, name, integration, scopes, environment, secret_hash, created_at, expires_at, require_signature, signing_secrets)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          record.id,
          record.name,
          record.integration,
          record.scopes,
          record.environment,
          record.secretHash,
          record.createdAt,
          record.expiresAt,
          record.requireSignature,
          JSON.stringify(sealSigningSecrets(box, record.id, record.signingSecrets)),
        ],
      );
    },
    async findById(id) {
      const { rows } = await db.query<KeyRow>('SELECT * FROM api_keys WHERE id = $1', [id]);
      return rows[0] === undefined ? undefined : toRecord(rows[0], box);
    },
    async list() {
      return (await db.query<KeyRow>('SELECT * FROM api_keys ORDER BY created_at, id')).rows.map((row) => toRecord(row, box));
    },
    async revoke(id, at) {
      return (await db.query('UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL', [id, at])).rowCount === 1;
    },
    async setExpiry(id, at) {
      return (await db.query('UPDATE api_keys SET expires_at = $2 WHERE id = $1', [id, at])).rowCount === 1;
    },
    async touch(id, at) {
      await db.query('UPDATE api_keys SET last_used_at = $2 WHERE id = $1', [id, at]);
    },
    async setSigningSecrets(id, secrets, requireSignature) {
      const result = await db.query('UPDATE api_keys SET signing_secrets = $2, require_signature = $3 WHERE id = $1', [id, JSON.stringify(sealSigningSecrets(box, id, secrets)), requireSignature]);
      return result.rowCount === 1;
    },
    async resealSigningSecrets() {
      // Row locks keep a concurrent secret rotation from being overwritten with the secrets read here.
      return inTransaction(db, async (client) => {
        const { rows } = await client.query<Pick<KeyRow, 'id' | 'signing_secrets'>>(
          "SELECT id, signing_secrets FROM api_keys WHERE signing_secrets <> '[]'::jsonb FOR UPDATE",
        );
        let changed = 0;
        for (const row of rows) {
          const next = resealed(box, row.id, row.signing_secrets);
          if (next === undefined) continue;
          await client.query('UPDATE api_keys SET signing_secrets = $2 WHERE id = $1', [row.id, JSON.stringify(next)]);
          changed += 1;
        }
        return changed;
      });
    },
  };
}
