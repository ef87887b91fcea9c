// Structured logs with pino. Lines carry ids, routes, statuses and timings, never bodies (LLM02-1); anything that
// may still hold text (error messages) is scrubbed of keys, secrets and personal data first (LLM02-2).
import { pino, type DestinationStream, type Logger } from 'pino';

const SECRET_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  [/\bak_(?:dev|stg|prod)_[\w-]+/g, '[api-key]'],
  [/\bwhsec_[A-Za-z0-9+/=]+/g, '[signing-secret]'],
  [/\bsk-[A-Za-z0-9_-]{8,}/g, '[openai-key]'],
  [/\bBearer\s+[\w.~+/=-]+/gi, 'Bearer [redacted]'],
  [/[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g, '[email]'],
  [/\+?\d[\d\s().-]{7,}\d/g, '[number]'],
];

export function scrub(text: string): string {
  return SECRET_PATTERNS.reduce((result, [pattern, replacement]) => result.replace(pattern, replacement), text);
}

const serializeError = (error: unknown): Record<string, unknown> => {
  if (!(error instanceof Error)) return { message: scrub(String(error)) };
  return {
    type: error.name,
    message: scrub(error.message),
    ...(error.stack === undefined ? {} : { stack: scrub(error.stack) }),
    ...(error.cause === undefined ? {} : { cause: serializeError(error.cause) }),
  };
};

export function createLogger(options: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'airlock' },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: serializeError },
      // Defence in depth: these paths should never be logged at all.
      redact: { paths: ['authorization', 'headers.authorization', 'req.headers.authorization', 'key', 'secret', 'signature'], censor: '[redacted]' },
    },
    // Asynchronous by default, so a slow stdout reader (a pipe, a log shipper) never blocks the event loop: a line is
    // written as soon as the previous write finishes, lines queued meanwhile go out together. pino flushes what is
    // queued on exit; only a hard kill (SIGKILL, power loss) can lose the last lines.
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
