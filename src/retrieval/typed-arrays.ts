// Growth of the in-memory indexes' typed arrays, shared by the vector and lexical indexes.

type Growable = Int8Array | Uint8Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

/**
 * The capacity after `size`: a quarter more, not double. At 100k chunks the index arrays are most of the serving
 * memory, and doubling left up to half of them as slack (~12 MB measured, BENCHMARKS.md); the extra copies during a
 * bulk load are cheap next to embedding.
 */
export const grownCapacity = (size: number): number => Math.max(size + 1, Math.ceil(size * 1.25));

/** A copy of `array` with room for `capacity` elements (the tail zeroed). */
export function widened<T extends Growable>(array: T, capacity: number): T {
  const wider = new (array.constructor as new (length: number) => T)(capacity);
  wider.set(array as never);
  return wider;
}
