// The in-memory BM25 postings and stored term sequences (src/retrieval/lexical-index.ts) against a brute-force
// reference (test/helpers/lexical-reference.ts) that scores every chunk from its text with the same statistics.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createLexicalIndex } from '../src/retrieval/lexical-index.js';
import { indexTokens, queryTerms, smoothedIdf } from '../src/retrieval/lexical.js';
import { referenceScorer } from './helpers/lexical-reference.js';

const WORDS = ['refund', 'refunds', 'parcel', 'courier', 'roast', 'roasted', 'decaf', 'grinder', 'invoice', 'café', 'beans', 'water', '2024', 'x'];

const HELP: ReadonlySet<string> = new Set(['help']);

const indexTermsOf = (text: string): string[] => indexTokens(text).filter((term): term is string => term !== null);
const prepared = (index: ReturnType<typeof createLexicalIndex>, query: string) => index.prepare(queryTerms(query).map((t) => t.term));

const sentence = fc.array(fc.constantFrom(...WORDS, 'the', 'and', 'of'), { minLength: 1, maxLength: 30 }).map((words) => words.join(' '));

/** Brute force: every chunk's BM25 from the scorer (bm25 over the ideal, times the ideal), best first, ties by rowid. */
function bruteForce(chunks: ReadonlyMap<number, string>, query: string, index: ReturnType<typeof createLexicalIndex>) {
  const scorer = referenceScorer(query, index.stats);
  return [...chunks]
    .map(([rowid, text]) => ({ rowid, bm25: scorer.evidence(text).bm25 * scorer.ideal }))
    .filter((hit) => hit.bm25 > 0)
    .sort((a, b) => b.bm25 - a.bm25 || a.rowid - b.rowid);
}

describe('the lexical index', () => {
  test('top, when compared with scoring every chunk by brute force, then it returns the same chunks in the same order with the same BM25 (ties within rounding in either order; issue 13 item 6)', () => {
    fc.assert(
      fc.property(fc.array(sentence, { minLength: 1, maxLength: 60 }), sentence, fc.integer({ min: 1, max: 12 }), (texts, query, depth) => {
        const index = createLexicalIndex();
        const chunks = new Map(texts.map((text, i) => [i * 3 + 1, text] as const));
        for (const [rowid, text] of chunks) index.add(rowid, 'help', text);
        const reference = bruteForce(chunks, query, index);
        const expected = reference.slice(0, depth);
        const actual = index.top(prepared(index, query), depth, HELP);
        assert.equal(actual.length, expected.length);
        // The reference divides by the ideal and multiplies back, so two chunks whose BM25 are equal up to the last
        // bit may swap places (a flaky tie); rank position and score must agree, and each returned chunk must really
        // score what its position says, which a wrong chunk in a near-tie cannot.
        const referenceScore = new Map(reference.map((hit) => [hit.rowid, hit.bm25]));
        actual.forEach((hit, i) => {
          assert.ok(Math.abs(hit.bm25 - (expected[i]?.bm25 ?? NaN)) < 1e-9, `score at rank ${i}`);
          assert.ok(Math.abs((referenceScore.get(hit.rowid) ?? NaN) - hit.bm25) < 1e-9, `chunk ${hit.rowid} at rank ${i}`);
        });
        assert.equal(new Set(actual.map((hit) => hit.rowid)).size, actual.length, 'no chunk twice');
      }),
      { numRuns: 200 },
    );
  });

  test('stats, when chunks are added, removed and added back (a rollback), then rows, lengths and document frequencies count each live chunk once', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 9 })), { maxLength: 80 }), (operations) => {
        const texts = Array.from({ length: 10 }, (_, i) => `${WORDS[i % WORDS.length]} beans ${WORDS[(i * 5) % WORDS.length]} water`);
        const index = createLexicalIndex();
        const live = new Set<number>();
        for (const [add, rowid] of operations) {
          if (add) {
            index.add(rowid, 'help', texts[rowid] as string);
            live.add(rowid);
          } else {
            index.remove(rowid);
            live.delete(rowid);
          }
        }
        assert.equal(index.stats.rows, live.size);
        const chars = [...live].reduce((sum, rowid) => sum + (texts[rowid] as string).length, 0);
        assert.equal(index.stats.averageChars, live.size === 0 ? 1 : chars / live.size);
        for (const term of new Set(texts.flatMap(indexTermsOf))) {
          const holders = [...live].filter((rowid) => indexTermsOf(texts[rowid] as string).includes(term)).length;
          assert.equal(index.stats.documentFrequency(term), holders, term);
        }
        const found = index.top(index.prepare(['bean']), 20, HELP).map((hit) => hit.rowid).sort((a, b) => a - b);
        assert.deepEqual(found, [...live].sort((a, b) => a - b));
        for (let rowid = 0; rowid < 10; rowid += 1) assert.equal(index.collectionOf(rowid), live.has(rowid) ? 'help' : undefined);
      }),
    );
  });

  test('top, when the best chunk is in a collection not asked for, then it is never returned and the next best takes its place', () => {
    const index = createLexicalIndex();
    index.add(1, 'pricing', 'refund refund refund policy');
    index.add(2, 'help', 'refund policy');
    index.add(3, 'help', 'refund and a long story about something else entirely, nothing to do with the question');
    assert.deepEqual(index.top(index.prepare(['refund']), 2, new Set(['help', 'pricing'])).map((hit) => hit.rowid), [1, 2]);
    assert.deepEqual(index.top(index.prepare(['refund']), 2, HELP).map((hit) => hit.rowid), [2, 3]);
    assert.deepEqual(index.top(index.prepare(['refund']), 2, new Set(['brand'])), []);
    assert.equal(index.collectionOf(1), 'pricing');
    assert.equal(index.collectionOf(4), undefined);
    assert.equal(index.collectionOf(1_000_000), undefined);
  });

  test('indexTokens, when a chunk has stopwords, single letters, accents and inflections, then it keeps the stemmed content terms the query side uses at their positions', () => {
    assert.deepEqual(indexTokens('The Café refunds X orders in 2 days'), [null, 'cafe', 'refund', null, 'order', null, '2', 'dai']);
    assert.deepEqual(queryTerms('café refunds').map((t) => t.term), ['cafe', 'refund']);
  });

  test('top, when a term is in every chunk, then it still scores (smoothed idf is never zero)', () => {
    const index = createLexicalIndex();
    index.add(1, 'help', 'beans');
    index.add(2, 'help', 'beans beans');
    assert.ok(smoothedIdf(2, 2) > 0);
    assert.deepEqual(index.top(index.prepare(['bean']), 5, HELP).map((hit) => hit.rowid), [2, 1]);
  });

  test('issue 17 item 3: evidence, when computed from the stored term sequences, then BM25, the capped score and term proximity equal the reference computed from each chunk\'s text', () => {
    fc.assert(
      fc.property(fc.array(sentence, { minLength: 1, maxLength: 40 }), sentence, (texts, query) => {
        const index = createLexicalIndex();
        texts.forEach((text, i) => index.add(i + 1, 'help', text));
        const scorer = referenceScorer(query, index.stats);
        const rowids = texts.map((_, i) => i + 1);
        const evidence = index.evidence(prepared(index, query), rowids);
        texts.forEach((text, i) => {
          const expected = scorer.evidence(text);
          const actual = evidence[i];
          assert.ok(actual !== undefined);
          assert.ok(Math.abs(actual.bm25 - expected.bm25) < 1e-9, `bm25 of ${i}`);
          assert.ok(Math.abs(actual.score - expected.score) < 1e-9, `score of ${i}`);
          assert.ok(Math.abs(actual.proximity - expected.proximity) < 1e-9, `proximity of ${i}: ${actual.proximity} vs ${expected.proximity}`);
        });
      }),
      { numRuns: 200 },
    );
  });

  test('issue 17 item 3: evidence, when chunks are withdrawn and published again many times (the term-sequence arena compacts), then every live chunk still scores as the reference says', () => {
    const index = createLexicalIndex();
    const texts = Array.from({ length: 120 }, (_, i) => Array.from({ length: 60 }, (_, j) => WORDS[(i * 7 + j * 3) % WORDS.length]).join(' '));
    const live = new Set<number>();
    for (let step = 0; step < 3_000; step += 1) {
      const rowid = (step * 37) % texts.length;
      if (live.has(rowid)) {
        index.remove(rowid);
        live.delete(rowid);
      } else {
        index.add(rowid, 'help', texts[rowid] as string);
        live.add(rowid);
      }
    }
    const query = 'refund parcel courier roast';
    const scorer = referenceScorer(query, index.stats);
    const rowids = [...live];
    const evidence = index.evidence(prepared(index, query), rowids);
    rowids.forEach((rowid, i) => {
      const expected = scorer.evidence(texts[rowid] as string);
      assert.ok(Math.abs((evidence[i]?.bm25 ?? NaN) - expected.bm25) < 1e-9, `bm25 of ${rowid}`);
      assert.ok(Math.abs((evidence[i]?.proximity ?? NaN) - expected.proximity) < 1e-9, `proximity of ${rowid}`);
    });
    assert.equal(index.stats.rows, live.size);
  });
});
