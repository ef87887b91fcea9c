import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { queryTerms, smoothedIdf } from '../src/retrieval/lexical.js';
import { createLexicalIndex } from '../src/retrieval/lexical-index.js';
import { porterStem } from '../src/retrieval/porter.js';
import { doc, openTestCorpus } from './fixtures/corpus/open-corpus.js';

/** The engine's lexical evidence for `query` over `texts`, indexed as one collection in this order. */
function evidenceOf(query: string, texts: readonly string[]) {
  const index = createLexicalIndex();
  texts.forEach((text, i) => index.add(i + 1, 'help', text));
  return index.evidence(index.prepare(queryTerms(query).map(({ term }) => term)), texts.map((_, i) => i + 1));
}

describe('retrieval scores', () => {
  test('porterStem, when compared with FTS5 porter tokenizer output, then every index term is the same', () => {
    const words =
      'running runs ran generalization generalizations agreed agreement hopeful hopefulness relational conditional rational digitizer sensibility happiness ponies caresses cats feed plastered motoring sing conflated troubled sized hopping tanned falling hissing fizzed failing filing happy sky electrical formative adjustable dependent adoption homologous effective bowdlerize probate rate cease controlling rolling 1990s x86 abc123ing refunds deliveries roastery colour'.split(
        ' ',
      );
    const db = new Database(':memory:');
    db.exec(`CREATE VIRTUAL TABLE f USING fts5 (text, tokenize = 'porter unicode61 remove_diacritics 2');
             CREATE VIRTUAL TABLE v USING fts5vocab (f, 'row');`);
    const insert = db.prepare('INSERT INTO f (text) VALUES (?)');
    const terms = db.prepare<[], string>('SELECT term FROM v').pluck();
    const clear = db.prepare('DELETE FROM f');
    for (const word of words) {
      clear.run();
      insert.run(word);
      assert.deepEqual(terms.all(), [porterStem(word)], word);
    }
    db.close();
  });

  test('queryTerms, when given stopwords, quotes and query operators, then only the stemmed content terms remain', () => {
    const terms = queryTerms('What is the "refund" NOT policy* for Café orders OR returns?');
    assert.deepEqual(terms.map((t) => t.term), ['refund', 'polici', 'cafe', 'order', 'return']);
    assert.deepEqual(queryTerms('the of and'), []);
  });

  test('lexical score, when the chunk holds every query term once at average length, then it is 1 whatever the other chunks are', () => {
    const [full, none] = evidenceOf('refund parcel', ['Your refund follows the returned parcel.', 'Nothing relevant at all in this sentence'.padEnd(40, '.')]);
    assert.ok(Math.abs((full?.score ?? 0) - 1) < 1e-9, `score ${full?.score}`);
    assert.equal(none?.score, 0);
  });

  test('lexical score, when query terms appear in no approved chunk, then they lower the score by their full weight', () => {
    const texts = ['Return unopened products within 30 days of delivery, please.', 'Espresso needs a fine grind.', 'Decaf is processed with water.'];
    const [score] = evidenceOf('Which colour is the delivery van of the roastery?', texts).map((evidence) => evidence.score);
    const share = smoothedIdf(3, 1) / (smoothedIdf(3, 1) + 3 * smoothedIdf(3, 0));
    assert.ok(score !== undefined && score > 0 && score <= share + 0.05, `score ${score} vs share ${share}`);
    assert.ok(score < 0.2);
  });

  test('lexical evidence, when query terms stand together or far apart, then only the close pair earns proximity and the floor score is the capped BM25', () => {
    const near = 'The roasting temperature of our beans is kept low for a sweet cup.';
    const far = 'Our roasting is slow and careful, and the tasting room keeps its temperature low.';
    const [a, b, none] = evidenceOf('roasting temperature', [near, far, 'Nothing relevant at all']);
    assert.ok((a?.proximity ?? 0) > 0);
    assert.equal(b?.proximity, 0);
    assert.equal(a?.score, Math.min(1, a?.bm25 ?? NaN));
    assert.deepEqual(none, { score: 0, bm25: 0, proximity: 0 });
  });

  test('smoothedIdf, when a term is in most chunks of a tiny corpus, then it still counts (FTS5 idf would be zero)', () => {
    assert.ok(smoothedIdf(3, 2) > 0.3);
    assert.ok(smoothedIdf(3, 0) > smoothedIdf(3, 1));
  });

  test('hybrid search, when the policy floor is 0.2, then an answerable question keeps its chunk and an unrelated one gets nothing (LLM09-2)', async () => {
    const t = openTestCorpus();
    try {
      await t.corpus.ingestDocument(doc('refunds', 'help', 'Refunds are paid to the original payment method within 5 business days after we receive the returned parcel. You can return unopened products within 30 days of delivery.', { approve: true }));
      await t.corpus.ingestDocument(doc('hours', 'help', 'Our support team answers chat and e-mail from Monday to Friday between 09:00 and 17:00.', { approve: true }));
      const ask = (query: string) => t.corpus.retriever.search({ query, collections: ['help'], k: 5, minScore: 0.2 });
      const relevant = await ask('How many business days until my refund is paid?');
      assert.equal(relevant[0]?.documentId, 'refunds');
      assert.ok((relevant[0]?.score ?? 0) <= 1);
      assert.deepEqual(await ask('Which colour is the delivery van of the roastery?'), []);
      assert.deepEqual(await ask('What is the capital of Mongolia?'), []);
    } finally {
      t.close();
    }
  });
});
