// In-process KNN over approved chunk vectors: one partition per collection, vectors held once as int8 codes
// (per-vector scale) in row-major order, plus per-dimension posting lists of each vector's heavy values, split by sign.
// A query reads, on its heaviest dimensions, only the postings whose sign matches its own (the values that raise a
// score), sums them as integers into a per-slot partial score, and re-scores exactly the slots whose partial score is
// among the best; it never walks the whole partition unless its first guess of where "the best" starts was too high.
// Part of the retrieval engine (engine.ts), which keeps it in step with the store's change log.
//
// Why not a graph (HNSW) or coarse clusters (IVF): on hashed bag-of-words vectors the nearest neighbours are decided
// by a few shared words plus hash collisions, not by topics (in bench:retrieval's 100k set only 24 % of a query's exact
// top 10 share its topic), so clusters do not hold them and a graph needs a long search to reach 0.95 recall
// (BENCHMARKS.md, "Dense index (issue 17, session 3)").
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
   * foreign neighbours can crowd out or leak into the top k. The result depends only on the indexed (rowid, vector)
   * pairs, never on the order they were added in or on earlier queries.
   */
  search(query: Float32Array, collections: readonly string[], k: number): VectorHit[];
  /** Cosine of the query and an indexed vector (same precision as search); undefined when the rowid is not indexed. */
  similarity(query: Float32Array, rowid: number): number | undefined;
  size(): number;
}

export interface VectorIndexOptions {
  /** Shortlisted candidates per requested neighbour, before the exact re-score. */
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
/** A posted value's magnitude as a byte: round(|value| × 255) (values of unit vectors are at most 1). */
const MAGNITUDE_STEPS = 255;
/**
 * A query weight's magnitude as an integer: round(|weight| × 1024). A partial score is a sum of weight × magnitude
 * products over one vector's posted values, at most 1024 × 255 × (Σ|weight × value| ≤ 1 for unit vectors) plus rounding:
 * it fits a Uint32 with room to spare, and integer sums are the same in any order.
 */
const WEIGHT_STEPS = 1024;
/** Partial scores are bucketed by their top bits: 2^18 / 2^6 = 4096 buckets cover every reachable partial score. */
const BUCKET_SHIFT = 6;
const BUCKETS = 4096;
/** The first guess of where the shortlist starts, as a share of the query's reach; each search then refines it. */
const INITIAL_CUTOFF_SHARE = 0.3;
/** The guess is set this much below the last search's cutoff, so that most searches never need the full pass. */
const GUESS_MARGIN = 0.7;

const NO_POSTINGS = new Int32Array(0);

/** A partial score's bucket (the top one also holds any score past the unit-vector bound). */
const bucketOf = (partial: number): number => Math.min(BUCKETS - 1, partial >>> BUCKET_SHIFT);

/** One dimension's postings of one sign, unordered: slot << 8 | magnitude byte, one per vector whose value there is ≥ the posting floor. */
class PostingList {
  entries = NO_POSTINGS;
  length = 0;

  push(entry: number): void {
    if (this.length === this.entries.length) this.entries = widened(this.entries, grownCapacity(Math.max(8, this.length)));
    this.entries[this.length] = entry;
    this.length += 1;
  }

  /** Swap-removes the posting of `slot` (order within a list carries no meaning). */
  delete(slot: number): void {
    const { entries } = this;
    for (let i = 0; i < this.length; i += 1) {
      if ((entries[i] ?? 0) >>> 8 === slot) {
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
  /** postings[d * 2]: vectors with a positive value on dimension d; postings[d * 2 + 1]: negative. */
  readonly postings: PostingList[];
  /** Query scratch, reused across queries and all zero between them: integer partial scores by slot. */
  partial: Uint32Array;
  /**
   * Where the last search's shortlist started, as a share of its reach. It only sets the next search's guess (how
   * much work it does), never which slots it shortlists.
   */
  cutoffShare = INITIAL_CUTOFF_SHARE;

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
    this.partial = new Uint32Array(INITIAL_CAPACITY);
    this.postings = Array.from({ length: dimension * 2 }, () => new PostingList());
  }

  /** The posting list of dimension `d` for values of the sign of `value`. */
  list(d: number, value: number): PostingList {
    return this.postings[d * 2 + (value < 0 ? 1 : 0)] as PostingList;
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
      const magnitude = Math.abs(code) * scale;
      if (code !== 0 && magnitude >= this.floor) this.list(d, code).push((slot << 8) | Math.min(MAGNITUDE_STEPS, Math.round(magnitude * MAGNITUDE_STEPS)));
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
      if (code !== 0 && Math.abs(code) * scale >= this.floor) this.list(d, code).delete(slot);
      this.codes[base + d] = 0;
    }
    this.scales[slot] = 0;
    this.live[slot] = 0;
    this.free.push(slot);
    this.count -= 1;
  }

  /** Cosine of the query (its non-zero dimensions and weights) and one slot, from the int8 codes. */
  cosine(dims: Int32Array, weights: Float32Array, slot: number): number {
    const { codes } = this;
    const base = slot * this.dimension;
    let sum = 0;
    for (let j = 0; j < dims.length; j += 1) sum += (weights[j] as number) * (codes[base + (dims[j] as number)] as number);
    return sum * (this.scales[slot] as number);
  }

  private grow(): void {
    const capacity = grownCapacity(this.capacity);
    // A posting packs the slot into 24 bits.
    if (capacity > SLOTS_PER_PARTITION) throw new Error('vector index partition is full (8M vectors)');
    this.codes = widened(this.codes, capacity * this.dimension);
    this.scales = widened(this.scales, capacity);
    this.rowids = widened(this.rowids, capacity);
    this.live = widened(this.live, capacity);
    this.partial = new Uint32Array(capacity);
    this.capacity = capacity;
  }
}

interface QueryDimensions {
  /** The query's non-zero dimensions, heaviest first (ties by dimension), and their weights. */
  readonly dims: Int32Array;
  readonly weights: Float32Array;
  /** How many of them hold `mass` of its squared norm. */
  readonly probe: number;
}

function queryDimensions(query: Float32Array, mass: number): QueryDimensions {
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

function exactAll(partition: Partition, query: QueryDimensions, hits: VectorHit[], k: number): void {
  const { used, live, rowids } = partition;
  for (let slot = 0; slot < used; slot += 1) {
    if (live[slot] === 1) offer(hits, k, rowids[slot] as number, partition.cosine(query.dims, query.weights, slot));
  }
}

export function createVectorIndex(dimension: number, options: VectorIndexOptions = {}): VectorIndex {
  const oversample = options.oversample ?? 10;
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
  // Query scratch shared by all partitions (one search runs at a time).
  const histogram = new Uint32Array(BUCKETS);
  let crossed = new Int32Array(1024);

  /**
   * The `limit` best slots by partial score, re-scored exactly into `hits`. Every slot whose partial score reaches
   * the bucket where the `limit`-th best falls is re-scored, so the shortlist is a function of the partial scores
   * alone. Integer sums make those the same in any order, so the result does not depend on the order vectors were
   * added in, nor on the guess below.
   */
  function shortlist(partition: Partition, query: QueryDimensions, hits: VectorHit[], k: number, limit: number): void {
    const { partial, used, rowids } = partition;
    const { dims, weights, probe } = query;
    // The dimensions to read: the heaviest ones holding `probeMass` of the query, more while fewer than `limit`
    // postings have been read. `reach` is the largest partial score a slot could get from them.
    let read = 0;
    let reach = 0;
    let probed = 0;
    while (probed < dims.length && (probed < probe || read < limit)) {
      const weight = weights[probed] as number;
      read += partition.list(dims[probed] as number, weight).length;
      reach += Math.round(Math.abs(weight) * WEIGHT_STEPS) * MAGNITUDE_STEPS;
      probed += 1;
    }
    // Slots whose partial score crosses the guess are listed as they cross (scores only grow: every posting read
    // adds a non-negative product), so the shortlist is usually found without a pass over the whole partition.
    const guess = Math.max(1, Math.floor(partition.cutoffShare * GUESS_MARGIN * reach));
    let crossings = 0;
    for (let j = 0; j < probed; j += 1) {
      const weight = weights[j] as number;
      const { entries, length } = partition.list(dims[j] as number, weight);
      const step = Math.round(Math.abs(weight) * WEIGHT_STEPS);
      for (let i = 0; i < length; i += 1) {
        const entry = entries[i] as number;
        const slot = entry >>> 8;
        const before = partial[slot] as number;
        const after = before + step * (entry & 0xff);
        partial[slot] = after;
        if (after >= guess && before < guess) {
          if (crossings === crossed.length) crossed = widened(crossed, crossings * 2);
          crossed[crossings] = slot;
          crossings += 1;
        }
      }
    }
    // The listed slots are every slot at or above the guess, so a cutoff found at or above the guess is the one a
    // full pass would find.
    histogram.fill(0);
    for (let i = 0; i < crossings; i += 1) {
      const bucket = bucketOf(partial[crossed[i] as number] as number);
      histogram[bucket] = (histogram[bucket] as number) + 1;
    }
    const listed = cutoffBucket(limit) << BUCKET_SHIFT;
    let cutoff: number;
    if (listed > 0 && listed >= guess) {
      cutoff = listed;
      for (let i = 0; i < crossings; i += 1) {
        const slot = crossed[i] as number;
        if ((partial[slot] as number) >= cutoff) offer(hits, k, rowids[slot] as number, partition.cosine(dims, weights, slot));
      }
    } else {
      // The guess was too high (fewer than `limit` slots crossed it): bucket every slot instead.
      histogram.fill(0);
      for (let slot = 0; slot < used; slot += 1) {
        const bucket = bucketOf(partial[slot] as number);
        histogram[bucket] = (histogram[bucket] as number) + 1;
      }
      if (used - (histogram[0] as number) < k) {
        // The postings reach fewer than k vectors (a query weighing only on unposted values): score all of them.
        partial.fill(0, 0, used);
        exactAll(partition, query, hits, k);
        return;
      }
      // Fewer than `limit` slots above the lowest bucket: every slot the postings reached is shortlisted.
      cutoff = Math.max(1, cutoffBucket(limit) << BUCKET_SHIFT);
      for (let slot = 0; slot < used; slot += 1) {
        if ((partial[slot] as number) >= cutoff) offer(hits, k, rowids[slot] as number, partition.cosine(dims, weights, slot));
      }
    }
    partition.cutoffShare = reach === 0 ? INITIAL_CUTOFF_SHARE : cutoff / reach;
    partial.fill(0, 0, used);
  }

  /** The highest bucket from which the histogram counts `limit` slots upwards; 0 when no bucket above the lowest does. */
  function cutoffBucket(limit: number): number {
    let seen = 0;
    for (let bucket = BUCKETS - 1; bucket > 0; bucket -= 1) {
      seen += histogram[bucket] as number;
      if (seen >= limit) return bucket;
    }
    return 0;
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
      const limit = Math.max(k, minCandidates, k * oversample);
      const dimensions = queryDimensions(query, probeMass);
      const hits: VectorHit[] = [];
      for (const collection of new Set(collections)) {
        const partition = partitions.get(collection);
        if (!partition || partition.count === 0) continue;
        if (partition.count <= limit) exactAll(partition, dimensions, hits, k);
        else shortlist(partition, dimensions, hits, k, limit);
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
