import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
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
