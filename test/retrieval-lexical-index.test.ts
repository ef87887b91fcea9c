// The in-memory BM25 postings and stored term sequences (src/retrieval/lexical-index.ts) against a brute-force
// reference (test/helpers/lexical-reference.ts) that scores every chunk from its text with the same statistics.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createLexicalIndex } from '../src/retrieval/lexical-index.js';
import { indexTokens, queryTerms, smoothedIdf } from '../src/retrieval/lexical.js';
import { exhaustiveTop, referenceScorer, type ReferenceChunk } from './helpers/lexical-reference.js';

const WORDS = ['refund', 'refunds', 'parcel', 'courier', 'roast', 'roasted', 'decaf', 'grinder', 'invoice', 'café', 'beans', 'water', '2024', 'x'];

const HELP: ReadonlySet<string> = new Set(['help']);

const indexTermsOf = (text: string): string[] => indexTokens(text).filter((term): term is string => term !== null);
const prepared = (index: ReturnType<typeof createLexicalIndex>, query: string) => index.prepare(queryTerms(query).map((t) => t.term));

const sentence = fc.array(fc.constantFrom(...WORDS, 'the', 'and', 'of'), { minLength: 1, maxLength: 30 }).map((words) => words.join(' '));

// Skewed term frequencies: three words most chunks share (long postings), a middle band, and a tail of rare words.
const COMMON = ['refund', 'parcel', 'beans'];
const MIDDLE = ['courier', 'roast', 'decaf', 'grinder', 'invoice', 'café'];
const RARE = ['espresso', 'kettle', 'filter', 'crema', 'sieve', 'tamper', 'scale', 'carafe', 'hopper', 'burr', '2024', 'oolong'];
const skewedWord = fc.oneof({ arbitrary: fc.constantFrom(...COMMON), weight: 6 }, { arbitrary: fc.constantFrom(...MIDDLE), weight: 3 }, { arbitrary: fc.constantFrom(...RARE), weight: 1 }, { arbitrary: fc.constantFrom('the', 'and', 'of', 'x'), weight: 1 });
const skewedText = fc.oneof(
  { arbitrary: fc.array(skewedWord, { minLength: 1, maxLength: 40 }).map((words) => words.join(' ')), weight: 9 },
  // A word past the 255 a posting's frequency holds, beside a common one.
  { arbitrary: fc.tuple(skewedWord, fc.integer({ min: 250, max: 300 })).map(([word, times]) => `${Array.from({ length: times }, () => word).join(' ')} refund`), weight: 1 },
);
const COLLECTIONS = ['help', 'pricing', 'brand'];

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

  test('issue 17 item 3: top, when chunks of three collections with skewed term frequencies are added, withdrawn and added back, then it equals exhaustive scoring of the live chunks to the last bit, ties by rowid', () => {
    fc.assert(
      fc.property(
        // A small pool of texts, so identical chunks (exact ties) are common.
        fc.array(skewedText, { minLength: 1, maxLength: 8 }),
        fc.array(fc.record({ add: fc.boolean(), rowid: fc.integer({ min: 0, max: 40 }), text: fc.nat(), collection: fc.nat() }), { minLength: 1, maxLength: 120 }),
        fc.array(fc.oneof(skewedWord, fc.constant('unheard')), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 12 }),
        fc.subarray(COLLECTIONS),
        (pool, operations, queryWords, depth, asked) => {
          const index = createLexicalIndex();
          const live = new Map<number, ReferenceChunk>();
          for (const operation of operations) {
            if (!operation.add) {
              index.remove(operation.rowid);
              live.delete(operation.rowid);
            } else if (!live.has(operation.rowid)) {
              const chunk = { collection: COLLECTIONS[operation.collection % COLLECTIONS.length] as string, text: pool[operation.text % pool.length] as string };
              index.add(operation.rowid, chunk.collection, chunk.text);
              live.set(operation.rowid, chunk);
            }
          }
          const terms = queryTerms(queryWords.join(' ')).map(({ term }) => term);
          const collections = new Set(asked);
          assert.deepEqual(index.top(index.prepare(terms), depth, collections), exhaustiveTop(live, terms, depth, collections));
        },
      ),
      { numRuns: 300 },
    );
  });

  test('issue 17 item 3: the term arena, when the vocabulary outgrows two-byte term ids, then chunks indexed before and after the switch keep their own terms (no id read modulo 65536)', () => {
    const index = createLexicalIndex();
    const live = new Map<number, ReferenceChunk>();
    // 700 chunks of 100 new words each: 70,000 distinct terms, past the 65,535 a two-byte id holds.
    for (let chunk = 0; chunk < 700; chunk += 1) {
      const text = Array.from({ length: 100 }, (_, i) => `t${chunk * 100 + i}q`).join(' ') + (chunk % 2 === 0 ? ' refund' : ' parcel');
      index.add(chunk + 1, 'help', text);
      live.set(chunk + 1, { collection: 'help', text });
    }
    const help = new Set(['help']);
    // Term ids 1 and 65,537 share their low 16 bits, as do the other pairs asked for here.
    for (const query of ['t0q', 't65536q', 't1q refund', 't65537q parcel', 't69999q', 't42q t65578q']) {
      const terms = queryTerms(query).map(({ term }) => term);
      assert.deepEqual(index.top(index.prepare(terms), 5, help), exhaustiveTop(live, terms, 5, help), query);
      const rowids = index.top(index.prepare(terms), 5, help).map((hit) => hit.rowid);
      const scorer = referenceScorer(query, index.stats);
      index.evidence(index.prepare(terms), rowids).forEach((evidence, i) => {
        const expected = scorer.evidence(live.get(rowids[i] as number)?.text ?? '');
        assert.ok(Math.abs(evidence.bm25 - expected.bm25) < 1e-9 && Math.abs(evidence.proximity - expected.proximity) < 1e-9, `${query}: chunk ${rowids[i]}`);
      });
    }
    // Withdrawing and re-adding an early chunk after the switch keeps it findable by its own words only.
    index.remove(1);
    index.add(1, 'help', live.get(1)?.text ?? '');
    assert.deepEqual(index.top(index.prepare(['t0q']), 5, help).map((hit) => hit.rowid), [1]);
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
