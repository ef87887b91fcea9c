// In-process KNN over approved chunk vectors: one partition per collection, vectors held once as int8 codes
// (per-vector scale) in row-major order, plus per-dimension posting lists of each vector's heavy codes. A query
// accumulates its heaviest dimensions' postings (an inverted index: only vectors with weight there are touched), then
// re-scores the best partial scores on every dimension it has. Part of the retrieval engine (engine.ts), which keeps it
// in step with the store's change log.
import { grownCapacity, widened } from './typed-arrays.js';

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
}

export interface VectorIndexOptions {
  /** Shortlisted candidates per requested neighbour, before the full re-score. */
  readonly oversample?: number;
  /** Partitions at or below this size are scored exactly on every dimension; above it, at least this many are shortlisted. */
  readonly minCandidates?: number;
  /** Share of the query's squared norm the shortlist pass covers, heaviest dimensions first (1 = every dimension). */
  readonly probeMass?: number;
  /** A vector's value on a dimension is posted (reachable by the shortlist pass) when its magnitude is at least this. */
  readonly postingFloor?: number;
}

const INITIAL_CAPACITY = 64;
/** A posting packs the slot into 24 bits, so a partition holds at most 2^23 vectors. */
const SLOTS_PER_PARTITION = 1 << 23;

/** A dimension's postings, unordered: slot << 8 | code byte, one per vector whose value there is ≥ the posting floor. */
class PostingList {
  entries = new Int32Array(16);
  length = 0;

  push(entry: number): void {
    if (this.length === this.entries.length) this.entries = widened(this.entries, grownCapacity(this.length));
    this.entries[this.length] = entry;
    this.length += 1;
  }

  /** Swap-removes the posting of `slot` (order within a list carries no meaning). */
  delete(slot: number): void {
    const { entries } = this;
    for (let i = 0; i < this.length; i += 1) {
      if ((entries[i] ?? 0) >> 8 === slot) {
        this.length -= 1;
        entries[i] = entries[this.length] ?? 0;
        return;
      }
    }
  }
}

class Partition {
  /** Live vectors. */
  count = 0;
  /** Slots handed out so far (live or free). */
  used = 0;
  capacity = INITIAL_CAPACITY;
  /** codes[slot * dimension + d]: row-major, so a re-score reads one vector's bytes together. */
  codes: Int8Array;
  /** Per-vector scale: value ≈ code × scale; 0 for a free slot. */
  scales: Float32Array;
  rowids: Float64Array;
  live: Uint8Array;
  free: number[] = [];
  readonly postings: PostingList[];
  /** Query scratch, reused across queries: partial scores by slot. */
  partial: Float32Array;

  constructor(
    readonly dimension: number,
    readonly floor: number,
    /** Its position in the index's partition list (packed into the rowid → place map). */
    readonly number: number,
  ) {
    this.codes = new Int8Array(dimension * INITIAL_CAPACITY);
    this.scales = new Float32Array(INITIAL_CAPACITY);
    this.rowids = new Float64Array(INITIAL_CAPACITY);
    this.live = new Uint8Array(INITIAL_CAPACITY);
    this.partial = new Float32Array(INITIAL_CAPACITY);
    this.postings = Array.from({ length: dimension }, () => new PostingList());
  }

  push(rowid: number, vector: Float32Array): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.used === this.capacity) this.grow();
      slot = this.used;
      this.used += 1;
    }
    let max = 0;
    for (let d = 0; d < this.dimension; d += 1) max = Math.max(max, Math.abs(vector[d] ?? 0));
    const scale = max === 0 ? 0 : max / 127;
    const inverse = max === 0 ? 0 : 127 / max;
    const base = slot * this.dimension;
    for (let d = 0; d < this.dimension; d += 1) {
      const code = Math.round((vector[d] ?? 0) * inverse);
      this.codes[base + d] = code;
      if (code !== 0 && Math.abs(code) * scale >= this.floor) this.postings[d]?.push((slot << 8) | (code & 0xff));
    }
    this.scales[slot] = scale;
    this.rowids[slot] = rowid;
    this.live[slot] = 1;
    this.count += 1;
    return slot;
  }

  removeAt(slot: number): void {
    const scale = this.scales[slot] ?? 0;
    const base = slot * this.dimension;
    for (let d = 0; d < this.dimension; d += 1) {
      const code = this.codes[base + d] ?? 0;
      if (code !== 0 && Math.abs(code) * scale >= this.floor) this.postings[d]?.delete(slot);
      this.codes[base + d] = 0;
    }
    this.scales[slot] = 0;
    this.live[slot] = 0;
    this.free.push(slot);
    this.count -= 1;
  }

  /** Dot product of the query's non-zero dimensions with one slot (in code units; times scales[slot] for the cosine). */
  dot(dims: Int32Array, weights: Float32Array, slot: number): number {
    const { codes } = this;
    const base = slot * this.dimension;
    let sum = 0;
    for (let j = 0; j < dims.length; j += 1) sum += (weights[j] as number) * (codes[base + (dims[j] as number)] as number);
    return sum;
  }

  private grow(): void {
    const capacity = grownCapacity(this.capacity);
    // A posting packs the slot into 24 bits.
    if (capacity > SLOTS_PER_PARTITION) throw new Error('vector index partition is full (8M vectors)');
    this.codes = widened(this.codes, capacity * this.dimension);
    this.scales = widened(this.scales, capacity);
    this.rowids = widened(this.rowids, capacity);
    this.live = widened(this.live, capacity);
    this.partial = new Float32Array(capacity);
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
  const minCandidates = options.minCandidates ?? 200;
  const probeMass = options.probeMass ?? 0.9;
  const postingFloor = options.postingFloor ?? 0.05;
  const partitions = new Map<string, Partition>();
  const partitionList: Partition[] = [];
  // rowid → partition number × 2^23 + slot: a small integer per chunk instead of an object (RSS at 100k chunks).
  const located = new Map<number, number>();
  const place = (rowid: number): { partition: Partition; slot: number } | undefined => {
    const packed = located.get(rowid);
    return packed === undefined ? undefined : { partition: partitionList[Math.floor(packed / SLOTS_PER_PARTITION)] as Partition, slot: packed % SLOTS_PER_PARTITION };
  };
  const histogram = new Uint32Array(4096);

  /** Keeps `hits` as the best `k` seen so far, best first (ties: lower rowid first). */
  function offer(hits: VectorHit[], k: number, rowid: number, similarity: number): void {
    if (hits.length === k) {
      const last = hits[k - 1] as VectorHit;
      if (similarity < last.similarity || (similarity === last.similarity && rowid > last.rowid)) return;
      hits.pop();
    }
    let at = hits.length;
    while (at > 0) {
      const before = hits[at - 1] as VectorHit;
      if (before.similarity > similarity || (before.similarity === similarity && before.rowid < rowid)) break;
      at -= 1;
    }
    hits.splice(at, 0, { rowid, similarity });
  }

  function exactAll(partition: Partition, dims: Int32Array, weights: Float32Array, hits: VectorHit[], k: number): void {
    const { used, live, scales, rowids } = partition;
    for (let slot = 0; slot < used; slot += 1) {
      if (live[slot] === 1) offer(hits, k, rowids[slot] ?? 0, partition.dot(dims, weights, slot) * (scales[slot] ?? 0));
    }
  }

  return {
    dimension,
    add(rowid, collection, vector) {
      if (vector.length !== dimension) throw new Error(`vector has ${vector.length} dimensions, index has ${dimension}`);
      if (located.has(rowid)) return;
      let partition = partitions.get(collection);
      if (!partition) {
        partition = new Partition(dimension, postingFloor, partitionList.length);
        partitions.set(collection, partition);
        partitionList.push(partition);
      }
      located.set(rowid, partition.number * SLOTS_PER_PARTITION + partition.push(rowid, vector));
    },
    remove(rowid) {
      const found = place(rowid);
      if (!found) return;
      located.delete(rowid);
      found.partition.removeAt(found.slot);
    },
    search(query, collections, k) {
      if (k <= 0) return [];
      const limit = Math.max(minCandidates, k * oversample);
      const { dims, weights, probe } = queryDimensions(query, probeMass);
      const hits: VectorHit[] = [];
      for (const collection of new Set(collections)) {
        const partition = partitions.get(collection);
        if (!partition || partition.count === 0) continue;
        if (partition.count <= limit) {
          exactAll(partition, dims, weights, hits, k);
          continue;
        }
        // Accumulate the heaviest dimensions' postings: only vectors with weight there get a partial score.
        const { partial, postings, scales, rowids, used } = partition;
        partial.fill(0, 0, used);
        let processed = 0;
        for (let j = 0; j < dims.length && (j < probe || processed < limit); j += 1) {
          const weight = weights[j] ?? 0;
          const list = postings[dims[j] ?? 0];
          if (!list) continue;
          const { entries, length } = list;
          for (let i = 0; i < length; i += 1) {
            const entry = entries[i] as number;
            const slot = entry >> 8;
            partial[slot] = (partial[slot] as number) + weight * ((entry << 24) >> 24);
          }
          processed += length;
        }
        // Scale to cosines, bucketed over [-1, 1] as we go; the shortlist is every slot at or above the bucket where
        // the `limit`-th best partial score falls.
        const buckets = histogram.length;
        histogram.fill(0);
        let n = 0;
        for (let slot = 0; slot < used; slot += 1) {
          const value = partial[slot] as number;
          if (value !== 0) {
            const cosine = value * (scales[slot] as number);
            partial[slot] = cosine;
            const raw = ((cosine + 1) * (buckets / 2)) | 0;
            const bucket = raw < 0 ? 0 : raw >= buckets ? buckets - 1 : raw;
            histogram[bucket] = (histogram[bucket] as number) + 1;
            n += 1;
          }
        }
        if (n < k) {
          exactAll(partition, dims, weights, hits, k);
          continue;
        }
        let bucket = buckets - 1;
        for (let seen = 0; bucket > 0; bucket -= 1) {
          seen += histogram[bucket] as number;
          if (seen >= limit) break;
        }
        const cutoff = bucket === 0 ? -Infinity : (bucket * 2) / buckets - 1;
        for (let slot = 0; slot < used; slot += 1) {
          const value = partial[slot] as number;
          if (value !== 0 && value >= cutoff) offer(hits, k, rowids[slot] as number, partition.dot(dims, weights, slot) * (scales[slot] as number));
        }
      }
      return hits;
    },
    similarity(query, rowid) {
      const found = place(rowid);
      if (!found) return undefined;
      const { partition, slot } = found;
      let sum = 0;
      for (let d = 0, offset = slot * dimension; d < dimension; d += 1, offset += 1) {
        const value = query[d] ?? 0;
        if (value !== 0) sum += value * (partition.codes[offset] ?? 0);
      }
      return sum * (partition.scales[slot] ?? 0);
    },
    size: () => located.size,
  };
}
