// Engine failures as what they mean to a caller: the store cannot answer for now, so 503 store_unavailable
// (retryable) naming the engine, for readiness and for operators. Anything else a store throws is a bug and stays one.
import { AppError, isAppError } from '../errors.js';

export type Engine = 'SQLite' | 'PostgreSQL' | 'Redis';

/** Socket and DNS failures: the engine's host cannot be reached, or dropped the connection. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** SQLSTATE classes 08 connection exception, 53 insufficient resources, 57 operator intervention (shutdown), 58 system error. */
const POSTGRES_UNAVAILABLE_CLASSES = new Set(['08', '53', '57', '58']);
/** node-postgres's own failures carry no SQLSTATE: a dropped connection, a connect timeout, an ended pool. */
const POSTGRES_CLIENT_FAILURE = /connection|terminated|timeout exceeded|after calling end/i;
/** Busy or locked past busy_timeout, I/O error, disk full, a file that cannot be opened or written. */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY)/;

function isEngineUnavailable(engine: Engine, error: unknown): boolean {
  if (!(error instanceof Error) || isAppError(error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  switch (engine) {
    case 'SQLite':
      return typeof code === 'string' ? SQLITE_UNAVAILABLE.test(code) : /database connection is not open/i.test(error.message);
    case 'PostgreSQL':
      return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? POSTGRES_UNAVAILABLE_CLASSES.has(code.slice(0, 2)) : POSTGRES_CLIENT_FAILURE.test(error.message);
    case 'Redis':
      // A ReplyError is Redis answering that a command is wrong (our bug); everything else is the connection.
      return error.name !== 'ReplyError';
  }
}

export const engineUnavailable = (engine: Engine, cause?: unknown): AppError =>
  new AppError('store_unavailable', { detail: `${engine} is unavailable.`, cause, headers: { 'Retry-After': '2' } });

const asStoreError = (engine: Engine, error: unknown): unknown => (isEngineUnavailable(engine, error) ? engineUnavailable(engine, error) : error);

type Method = (...args: unknown[]) => unknown;

function guardMethod(engine: Engine, method: Method, self: object): Method {
  return (...args) => {
    try {
      const result = method.apply(self, args);
      return result instanceof Promise ? result.catch((error: unknown) => Promise.reject(asStoreError(engine, error))) : result;
    } catch (error) {
      throw asStoreError(engine, error);
    }
  };
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;

/**
 * The same repository object, whose methods (and those of the plain objects it holds, one repository each) report
 * engine failures as store_unavailable, synchronous or not. Class instances it holds (a Database, a Pool) are kept
 * as they are: only repositories speak to callers.
 */
export function failClosed<T extends object>(engine: Engine, repository: T): T {
  const guarded: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(repository)) {
    guarded[name] = typeof value === 'function' ? guardMethod(engine, value as Method, repository) : isPlainObject(value) ? failClosed(engine, value) : value;
  }
  return guarded as T;
}
