// Constant-time equality for secrets and MACs, safe to call on inputs of any length.
import { timingSafeEqual } from 'node:crypto';

/**
 * True when both byte strings are identical. `timingSafeEqual` throws on a length mismatch, which would
 * turn a forged header into a 500; the length guard makes that a plain `false` and leaks only the length.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}
