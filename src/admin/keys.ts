// Key management shared by the CLI and /admin/keys: create (the key is shown once), list, revoke, rotate with an
// overlap window during which both keys work, and signing-secret rotation (SIG-7).
import { z } from 'zod';
import { AppError } from '../errors.js';
import { generateApiKey, generateSigningSecret } from '../security/api-key.js';
import { Scope } from '../scopes.js';
import { ENVIRONMENTS, type ApiKeyRecord, type KeyStore, type SigningSecret } from '../store/types.js';

export const CreateKeyRequest = z.strictObject({
  name: z.string().trim().min(1).max(100),
  scopes: z.array(Scope).min(1).max(50),
  environment: z.enum(ENVIRONMENTS).optional(),
  expires_at: z.iso.datetime({ offset: true }).optional(),
  require_signature: z.boolean().default(false),
  integration: z.string().trim().min(1).max(100).optional(),
});
export type CreateKeyRequest = z.input<typeof CreateKeyRequest>;

export interface KeyAdminDeps {
  readonly keys: KeyStore;
  readonly environment: (typeof ENVIRONMENTS)[number];
  readonly clock: () => Date;
  readonly random: (bytes: number) => Buffer;
}

/** The listing shape: never the hash, never the signing secrets. */
export const describeKey = (record: ApiKeyRecord) => ({
  id: record.id,
  name: record.name,
  integration: record.integration,
  scopes: record.scopes,
  environment: record.environment,
  created_at: record.createdAt,
  expires_at: record.expiresAt,
  revoked_at: record.revokedAt,
  last_used_at: record.lastUsedAt,
  require_signature: record.requireSignature,
  signing_secrets: record.signingSecrets.length,
});

export interface CreatedKey {
  readonly id: string;
  /** Shown once; only its hash is stored. */
  readonly key: string;
  readonly signing_secret?: string;
  readonly record: ReturnType<typeof describeKey>;
}

export function createKeyAdmin(deps: KeyAdminDeps) {
  async function create(request: CreateKeyRequest): Promise<CreatedKey> {
    const parsed = CreateKeyRequest.parse(request);
    const environment = parsed.environment ?? deps.environment;
    const generated = generateApiKey({ environment, random: deps.random });
    const now = deps.clock().toISOString();
    const signingSecret = parsed.require_signature ? generateSigningSecret(deps.random) : undefined;
    const record: ApiKeyRecord = {
      id: generated.id,
      name: parsed.name,
      integration: parsed.integration ?? parsed.name,
      scopes: [...new Set(parsed.scopes)],
      environment,
      secretHash: generated.hash,
      createdAt: now,
      expiresAt: parsed.expires_at === undefined ? null : new Date(parsed.expires_at).toISOString(),
      revokedAt: null,
      lastUsedAt: null,
      requireSignature: parsed.require_signature,
      signingSecrets: signingSecret === undefined ? [] : [{ secret: signingSecret, createdAt: now, expiresAt: null }],
    };
    await deps.keys.create(record);
    return { id: generated.id, key: generated.key, ...(signingSecret === undefined ? {} : { signing_secret: signingSecret }), record: describeKey(record) };
  }

  async function existing(id: string): Promise<ApiKeyRecord> {
    const record = await deps.keys.findById(id);
    if (record === undefined) throw new AppError('not_found', { detail: `No key with id ${id}.` });
    return record;
  }

  /** API2: only a live key can be rotated; rotating an expired or revoked one would resurrect access it no longer has. */
  async function rotatable(id: string): Promise<ApiKeyRecord> {
    const record = await existing(id);
    if (record.revokedAt !== null) throw new AppError('state_conflict', { detail: 'A revoked key cannot be rotated.' });
    if (record.expiresAt !== null && Date.parse(record.expiresAt) <= deps.clock().getTime()) {
      throw new AppError('state_conflict', { detail: 'An expired key cannot be rotated; create a new key instead.' });
    }
    return record;
  }

  return {
    create,
    async list() {
      return (await deps.keys.list()).map(describeKey);
    },
    async revoke(id: string) {
      await existing(id);
      if (!(await deps.keys.revoke(id, deps.clock().toISOString()))) throw new AppError('state_conflict', { detail: 'The key is already revoked.' });
      return describeKey(await existing(id));
    },
    /**
     * A new key with the same scopes and the same expiry (or `expiresAt` when given: a rotation must never turn an
     * expiring key into a permanent one); the old one keeps working for `overlapHours`, then expires.
     */
    async rotate(id: string, overlapHours: number, expiresAt?: string): Promise<CreatedKey & { previous: ReturnType<typeof describeKey> }> {
      const old = await rotatable(id);
      if (expiresAt !== undefined && Date.parse(expiresAt) <= deps.clock().getTime()) {
        throw new AppError('validation_failed', { detail: 'The new expiry is in the past.', errors: [{ path: 'expires_at', message: 'must be in the future' }] });
      }
      const expiry = expiresAt ?? old.expiresAt;
      const created = await create({
        name: old.name,
        scopes: [...old.scopes],
        environment: old.environment,
        require_signature: old.requireSignature,
        integration: old.integration,
        ...(expiry === null ? {} : { expires_at: expiry }),
      });
      if (old.requireSignature) {
        // The integration keeps its signing secrets across a key rotation; only the bearer key changes.
        await deps.keys.setSigningSecrets(created.id, old.signingSecrets, true);
      }
      const overlapEnds = new Date(deps.clock().getTime() + overlapHours * 3_600_000).toISOString();
      const previousExpiry = old.expiresAt !== null && old.expiresAt < overlapEnds ? old.expiresAt : overlapEnds;
      await deps.keys.setExpiry(id, previousExpiry);
      const { signing_secret: _unused, ...rest } = created;
      return { ...rest, previous: describeKey(await existing(id)) };
    },
    /** Adds a new signing secret; the older ones stop verifying after `overlapHours` (SIG-7). */
    async rotateSigningSecret(id: string, overlapHours: number): Promise<{ id: string; signing_secret: string }> {
      const record = await rotatable(id);
      const now = deps.clock();
      const overlapEnds = new Date(now.getTime() + overlapHours * 3_600_000).toISOString();
      const secret = generateSigningSecret(deps.random);
      const kept: SigningSecret[] = record.signingSecrets
        .filter((old) => old.expiresAt === null || Date.parse(old.expiresAt) > now.getTime())
        .map((old) => ({ ...old, expiresAt: old.expiresAt !== null && old.expiresAt < overlapEnds ? old.expiresAt : overlapEnds }));
      await deps.keys.setSigningSecrets(id, [{ secret, createdAt: now.toISOString(), expiresAt: null }, ...kept], true);
      return { id, signing_secret: secret };
    },
  };
}

export type KeyAdmin = ReturnType<typeof createKeyAdmin>;
