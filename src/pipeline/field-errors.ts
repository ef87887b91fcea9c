// Turns zod issues into the problem `errors` list: one {path, pointer, message} per issue, paths dotted and pointers
// (RFC 6901) from the body root.
import type { z } from 'zod';
import { jsonPointer, type FieldError } from '../errors.js';

export function zodIssuesToFieldErrors(issues: readonly z.core.$ZodIssue[], prefix: readonly string[] = []): FieldError[] {
  return issues.map((issue) => {
    const path = [...prefix, ...issue.path.map(String)];
    const unknownKeys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    return {
      path: path.join('.') || '(body)',
      pointer: jsonPointer(path),
      message: unknownKeys.length > 0 ? `unknown field(s): ${unknownKeys.join(', ')}` : issue.message,
    };
  });
}
