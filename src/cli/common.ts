// What every command group of the CLI shares: usage errors, an open runtime for the length of one command, and the audit
// row each administrative action writes (the admin API writes one per request; the CLI writes the same, actor `cli`).
import type { z } from 'zod';
import type { Config } from '../config.js';
import { isAppError } from '../errors.js';
import { openRuntime, type Runtime } from '../runtime.js';

/** A mistake in how the command was called: one readable line and exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The actor the CLI's changes are recorded under (the admin API records the key id). */
export const CLI_ACTOR = 'cli';

export const need = (value: string | undefined, what: string): string => {
  if (value === undefined || value === '') throw new UsageError(`missing ${what}`);
  return value;
};

export async function withRuntime<T>(config: Config, work: (runtime: Runtime) => Promise<T>): Promise<T> {
  const runtime = await openRuntime(config);
  try {
    return await work(runtime);
  } finally {
    await runtime.close();
  }
}

/**
 * Parses options with a domain schema; a failure becomes a usage error naming the flag the user typed
 * (`--scopes: scope must be admin, …`), not the schema's field or raw zod JSON.
 */
export function parseFlags<T extends z.ZodType>(schema: T, value: unknown, flags: Readonly<Record<string, string>>): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = String(issue?.path[0] ?? '');
  throw new UsageError(`${flags[field] ?? field}: ${issue?.message ?? 'invalid value'}`);
}

/**
 * Runs one administrative action and appends its audit row: `cli <command>`, decision admin on success (with the
 * secret-free detail the action returns) or error with the problem code and message on failure, which is rethrown.
 */
export async function audited<T>(runtime: Runtime, command: string, work: () => Promise<T>, detail: (result: T) => Record<string, unknown>): Promise<T> {
  const started = Date.now();
  const row = (decision: 'admin' | 'error', status: number, code: string | null, rowDetail: Record<string, unknown>) =>
    runtime.store.audit.append({
      id: runtime.newId(),
      requestId: runtime.newId(),
      at: runtime.clock().toISOString(),
      keyId: CLI_ACTOR,
      action: `cli ${command}`,
      task: null,
      eventId: null,
      source: null,
      decision,
      status,
      code,
      chunkIds: [],
      model: null,
      latencyMs: Date.now() - started,
      detail: rowDetail,
    });
  let result: T;
  try {
    result = await work();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await row('error', isAppError(error) ? error.status : 500, isAppError(error) ? error.code : null, { detail: isAppError(error) ? (error.detail ?? message) : message });
    throw error;
  }
  await row('admin', 200, null, detail(result));
  return result;
}
