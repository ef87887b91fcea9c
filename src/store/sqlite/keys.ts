// API key rows in SQLite: hashes, scopes, environment, signing secrets. Never the key itself.
import type { SqliteDatabase } from './db.js';
import type { SecretBox } from '../../security/secret-box.js';
import { openSigningSecrets, resealed, sealSigningSecrets } from '../signing-secrets.js';
import type { ApiKeyRecord, Environment, KeyStore, SigningSecret } from '../types.js';

interface KeyRow {
  id: string;
  name: string;
  integration: string;
  scopes: string;
  environment: Environment;
  secret_hash: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  require_signature: number;
  signing_secrets: string;
}

const toRecord = (row: KeyRow, box: SecretBox): ApiKeyRecord => ({
  id: row.id,
  name: row.name,
  integration: row.integration,
  scopes: JSON.parse(row.scopes) as string[],
  environment: row.environment,
  secretHash: row.secret_hash,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  revokedAt: row.revoked_at,
  lastUsedAt: row.last_used_at,
  requireSignature: row.require_signature === 1,
  signingSecrets: openSigningSecrets(box, row.id, JSON.parse(row.signing_secrets) as SigningSecret[]),
});

export function createSqliteKeyStore(db: SqliteDatabase, box: SecretBox): KeyStore {
  const insert = db.prepare(`INSERT INTO api_keys (id, name, integration, scopes, environment, secret_hash, created_at, expires_at,
      revoked_at, last_used_at, require_signature, signing_secrets)
    VALUES (@id, @name, @integration, @scopes, @environment, @secret_hash, @created_at, @expires_at, NULL, NULL, @require_signature, @signing_secrets)`);
  const byId = db.prepare<[string], KeyRow>('SELECT * FROM api_keys WHERE id = ?');
  const all = db.prepare<[], KeyRow>('SELECT * FROM api_keys ORDER BY created_at, id');
  const revoke = db.prepare('UPDATE api_keys SET revoked_at = @at WHERE id = @id AND revoked_at IS NULL');
  const setExpiry = db.prepare('UPDATE api_keys SET expires_at = @at WHERE id = @id');
  const touch = db.prepare('UPDATE api_keys SET last_used_at = @at WHERE id = @id');
  const setSecrets = db.prepare('UPDATE api_keys SET signing_secrets = @secrets, require_signature = @require WHERE id = @id');
  const withSecrets = db.prepare<[], Pick<KeyRow, 'id' | 'signing_secrets'>>("SELECT id, signing_secrets FROM api_keys WHERE signing_secrets <> '[]'");
  const replaceSecrets = db.prepare('UPDATE api_keys SET signing_secrets = @secrets WHERE id = @id');
  const resealAll = db.transaction((): number => {
    let changed = 0;
    for (const row of withSecrets.all()) {
      const next = resealed(box, row.id, JSON.parse(row.signing_secrets) as SigningSecret[]);
      if (next === undefined) continue;
      replaceSecrets.run({ id: row.id, secrets: JSON.stringify(next) });
      changed += 1;
    }
    return changed;
  });

  return {
    async create(record) {
      insert.run({
        id: record.id,
        name: record.name,
        integration: record.integration,
        scopes: JSON.stringify(record.scopes),
        environment: record.environment,
        secret_hash: record.secretHash,
        created_at: record.createdAt,
        expires_at: record.expiresAt,
        require_signature: record.requireSignature ? 1 : 0,
        signing_secrets: JSON.stringify(sealSigningSecrets(box, record.id, record.signingSecrets)),
      });
    },
    async findById(id) {
      const row = byId.get(id);
      return row === undefined ? undefined : toRecord(row, box);
    },
    async list() {
      return all.all().map((row) => toRecord(row, box));
    },
    async revoke(id, at) {
      return revoke.run({ id, at }).changes === 1;
    },
    async setExpiry(id, at) {
      return setExpiry.run({ id, at }).changes === 1;
    },
    async touch(id, at) {
      touch.run({ id, at });
    },
    async setSigningSecrets(id, secrets, requireSignature) {
      return setSecrets.run({ id, secrets: JSON.stringify(sealSigningSecrets(box, id, secrets)), require: requireSignature ? 1 : 0 }).changes === 1;
    },
    async resealSigningSecrets() {
      // secure_delete zeroes the space the old values occupied, and the checkpoint empties the WAL, so neither
      // plaintext from before encryption nor ciphertext under a retired key stays readable in the files.
      db.pragma('secure_delete = ON');
      try {
        const changed = resealAll.immediate();
        if (changed > 0) db.pragma('wal_checkpoint(TRUNCATE)');
        return changed;
      } finally {
        db.pragma('secure_delete = OFF');
      }
    },
  };
}
