// Retry classification and timing (RETRY-1, RETRY-2) shared by our client and the upstream-call middleware.
import { drawFraction, type RandomFraction } from './random.js';

// RETRY-1 transient statuses. 409 is absent: ours means "replayed" as often as "in progress", so only the
// problem body's `retryable` (or `x-should-retry`) can make a 409 retryable.
const RETRYABLE_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

export interface RetryHints {
  /** The `x-should-retry` header, which overrides everything else as in openai-node. */
  readonly shouldRetryHeader?: string | null | undefined;
  /** The problem body's `retryable` member; ignored unless it is a boolean (RFC 9457 type rule). */
  readonly problemRetryable?: unknown;
}

/** Whether a response may be retried unchanged: explicit hints first, then the status table. */
export function isRetryableStatus(status: number, hints: RetryHints = {}): boolean {
  const header = hints.shouldRetryHeader?.trim().toLowerCase();
  if (header === 'true') return true;
  if (header === 'false') return false;
  if (typeof hints.problemRetryable === 'boolean') return hints.problemRetryable;
  return RETRYABLE_STATUSES.has(status);
}

/** openai-node ignores longer hints; a day-long quota reset should make a client give up, not sleep. */
export const DEFAULT_MAX_RETRY_AFTER_SECONDS = 60;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
// RFC 9110 §5.6.7: a recipient MUST accept IMF-fixdate and the obsolete RFC 850 and asctime forms.
const IMF_FIXDATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const RFC850_DATE = /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-([A-Z][a-z]{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME_DATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z][a-z]{2}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

function utcMillis(day: string, month: string, year: number, hour: string, minute: string, second: string): number | undefined {
  const monthIndex = MONTHS.indexOf(month);
  const [d, h, m, s] = [day, hour, minute, second].map(Number) as [number, number, number, number];
  if (monthIndex < 0 || d < 1 || h > 23 || m > 59 || s > 60) return undefined;
  const millis = Date.UTC(year, monthIndex, d, h, m, s);
  // Date.UTC rolls 31 Feb over into March; a date that does not round-trip is malformed.
  return new Date(millis).getUTCDate() === d ? millis : undefined;
}

/** RFC 9110: a two-digit year more than 50 years in the future means the most recent past year with those digits. */
function rfc850Year(twoDigits: number, now: Date): number {
  const current = now.getUTCFullYear();
  const candidate = current - (current % 100) + twoDigits;
  return candidate > current + 50 ? candidate - 100 : candidate;
}

function parseHttpDate(value: string, now: Date): number | undefined {
  const imf = IMF_FIXDATE.exec(value);
  if (imf) return utcMillis(imf[1]!, imf[2]!, Number(imf[3]), imf[4]!, imf[5]!, imf[6]!);
  const rfc850 = RFC850_DATE.exec(value);
  if (rfc850) return utcMillis(rfc850[1]!, rfc850[2]!, rfc850Year(Number(rfc850[3]), now), rfc850[4]!, rfc850[5]!, rfc850[6]!);
  const asctime = ASCTIME_DATE.exec(value);
  if (asctime) return utcMillis(asctime[2]!.trim(), asctime[1]!, Number(asctime[6]), asctime[3]!, asctime[4]!, asctime[5]!);
  return undefined;
}

/**
 * Seconds to wait from a `Retry-After` value (delay-seconds or HTTP-date), capped at `maxSeconds`. A past date is 0;
 * anything malformed is undefined, which the client treats as "no hint" and falls back to `backoffDelay`.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: Date,
  maxSeconds: number = DEFAULT_MAX_RETRY_AFTER_SECONDS,
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed.length > 64) return undefined;
  let seconds: number | undefined;
  if (/^\d+$/.test(trimmed)) {
    seconds = Number(trimmed);
  } else {
    const at = parseHttpDate(trimmed, now);
    seconds = at === undefined ? undefined : Math.max(0, Math.ceil((at - now.getTime()) / 1000));
  }
  return seconds === undefined ? undefined : Math.min(seconds, maxSeconds);
}

export interface BackoffOptions {
  readonly baseMs?: number;
  readonly maxMs?: number;
}

/**
 * Milliseconds before retry number `attempt` (0-based): `base·2^attempt`, capped, minus up to 25% jitter so clients
 * that failed together do not retry together (openai-node's schedule: 0.5 s doubling to 8 s).
 */
export function backoffDelay(attempt: number, random: RandomFraction, options: BackoffOptions = {}): number {
  const { baseMs = 500, maxMs = 8_000 } = options;
  if (!Number.isSafeInteger(attempt) || attempt < 0) throw new RangeError('attempt must be a non-negative integer');
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling * (1 - 0.25 * drawFraction(random)));
}
