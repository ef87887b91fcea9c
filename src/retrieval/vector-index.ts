// In-process KNN over approved chunk vectors: one partition per collection, 1-bit codes to shortlist, float cosine to rank.
// It is a cache of what SQLite holds; the corpus store keeps it in step inside the same synchronous section as its writes.

export interface VectorHit {
  readonly rowid: number;
  /** Cosine similarity (vectors are unit length). */
  readonly similarity: number;
}

export interface VectorIndex {
  readonly dimension: number;
  add(rowid: number, collection: string, vector: Float32Array): void;
  remove(rowid: number): void;
  /**
   * Nearest vectors among the given collections only (LLM08-1): other partitions are never scanned, so no amount of
   * foreign neighbours can crowd out or leak into the top k.
   */
  search(query: Float32Array, collections: readonly string[], k: number): VectorHit[];
  size(): number;
  clear(): void;
}

export interface VectorIndexOptions {
  /** Candidates kept per requested neighbour after the bit-code pass, before exact float re-scoring. */
  readonly oversample?: number;
  /** Partitions at or below this size are scanned exactly; above it, this many bit-code candidates are re-scored. */
  readonly minCandidates?: number;
}

const POPCOUNT16 = (() => {
  const table = new Uint8Array(1 << 16);
  for (let i = 1; i < table.length; i += 1) table[i] = (table[i >> 1] ?? 0) + (i & 1);
  return table;
})();

class Partition {
  count = 0;
  vectors: Float32Array;
  codes: Uint32Array;
  rowids: Float64Array;

  constructor(
    readonly dimension: number,
    readonly words: number,
  ) {
    this.vectors = new Float32Array(dimension * 64);
    this.codes = new Uint32Array(words * 64);
    this.rowids = new Float64Array(64);
  }

  push(rowid: number, vector: Float32Array, code: Uint32Array): number {
    if (this.count === this.rowids.length) this.grow();
    const slot = this.count;
    this.vectors.set(vector, slot * this.dimension);
    this.codes.set(code, slot * this.words);
    this.rowids[slot] = rowid;
    this.count += 1;
    return slot;
  }

  /** Moves the last entry into `slot`; returns the rowid that moved (or undefined when `slot` was last). */
  removeAt(slot: number): number | undefined {
    const last = this.count - 1;
    this.count = last;
    if (slot === last) return undefined;
    this.vectors.copyWithin(slot * this.dimension, last * this.dimension, (last + 1) * this.dimension);
    this.codes.copyWithin(slot * this.words, last * this.words, (last + 1) * this.words);
    const moved = this.rowids[last] ?? 0;
    this.rowids[slot] = moved;
    return moved;
  }

  private grow(): void {
    const capacity = this.rowids.length * 2;
    const vectors = new Float32Array(capacity * this.dimension);
    vectors.set(this.vectors);
    const codes = new Uint32Array(capacity * this.words);
    codes.set(this.codes);
    const rowids = new Float64Array(capacity);
    rowids.set(this.rowids);
    this.vectors = vectors;
    this.codes = codes;
    this.rowids = rowids;
  }
}

/** Sign bits of the vector: Hamming distance between codes tracks the angle between vectors. */
function signCode(vector: Float32Array, words: number): Uint32Array {
  const code = new Uint32Array(words);
  for (let i = 0; i < vector.length; i += 1) {
    if ((vector[i] ?? 0) > 0) code[i >>> 5] = (code[i >>> 5] ?? 0) | (1 << (i & 31));
  }
  return code;
}

export function createVectorIndex(dimension: number, options: VectorIndexOptions = {}): VectorIndex {
  const words = Math.ceil(dimension / 32);
  const oversample = options.oversample ?? 20;
  const minCandidates = options.minCandidates ?? 2000;
  const partitions = new Map<string, Partition>();
  const located = new Map<number, { partition: Partition; slot: number }>();

  function shortlist(partition: Partition, code: Uint32Array, limit: number, out: { slot: number; distance: number }[]): void {
    if (partition.count <= limit) {
      for (let slot = 0; slot < partition.count; slot += 1) out.push({ slot, distance: 0 });
      return;
    }
    // Counting sort by Hamming distance: distances are small integers, so the cut-off is found without a full sort.
    const distances = new Uint16Array(partition.count);
    const histogram = new Uint32Array(dimension + 1);
    const codes = partition.codes;
    for (let slot = 0, offset = 0; slot < partition.count; slot += 1, offset += words) {
      let distance = 0;
      for (let w = 0; w < words; w += 1) {
        const x = ((codes[offset + w] ?? 0) ^ (code[w] ?? 0)) >>> 0;
        distance += (POPCOUNT16[x & 0xffff] ?? 0) + (POPCOUNT16[x >>> 16] ?? 0);
      }
      distances[slot] = distance;
      histogram[distance] = (histogram[distance] ?? 0) + 1;
    }
    let cutoff = 0;
    for (let seen = 0; cutoff <= dimension; cutoff += 1) {
      seen += histogram[cutoff] ?? 0;
      if (seen >= limit) break;
    }
    for (let slot = 0; slot < partition.count; slot += 1) {
      const distance = distances[slot] ?? 0;
      if (distance <= cutoff) out.push({ slot, distance });
    }
  }

  return {
    dimension,
    add(rowid, collection, vector) {
      if (vector.length !== dimension) throw new Error(`vector has ${vector.length} dimensions, index has ${dimension}`);
      if (located.has(rowid)) return;
      let partition = partitions.get(collection);
      if (!partition) {
        partition = new Partition(dimension, words);
        partitions.set(collection, partition);
      }
      located.set(rowid, { partition, slot: partition.push(rowid, vector, signCode(vector, words)) });
    },
    remove(rowid) {
      const place = located.get(rowid);
      if (!place) return;
      located.delete(rowid);
      const moved = place.partition.removeAt(place.slot);
      if (moved !== undefined) located.set(moved, { partition: place.partition, slot: place.slot });
    },
    search(query, collections, k) {
      if (k <= 0) return [];
      const code = signCode(query, words);
      const limit = Math.max(minCandidates, k * oversample);
      const hits: VectorHit[] = [];
      for (const collection of new Set(collections)) {
        const partition = partitions.get(collection);
        if (!partition) continue;
        const candidates: { slot: number; distance: number }[] = [];
        shortlist(partition, code, limit, candidates);
        const vectors = partition.vectors;
        for (const { slot } of candidates) {
          let dot = 0;
          for (let i = 0, offset = slot * dimension; i < dimension; i += 1) dot += (vectors[offset + i] ?? 0) * (query[i] ?? 0);
          hits.push({ rowid: partition.rowids[slot] ?? 0, similarity: dot });
        }
      }
      return hits.sort((a, b) => b.similarity - a.similarity || a.rowid - b.rowid).slice(0, k);
    },
    size: () => located.size,
    clear() {
      partitions.clear();
      located.clear();
    },
  };
}
