// The engine's compact chunk ids (src/retrieval/chunk-ids.ts): whatever id a chunk was stored with is the id a search
// returns, whether it has chunkId()'s form (kept as ordinal + hash) or not (kept as its string).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chunkId } from '../src/retrieval/chunking.js';
import { createChunkIds } from '../src/retrieval/chunk-ids.js';

const documentId = fc.oneof(fc.constantFrom('refunds', 'doc-1', 'a#b', 'x-0', ''), fc.string({ maxLength: 12 }));
const hex = (digits: string) => fc.array(fc.constantFrom(...digits), { minLength: 16, maxLength: 16 }).map((chars) => chars.join(''));
/** An id for `documentId`: chunkId()'s form, or one that only looks like it (each must come back as it went in). */
const idFor = (doc: string) =>
  fc.oneof(
    fc.tuple(fc.nat({ max: 5_000 }), fc.string()).map(([ordinal, text]) => chunkId(doc, ordinal, text)),
    // Leading zeros in the hash's halves: '0000…' must not come back shortened.
    fc.tuple(fc.nat({ max: 99 }), hex('0000000f')).map(([ordinal, hash]) => `${doc}#${ordinal}-${hash}`),
    // Look-alikes: a leading-zero ordinal, upper-case hex, a short hash, another document's prefix, a huge ordinal.
    fc.tuple(fc.nat({ max: 99 }), hex('0123456789abcdef')).map(([ordinal, hash]) => `${doc}#0${ordinal}-${hash}`),
    hex('0123456789ABCDEF').map((hash) => `${doc}#3-${hash}`),
    hex('0123456789abcdef').map((hash) => `${doc}#3-${hash.slice(0, 15)}`),
    hex('0123456789abcdef').map((hash) => `other#3-${hash}`),
    hex('0123456789abcdef').map((hash) => `${doc}#12345678901-${hash}`),
    fc.string({ maxLength: 30 }),
  );

describe('compact chunk ids (issue 17 item 3, engine memory)', () => {
  test('issue 17 item 3: get, when ids of chunkId() form and look-alikes are set, set again over each other (few rowids, many collisions) and deleted, then every live rowid gives back exactly the id it was set with', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.oneof(fc.nat({ max: 12 }), fc.nat({ max: 3_000 })), documentId).chain(([rowid, doc]) => fc.tuple(fc.constant(rowid), fc.constant(doc), idFor(doc), fc.boolean())), { minLength: 1, maxLength: 60 }),
        (operations) => {
          const ids = createChunkIds();
          const live = new Map<number, { doc: string; id: string }>();
          for (const [rowid, doc, id, keep] of operations) {
            // Set over a live id (no delete first) or deleted.
            if (keep) {
              ids.set(rowid, doc, id);
              live.set(rowid, { doc, id });
            } else {
              ids.delete(rowid);
              live.delete(rowid);
            }
          }
          for (const [rowid, { doc, id }] of live) assert.equal(ids.get(rowid, doc), id, `rowid ${rowid}`);
        },
      ),
      { numRuns: 300 },
    );
  });
});
