// `airlock keys …`: create, list, revoke, rotate, rotate-secret and reseal, each audited like the admin API's key routes.
import { createKeyAdmin, CreateKeyRequest } from '../admin/keys.js';
import type { Runtime } from '../runtime.js';
import { audited, need, parseFlags, UsageError } from './common.js';
import { print, table, type CliIO } from './output.js';

export interface KeyCommandOptions {
  readonly name?: string | undefined;
  readonly scopes?: string | undefined;
  readonly env?: string | undefined;
  readonly expires?: string | undefined;
  readonly signed: boolean;
  readonly 'overlap-hours': string;
}

/** The flag each field of a key request comes from, so a refusal names what the user typed. */
const KEY_FLAGS = { name: '--name', scopes: '--scopes', environment: '--env', expires_at: '--expires', require_signature: '--signed' };

const keyAdmin = (runtime: Runtime) =>
  createKeyAdmin({ keys: runtime.store.keys, environment: runtime.config.AIRLOCK_ENV, clock: runtime.clock, random: runtime.random });

const overlapHoursOf = (options: KeyCommandOptions): number => {
  const hours = Number(options['overlap-hours']);
  if (!Number.isFinite(hours) || hours < 0) throw new UsageError('--overlap-hours must be a non-negative number');
  return hours;
};

/** Runs one `keys` action on an open runtime. */
export async function keysCommand(action: string, target: string | undefined, options: KeyCommandOptions, runtime: Runtime, io: CliIO): Promise<number> {
  const admin = keyAdmin(runtime);
  switch (action) {
    case 'create': {
      const request = parseFlags(
        CreateKeyRequest,
        {
          name: need(options.name, '--name'),
          scopes: need(options.scopes, '--scopes').split(/[\s,]+/).filter(Boolean),
          ...(options.env === undefined ? {} : { environment: options.env }),
          ...(options.expires === undefined ? {} : { expires_at: options.expires }),
          require_signature: options.signed,
        },
        KEY_FLAGS,
      );
      const created = await audited(runtime, 'keys create', () => admin.create(request), (key) => ({ key_id: key.id, scopes: key.record.scopes }));
      print(io, { id: created.id, key: created.key, ...(created.signing_secret === undefined ? {} : { signing_secret: created.signing_secret }) }, () =>
        [`id:  ${created.id}`, `key: ${created.key}`, ...(created.signing_secret === undefined ? [] : [`signing secret: ${created.signing_secret}`]), 'Store the key now: it is not shown again.'].join('\n'),
      );
      return 0;
    }
    case 'list': {
      const keys = await admin.list();
      print(io, keys, () => table(keys, ['id', 'name', 'environment', 'scopes', 'expires_at', 'revoked_at', 'last_used_at']));
      return 0;
    }
    case 'revoke': {
      const id = need(target, 'key id');
      const key = await audited(runtime, 'keys revoke', () => admin.revoke(id), (revoked) => ({ key_id: revoked.id }));
      print(io, key, () => `revoked ${key.id}`);
      return 0;
    }
    case 'rotate': {
      const id = need(target, 'key id');
      if (options.expires !== undefined) parseFlags(CreateKeyRequest.shape.expires_at, options.expires, { '': '--expires' });
      const overlap = overlapHoursOf(options);
      const rotated = await audited(runtime, 'keys rotate', () => admin.rotate(id, overlap, options.expires), (key) => ({ key_id: key.id, previous: key.previous.id }));
      print(io, { id: rotated.id, key: rotated.key, previous: rotated.previous }, () =>
        `new id:  ${rotated.id}\nnew key: ${rotated.key}\nold key ${rotated.previous.id} expires at ${String(rotated.previous.expires_at)}`,
      );
      return 0;
    }
    case 'rotate-secret': {
      const id = need(target, 'key id');
      const overlap = overlapHoursOf(options);
      const rotated = await audited(runtime, 'keys rotate-secret', () => admin.rotateSigningSecret(id, overlap), () => ({ key_id: id }));
      print(io, rotated, () => `signing secret: ${rotated.signing_secret}`);
      return 0;
    }
    case 'reseal': {
      const resealed = await audited(runtime, 'keys reseal', () => runtime.store.keys.resealSigningSecrets(), (count) => ({ resealed: count }));
      // Outbound webhook endpoints hold secrets under the same at-rest key (issue 14).
      const webhookEndpoints = await audited(runtime, 'webhooks reseal', () => runtime.store.webhooks.resealSecrets(), (count) => ({ webhook_endpoints: count }));
      print(io, { resealed, webhook_endpoints: webhookEndpoints }, () =>
        `re-encrypted the signing secrets of ${resealed} keys and ${webhookEndpoints} webhook endpoints under AIRLOCK_SECRET_KEY`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command "keys ${action}"; run "airlock keys --help"`);
  }
}
