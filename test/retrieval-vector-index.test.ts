import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHashingEmbedder } from '../src/retrieval/embedders/hashing.js';
import { createVectorIndex } from '../src/retrieval/vector-index.js';

// Deterministic sparse unit vectors, like the hashing embedder's: a few heavy dimensions and many light ones.
function vectors(count: number, dimension: number, seed: number): Float32Array[] {
  let state = seed;
  const random = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  return Array.from({ length: count }, () => {
    const vector = new Float32Array(dimension);
    for (let i = 0; i < 40; i += 1) {
      const d = Math.floor(random() * dimension);
      vector[d] = (vector[d] ?? 0) + (random() < 0.2 ? 1.5 : 0.2) * (random() < 0.5 ? -1 : 1);
    }
    const norm = Math.hypot(...vector) || 1;
    return vector.map((v) => v / norm);
  });
}

const dot = (a: Float32Array, b: Float32Array): number => a.reduce((sum, v, i) => sum + v * (b[i] ?? 0), 0);

describe('vector index', () => {
  test('search, when a partition is larger than the shortlist, then the top 10 match exact KNN and similarities are within 0.02', () => {
    const dimension = 64;
    const data = vectors(3000, dimension, 7);
    const index = createVectorIndex(dimension, { minCandidates: 200 });
    data.forEach((vector, rowid) => index.add(rowid, 'a', vector));
    let found = 0;
    for (const query of vectors(20, dimension, 99)) {
      const exact = data.map((vector, rowid) => ({ rowid, similarity: dot(query, vector) })).sort((a, b) => b.similarity - a.similarity);
      const hits = index.search(query, ['a'], 10);
      const top = new Set(exact.slice(0, 10).map((h) => h.rowid));
      found += hits.filter((h) => top.has(h.rowid)).length;
      for (const hit of hits) assert.ok(Math.abs(hit.similarity - dot(query, data[hit.rowid] as Float32Array)) < 0.02);
      assert.ok(Math.abs((index.similarity(query, hits[0]?.rowid ?? -1) ?? 0) - (hits[0]?.similarity ?? 1)) < 1e-5);
    }
    assert.ok(found / 200 >= 0.9, `recall@10 ${found / 200}`);
  });

  test('remove and collections, when applied, then removed rows and other partitions never come back (LLM08-1)', () => {
    const dimension = 32;
    const data = vectors(300, dimension, 3);
    const index = createVectorIndex(dimension, { minCandidates: 50 });
    data.forEach((vector, rowid) => index.add(rowid, rowid % 2 === 0 ? 'a' : 'b', vector));
    for (let rowid = 0; rowid < 300; rowid += 4) index.remove(rowid);
    assert.equal(index.size(), 225);
    assert.equal(index.similarity(data[0] as Float32Array, 0), undefined);
    for (const query of data.slice(0, 20)) {
      for (const hit of index.search(query, ['a'], 30)) {
        assert.equal(hit.rowid % 2, 0);
        assert.notEqual(hit.rowid % 4, 0);
      }
    }
    // The moved entries still score as themselves.
    assert.ok(Math.abs((index.similarity(data[298] as Float32Array, 298) ?? 0) - 1) < 0.02);
  });

  test('remove then add, when the freed slot is reused, then the removed vector leaves no postings behind', () => {
    const dimension = 64;
    const data = vectors(1000, dimension, 11);
    const index = createVectorIndex(dimension, { minCandidates: 50 });
    data.forEach((vector, rowid) => index.add(rowid, 'a', vector));
    const fresh = vectors(5, dimension, 12345);
    for (let i = 0; i < 5; i += 1) {
      index.remove(i * 7);
      index.add(5000 + i, 'a', fresh[i] as Float32Array);
    }
    assert.equal(index.size(), 1000);
    for (let i = 0; i < 5; i += 1) {
      // The old vector's own query no longer finds it; the newcomer in its slot is found by its own vector.
      const old = index.search(data[i * 7] as Float32Array, ['a'], 10);
      assert.equal(old.length, 10);
      assert.ok(!old.some((h) => h.rowid === i * 7));
      const top = index.search(fresh[i] as Float32Array, ['a'], 1)[0];
      assert.equal(top?.rowid, 5000 + i);
      assert.ok(Math.abs((top?.similarity ?? 0) - 1) < 0.02);
    }
  });

  test('search, when the query weighs only on values below the posting floor, then it still returns exact top k', () => {
    const dimension = 16;
    const data = Array.from({ length: 400 }, (_, i) => {
      const vector = new Float32Array(dimension);
      vector[0] = 1; // the only posted value: every vector's heavy dimension
      vector[1] = 0.001 * (i % 40); // tiny, never posted; the query weighs only here
      return vector.map((v, _d, all) => v / Math.hypot(...all));
    });
    const index = createVectorIndex(dimension, { minCandidates: 50 });
    data.forEach((vector, rowid) => index.add(rowid, 'a', vector));
    const query = new Float32Array(dimension);
    query[1] = 1;
    const hits = index.search(query, ['a'], 10);
    assert.equal(hits.length, 10);
    // Exact at the index's own (int8) precision: no unreturned vector scores above the 10th hit.
    const tenth = hits[9]?.similarity ?? Infinity;
    const returned = new Set(hits.map((h) => h.rowid));
    assert.ok(tenth > 0.03);
    for (let rowid = 0; rowid < 400; rowid += 1) if (!returned.has(rowid)) assert.ok((index.similarity(query, rowid) ?? 0) <= tenth);
  });
});

// Issue 17 item 3: the dense index over the local embedder's vectors of generated text (topics of words plus words from a
// shared vocabulary, as bench/retrieval.ts), with partitions well above the shortlist so the approximate path runs.
async function embeddedChunks(count: number, queries: number, seed: number): Promise<{ chunks: Float32Array[]; queries: Float32Array[] }> {
  let state = seed;
  const random = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const syllables = ['ka', 'lo', 'mi', 'ren', 'tas', 'vor', 'bel', 'cu', 'dan', 'es', 'fi', 'gor', 'hu', 'ix', 'jo', 'pra'];
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const vocabulary = Array.from({ length: 3000 }, () => `${pick(syllables)}${pick(syllables)}${random() < 0.5 ? pick(syllables) : ''}`);
  const topics = Array.from({ length: 60 }, () => Array.from({ length: 30 }, () => pick(vocabulary)));
  const sentence = (words: number): string => {
    const topic = pick(topics);
    return Array.from({ length: words }, () => (random() < 0.6 ? pick(topic) : pick(vocabulary))).join(' ');
  };
  const embedder = createHashingEmbedder();
  return {
    chunks: await embedder.embed(Array.from({ length: count }, () => sentence(28))),
    queries: await embedder.embed(Array.from({ length: queries }, () => sentence(8))),
  };
}

const exactTop = (data: readonly Float32Array[], query: Float32Array, k: number, rowidOf = (i: number) => i) =>
  data
    .map((vector, i) => ({ rowid: rowidOf(i), similarity: dot(query, vector) }))
    .sort((a, b) => b.similarity - a.similarity)
    .slice(0, k);

describe('vector index: approximate search over embedded text (issue 17 item 3)', () => {
  test('recall, when 4000 embedded chunks are searched through the shortlist, then recall@10 against exact float KNN is at least 0.95', async () => {
    const { chunks, queries } = await embeddedChunks(4000, 40, 5);
    const index = createVectorIndex(384, { minCandidates: 100 });
    chunks.forEach((vector, rowid) => index.add(rowid, 'help', vector));
    let found = 0;
    for (const query of queries) {
      const top = new Set(exactTop(chunks, query, 10).map((hit) => hit.rowid));
      const hits = index.search(query, ['help'], 10);
      assert.equal(hits.length, 10);
      found += hits.filter((hit) => top.has(hit.rowid)).length;
      for (const hit of hits) assert.ok(Math.abs(hit.similarity - dot(query, chunks[hit.rowid] as Float32Array)) < 0.01);
    }
    assert.ok(found / 400 >= 0.95, `recall@10 ${found / 400}`);
  });

  test('order, when the same chunks are added in another order with removals and repeated adds in between, then every search returns the same ids and similarities', async () => {
    const { chunks, queries } = await embeddedChunks(2000, 30, 9);
    const forward = createVectorIndex(384, { minCandidates: 60 });
    chunks.forEach((vector, rowid) => forward.add(rowid, 'help', vector));
    const churned = createVectorIndex(384, { minCandidates: 60 });
    // Strangers first, removed once the real chunks have taken other slots; every chunk added twice (a replayed delta).
    chunks.slice(0, 300).forEach((vector, i) => churned.add(100_000 + i, 'help', vector));
    for (let rowid = chunks.length - 1; rowid >= 0; rowid -= 1) {
      churned.add(rowid, 'help', chunks[rowid] as Float32Array);
      if (rowid % 7 === 0) churned.add(rowid, 'help', chunks[(rowid + 1) % chunks.length] as Float32Array);
    }
    for (let i = 0; i < 300; i += 1) churned.remove(100_000 + i);
    assert.equal(churned.size(), forward.size());
    for (const k of [5, 10, 40]) {
      for (const query of queries) assert.deepStrictEqual(churned.search(query, ['help'], k), forward.search(query, ['help'], k));
    }
  });

  test('history, when an earlier search left the index expecting a cutoff above the best neighbours partial scores, then a search still finds them', () => {
    // Built so that the shortlist guess matters: the query probes dimensions 0 and 1 only (probeMass 0.45) and
    // shortlists 50; 20 decoys score highest there but are negative on dimension 2, 10 targets score lower there and
    // are the true nearest neighbours. After the priming search the guess falls between the two.
    const dimension = 32;
    const unit = (values: Record<number, number>, rest = 0): Float32Array => {
      const vector = new Float32Array(dimension).fill(rest);
      for (const [d, value] of Object.entries(values)) vector[Number(d)] = value;
      return vector.map((v, _d, all) => v / Math.hypot(...all));
    };
    const query = unit({ 0: 0.5, 1: 0.5, 2: 0.5 }, 0.093);
    const build = () => {
      const index = createVectorIndex(dimension, { minCandidates: 50, oversample: 5, probeMass: 0.45 });
      for (let i = 0; i < 20; i += 1) index.add(i, 'a', unit({ 0: 0.6, 1: 0.6, 2: -0.5, 7: 0.17 })); // decoys
      for (let i = 20; i < 30; i += 1) index.add(i, 'a', unit({ 0: 0.3, 1: 0.3, 2: 0.5 }, 0.161)); // targets
      vectors(500, dimension, 23).forEach((vector, i) => index.add(100 + i, 'a', unit({ ...vector, 0: 0.1, 1: 0.1, 5: 0 })));
      // 60 vectors heavy on dimension 5: a search for it puts its cutoff at 0.7 of its reach.
      for (let i = 0; i < 60; i += 1) index.add(1000 + i, 'a', unit({ 5: 0.7, 6: 0.714 }));
      return index;
    };
    const fresh = build().search(query, ['a'], 10);
    assert.deepStrictEqual(
      fresh.map((hit) => hit.rowid),
      Array.from({ length: 10 }, (_, i) => 20 + i),
    );
    const primed = build();
    primed.search(unit({ 5: 1 }), ['a'], 10);
    assert.deepStrictEqual(primed.search(query, ['a'], 10), fresh);
  });

  test('collections, when another collection holds exact copies of the query, then a search of one collection never returns them and a search of both ranks them first (LLM08-1)', async () => {
    const { chunks, queries } = await embeddedChunks(1500, 10, 21);
    const index = createVectorIndex(384, { minCandidates: 50 });
    chunks.forEach((vector, rowid) => index.add(rowid, 'help', vector));
    queries.forEach((query, i) => {
      for (let copy = 0; copy < 3; copy += 1) index.add(50_000 + i * 3 + copy, 'pricing', query);
    });
    chunks.slice(0, 400).forEach((vector, i) => index.add(60_000 + i, 'pricing', vector));
    for (const query of queries) {
      const own = index.search(query, ['help'], 10);
      const top = new Set(exactTop(chunks, query, 10).map((hit) => hit.rowid));
      assert.equal(own.length, 10);
      assert.ok(own.every((hit) => hit.rowid < chunks.length));
      assert.ok(own.filter((hit) => top.has(hit.rowid)).length >= 8);
      const both = index.search(query, ['help', 'pricing'], 3);
      assert.ok(both.every((hit) => hit.rowid >= 50_000 && hit.rowid < 60_000 && hit.similarity > 0.99));
    }
  });

  test('signs, when the query weighs negatively on the dimension that separates the vectors, then the vectors negative there rank first', () => {
    const dimension = 32;
    const data = vectors(800, dimension, 17).map((vector, i) => {
      const signed = vector.map((v) => v * 0.3);
      signed[0] = i % 2 === 0 ? 0.9 : -0.9;
      return signed.map((v, _d, all) => v / Math.hypot(...all));
    });
    const index = createVectorIndex(dimension, { minCandidates: 50 });
    data.forEach((vector, rowid) => index.add(rowid, 'a', vector));
    const query = new Float32Array(dimension);
    query[0] = -1;
    const hits = index.search(query, ['a'], 50);
    assert.equal(hits.length, 50);
    for (const hit of hits) assert.equal(hit.rowid % 2, 1);
  });
});
