// In-process KNN over approved chunk vectors: one partition per collection, vectors held once as int8 codes in
// dimension-major order. A query first sums its heaviest dimensions over the whole partition (a shortlist), then scores
// the shortlist on every dimension it has. It is a cache of what SQLite holds; the corpus store keeps it in step inside
// the same synchronous section as its writes.

export interface VectorHit {
  readonly rowid: number;
  /** Cosine similarity (vectors are unit length), from int8 codes: within ~0.01 of the float value. */
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
  /** Cosine of the query and an indexed vector (same precision as search); undefined when the rowid is not indexed. */
  similarity(query: Float32Array, rowid: number): number | undefined;
  size(): number;
  clear(): void;
}

export interface VectorIndexOptions {
  /** Shortlisted candidates per requested neighbour, before the full re-score. */
  readonly oversample?: number;
  /** Partitions at or below this size are scored exactly on every dimension; above it, at least this many are shortlisted. */
  readonly minCandidates?: number;
  /** Share of the query's squared norm the shortlist pass covers, heaviest dimensions first (1 = every dimension). */
  readonly probeMass?: number;
}

const INITIAL_CAPACITY = 64;

class Partition {
  count = 0;
  capacity = INITIAL_CAPACITY;
  /** codes[d * capacity + slot]: dimension-major, so a pass over one dimension reads contiguous bytes. */
  codes: Int8Array;
  /** Per-vector scale: value ≈ code × scale. */
  scales: Float32Array;
  rowids: Float64Array;

  constructor(readonly dimension: number) {
    this.codes = new Int8Array(dimension * INITIAL_CAPACITY);
    this.scales = new Float32Array(INITIAL_CAPACITY);
    this.rowids = new Float64Array(INITIAL_CAPACITY);
  }

  push(rowid: number, vector: Float32Array): number {
    if (this.count === this.capacity) this.grow();
    const slot = this.count;
    let max = 0;
    for (let d = 0; d < this.dimension; d += 1) max = Math.max(max, Math.abs(vector[d] ?? 0));
    const scale = max === 0 ? 0 : max / 127;
    const inverse = max === 0 ? 0 : 127 / max;
    for (let d = 0; d < this.dimension; d += 1) this.codes[d * this.capacity + slot] = Math.round((vector[d] ?? 0) * inverse);
    this.scales[slot] = scale;
    this.rowids[slot] = rowid;
    this.count += 1;
    return slot;
  }

  /** Moves the last entry into `slot`; returns the rowid that moved (or undefined when `slot` was last). */
  removeAt(slot: number): number | undefined {
    const last = this.count - 1;
    this.count = last;
    if (slot === last) return undefined;
    for (let d = 0, base = 0; d < this.dimension; d += 1, base += this.capacity) this.codes[base + slot] = this.codes[base + last] ?? 0;
    this.scales[slot] = this.scales[last] ?? 0;
    const moved = this.rowids[last] ?? 0;
    this.rowids[slot] = moved;
    return moved;
  }

  /** Dot product of the query's non-zero dimensions with one slot. */
  dot(dims: Int32Array, weights: Float32Array, from: number, slot: number): number {
    let sum = 0;
    for (let j = from; j < dims.length; j += 1) sum += (weights[j] ?? 0) * (this.codes[(dims[j] ?? 0) * this.capacity + slot] ?? 0);
    return sum;
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const codes = new Int8Array(capacity * this.dimension);
    for (let d = 0; d < this.dimension; d += 1) codes.set(this.codes.subarray(d * this.capacity, d * this.capacity + this.count), d * capacity);
    const scales = new Float32Array(capacity);
    scales.set(this.scales);
    const rowids = new Float64Array(capacity);
    rowids.set(this.rowids);
    this.codes = codes;
    this.scales = scales;
    this.rowids = rowids;
    this.capacity = capacity;
  }
}

/** The query's non-zero dimensions, heaviest first, and how many of them hold `mass` of its squared norm. */
function queryDimensions(query: Float32Array, mass: number): { dims: Int32Array; weights: Float32Array; probe: number } {
  const order: number[] = [];
  let total = 0;
  for (let d = 0; d < query.length; d += 1) {
    const value = query[d] ?? 0;
    if (value !== 0) {
      order.push(d);
      total += value * value;
    }
  }
  order.sort((a, b) => Math.abs(query[b] ?? 0) - Math.abs(query[a] ?? 0) || a - b);
  const dims = Int32Array.from(order);
  const weights = Float32Array.from(order, (d) => query[d] ?? 0);
  let probe = 0;
  for (let covered = 0; probe < dims.length && covered < mass * total; probe += 1) covered += (weights[probe] ?? 0) ** 2;
  return { dims, weights, probe };
}

export function createVectorIndex(dimension: number, options: VectorIndexOptions = {}): VectorIndex {
  const oversample = options.oversample ?? 20;
  const minCandidates = options.minCandidates ?? 500;
  const probeMass = options.probeMass ?? 0.9;
  const partitions = new Map<string, Partition>();
  const located = new Map<number, { partition: Partition; slot: number }>();

  /** Slots of the `limit` highest partial scores (ties at the cut-off included). */
  function shortlist(partial: Float32Array, count: number, limit: number): number[] {
    let min = Infinity;
    let max = -Infinity;
    for (let slot = 0; slot < count; slot += 1) {
      const value = partial[slot] ?? 0;
      if (value < min) min = value;
      if (value > max) max = value;
    }
    const buckets = 1024;
    const width = (max - min) / buckets || 1;
    const histogram = new Uint32Array(buckets + 1);
    for (let slot = 0; slot < count; slot += 1) {
      const bucket = Math.floor(((partial[slot] ?? 0) - min) / width);
      histogram[bucket] = (histogram[bucket] ?? 0) + 1;
    }
    let cutoff = buckets;
    for (let seen = 0; cutoff > 0; cutoff -= 1) {
      seen += histogram[cutoff] ?? 0;
      if (seen >= limit) break;
    }
    const slots: number[] = [];
    for (let slot = 0; slot < count; slot += 1) if (Math.floor(((partial[slot] ?? 0) - min) / width) >= cutoff) slots.push(slot);
    return slots;
  }

  return {
    dimension,
    add(rowid, collection, vector) {
      if (vector.length !== dimension) throw new Error(`vector has ${vector.length} dimensions, index has ${dimension}`);
      if (located.has(rowid)) return;
      let partition = partitions.get(collection);
      if (!partition) {
        partition = new Partition(dimension);
        partitions.set(collection, partition);
      }
      located.set(rowid, { partition, slot: partition.push(rowid, vector) });
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
      const limit = Math.max(minCandidates, k * oversample);
      const { dims, weights, probe } = queryDimensions(query, probeMass);
      const hits: VectorHit[] = [];
      for (const collection of new Set(collections)) {
        const partition = partitions.get(collection);
        if (!partition || partition.count === 0) continue;
        const { count, capacity, codes, scales, rowids } = partition;
        if (count <= limit) {
          for (let slot = 0; slot < count; slot += 1) {
            hits.push({ rowid: rowids[slot] ?? 0, similarity: partition.dot(dims, weights, 0, slot) * (scales[slot] ?? 0) });
          }
          continue;
        }
        // Shortlist on the heaviest dimensions, one contiguous column at a time.
        const partial = new Float32Array(count);
        for (let j = 0; j < probe; j += 1) {
          const weight = weights[j] ?? 0;
          const column = codes.subarray((dims[j] ?? 0) * capacity, (dims[j] ?? 0) * capacity + count);
          for (let slot = 0; slot < count; slot += 1) partial[slot] = (partial[slot] ?? 0) + weight * (column[slot] ?? 0);
        }
        for (let slot = 0; slot < count; slot += 1) partial[slot] = (partial[slot] ?? 0) * (scales[slot] ?? 0);
        for (const slot of shortlist(partial, count, limit)) {
          const rest = partition.dot(dims, weights, probe, slot) * (scales[slot] ?? 0);
          hits.push({ rowid: rowids[slot] ?? 0, similarity: (partial[slot] ?? 0) + rest });
        }
      }
      return hits.sort((a, b) => b.similarity - a.similarity || a.rowid - b.rowid).slice(0, k);
    },
    similarity(query, rowid) {
      const place = located.get(rowid);
      if (!place) return undefined;
      const { partition, slot } = place;
      let sum = 0;
      for (let d = 0, offset = slot; d < dimension; d += 1, offset += partition.capacity) {
        const value = query[d] ?? 0;
        if (value !== 0) sum += value * (partition.codes[offset] ?? 0);
      }
      return sum * (partition.scales[slot] ?? 0);
    },
    size: () => located.size,
    clear() {
      partitions.clear();
      located.clear();
    },
  };
}
