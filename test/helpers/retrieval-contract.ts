// The retrieval contract of issue 17, written once and run on every backend: the embedded SQLite file in `npm test`
// (test/retrieval-contract.test.ts) and PostgreSQL with and without Redis in `npm run test:integration`
// (test/integration/retrieval-contract.test.ts, which also compares the three backends' rankings with each other).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Corpus, IngestInput } from '../../src/corpus/corpus.js';
import { doc } from '../fixtures/corpus/open-corpus.js';

export interface RetrievalBackend {
  /** Another corpus handle on the same database, as a second Airlock process (or the CLI) would open. */
  openCorpus(): Promise<Corpus>;
  close(): Promise<void>;
}

export interface RetrievalBackendFactory {
  readonly name: string;
  open(): Promise<RetrievalBackend>;
}

const TOPICS = [
  'Espresso grinders need a fine burr setting for a quick extraction; coarse settings suit a French press.',
  'Refunds are paid to the original card within five working days after the returned parcel arrives.',
  'Decaf beans are processed with water, not solvents, and keep most of their sweetness.',
  'A subscription can be paused or a delivery skipped from the account page before Thursday noon.',
  'Descale the kettle monthly with citric acid; hard water leaves scale on the element.',
  'Gift cards never expire and can be topped up online or in any of our roastery shops.',
  'Oat milk steams best at 60 degrees; hotter and it separates, colder and the foam collapses.',
  'The roasting temperature of light beans stays below 210 degrees to keep the fruit notes.',
];

export const RANKING_QUERIES = [
  'how fine should the espresso grinder burr be',
  'when is my refund paid to my card',
  'are decaf beans processed with solvents',
  'skip a delivery of my subscription',
  'descale kettle citric acid',
  'roasting temperature light beans',
  'oat milk foam temperature',
  'gift card expiry',
];

const document = (id: string, collection: string, content: string, approve = true): IngestInput => doc(id, collection, content, { approve });

/**
 * Ingests the ranking corpus into `collection` (and a neighbour collection that must never answer), with the churn
 * that makes a follower apply every kind of delta: approvals, a new version retiring the old, a retirement and a
 * rollback. Document ids derive from `collection` only, so the same call on another backend yields the same chunk ids.
 */
export async function seedRankingCorpus(corpus: Corpus, collection: string): Promise<void> {
  for (const [i, text] of TOPICS.entries()) {
    await corpus.ingestDocument(document(`${collection}-${i}`, collection, `${text}\n\n${TOPICS[(i + 3) % TOPICS.length]}`));
    await corpus.ingestDocument(document(`${collection}-other-${i}`, `${collection}-other`, text));
  }
  await corpus.ingestDocument(document(`${collection}-0`, collection, `${TOPICS[0]} Burr grinders beat blade grinders for espresso.`));
  await corpus.retire(`${collection}-1`, 'key_admin');
  await corpus.ingestDocument(document(`${collection}-2`, collection, `${TOPICS[2]} Swiss water decaf is certified organic.`));
  await corpus.approve(`${collection}-2`, 1, 'key_admin');
  await corpus.ingestDocument(document(`${collection}-draft`, collection, TOPICS[1] ?? '', false));
}

export interface RankedHit {
  readonly chunkId: string;
  readonly score: number;
}

/** The ranked chunk ids and scores of every ranking query in `collection`, k = 5 as the tasks use. */
export async function rankings(corpus: Corpus, collection: string): Promise<RankedHit[][]> {
  const result: RankedHit[][] = [];
  for (const query of RANKING_QUERIES) {
    const hits = await corpus.retriever.search({ query, collections: [collection], k: 5, minScore: 0 });
    result.push(hits.map((hit) => ({ chunkId: hit.chunkId, score: hit.score })));
  }
  return result;
}

/** Same chunks in the same order, scores equal to a tiny epsilon (they come from the same arithmetic). */
export function assertSameRankings(actual: RankedHit[][], expected: RankedHit[][], what: string): void {
  assert.deepEqual(
    actual.map((hits) => hits.map((hit) => hit.chunkId)),
    expected.map((hits) => hits.map((hit) => hit.chunkId)),
    `${what}: ranked chunk ids`,
  );
  actual.forEach((hits, q) =>
    hits.forEach((hit, i) => assert.ok(Math.abs(hit.score - (expected[q]?.[i]?.score ?? NaN)) < 1e-9, `${what}: score of query ${q} rank ${i}`)),
  );
  assert.ok(expected.some((hits) => hits.length > 0), `${what}: the queries find something`);
}

export function retrievalContract(factory: RetrievalBackendFactory): void {
  describe(`the ${factory.name} retrieval contract (issue 17)`, () => {
    let backend: RetrievalBackend;
    before(async () => {
      backend = await factory.open();
    });
    after(async () => {
      await backend.close();
    });

    test('issue 17 items 1 and 2: a handle following another handle\'s changes as deltas, the writer, and a handle built afterwards from the rows return the same ranked chunk ids and scores; the follower never rebuilt', async () => {
      const writer = await backend.openCorpus();
      const follower = await backend.openCorpus();
      await follower.catchUp();
      assert.equal(follower.indexStatus().fullBuilds, 1, 'the first build');
      await seedRankingCorpus(writer, 'rank');
      const followed = await rankings(follower, 'rank');
      const status = follower.indexStatus();
      assert.equal(status.fullBuilds, 1, 'changes another handle committed arrive as deltas, never a full reload');
      assert.ok(status.deltaGenerations >= 10, `deltas applied: ${status.deltaGenerations}`);
      assert.equal(status.indexedGeneration, (await writer.stats()).generation);
      const late = await backend.openCorpus();
      assertSameRankings(followed, await rankings(late, 'rank'), 'follower vs fresh build');
      assertSameRankings(await rankings(writer, 'rank'), followed, 'writer vs follower');
      assert.equal(late.indexStatus().deltaGenerations, 0);
    });

    test('LLM08-1 issue 17: a search, when another collection holds the exact text, then only the asked collection answers and retired, draft and replaced versions never do', async () => {
      const corpus = await backend.openCorpus();
      await seedRankingCorpus(corpus, 'iso');
      for (const query of RANKING_QUERIES) {
        const hits = await corpus.retriever.search({ query, collections: ['iso'], k: 20, minScore: 0 });
        assert.ok(hits.every((hit) => hit.collection === 'iso'), query);
        assert.ok(hits.every((hit) => hit.documentId !== 'iso-1' && hit.documentId !== 'iso-draft'), `${query}: retired or draft`);
        assert.ok(hits.filter((hit) => hit.documentId === 'iso-2').every((hit) => hit.documentVersion === 1), `${query}: the rolled-back version only`);
        assert.ok(hits.filter((hit) => hit.documentId === 'iso-0').every((hit) => hit.documentVersion === 2), `${query}: the replacing version only`);
      }
      assert.deepEqual(await corpus.retriever.search({ query: TOPICS[4] ?? '', collections: ['absent'], k: 5, minScore: 0 }), []);
    });
  });
}
