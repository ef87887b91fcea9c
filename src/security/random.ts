// The randomness seams of the security modules: injected so key generation and jitter are deterministic under test.

/** Returns `size` cryptographically random bytes; `crypto.randomBytes` in production. */
export type RandomBytes = (size: number) => Uint8Array;

/** Returns a number in [0, 1); `Math.random` suffices because it only spreads retries, it guards nothing. */
export type RandomFraction = () => number;

/** Draws from `random`, clamped to [0, 1] so a misbehaving source can never push jitter outside its stated bounds. */
export const drawFraction = (random: RandomFraction): number => Math.min(Math.max(random(), 0), 1);
