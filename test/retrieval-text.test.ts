import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../src/errors.js';
import { chunkId, chunkText } from '../src/retrieval/chunking.js';
import { createHashingEmbedder } from '../src/retrieval/embedders/hashing.js';
import { documentMeta, splitFrontMatter } from '../src/retrieval/front-matter.js';
import { htmlToText, normaliseCorpusText } from '../src/retrieval/text.js';

describe('corpus text pipeline', () => {
  test('normaliseCorpusText, when text hides zero-width, bidi and tag characters, then they are removed and counted (PI-3)', () => {
    const result = normaliseCorpusText('re\u200Bfund\u202E \u{E0069}\u{E0067}ok ｆｕｌｌ');
    assert.equal(result.text, 'refund ok full');
    assert.equal(result.invisibleRemoved, 6);
    assert.equal(result.hiddenByInvisibles, 5, 'the override and the two tag characters (surrogate pairs) hide text; the lone zero-width space does not');
  });

  test('htmlToText, when elements are hidden or scripted, then only visible text remains and hidden ones are counted (LLM04-2)', () => {
    const result = htmlToText(
      '<p>Visible &amp; kept.</p><script>evil()</script><span style="font-size:0">tiny</span><div hidden>gone</div><p style="DISPLAY: none">x</p>',
    );
    assert.equal(result.text, 'Visible & kept.');
    assert.equal(result.hiddenElements, 3);
  });

  test('documentMeta, when source is absent, then it defaults to the path; bad collections are validation errors naming the field', () => {
    const { fields, body } = splitFrontMatter('---\nid: a-doc\ntitle: A doc\ncollection: help\nowner: me@x.example\n---\nBody.\n');
    assert.equal(documentMeta(fields, {}, 'help/a.md').source, 'help/a.md');
    assert.equal(body, 'Body.\n');
    assert.throws(
      () => documentMeta(splitFrontMatter('---\nid: a\ntitle: A\ncollection: Help!\nowner: me\n---\nB').fields, {}, 'x.md'),
      (e: unknown) => e instanceof AppError && e.code === 'validation_failed' && e.errors?.[0]?.path === 'collection' && /^front matter: collection /.test(e.detail ?? ''),
    );
    assert.deepEqual(splitFrontMatter('no header'), { fields: {}, body: 'no header' });
  });

  test('chunkText, when text exceeds the limit, then chunks end on sentence boundaries, overlap by one sentence and ids are stable', () => {
    const text = Array.from({ length: 12 }, (_, i) => `Sentence number ${i} talks about coffee beans.`).join(' ');
    const settings = { maxChars: 120, overlapSentences: 1 };
    const chunks = chunkText(text, settings);
    assert.ok(chunks.length > 3);
    for (const chunk of chunks) {
      assert.ok(chunk.text.length <= 120);
      assert.match(chunk.text, /\.$/);
    }
    const firstLast = chunks[0]?.text.split('. ').at(-1);
    assert.ok(chunks[1]?.text.startsWith(firstLast?.replace(/\.$/, '') ?? '?'));
    assert.deepEqual(chunkText(text, settings), chunks);
    assert.equal(chunkId('d', 0, 'same'), chunkId('d', 0, 'same'));
    assert.notEqual(chunkId('d', 0, 'same'), chunkId('d', 0, 'other'));
  });

  test('hashing embedder, when given related and unrelated texts, then it is deterministic, unit length and ranks the related one higher', async () => {
    const embedder = createHashingEmbedder();
    const [q, related, unrelated, again] = await embedder.embed(['refund my coffee order', 'Refunds for coffee orders', 'Parcel tracking link', 'refund my coffee order']);
    const dot = (a?: Float32Array, b?: Float32Array): number => (a ?? new Float32Array()).reduce((s, v, i) => s + v * (b?.[i] ?? 0), 0);
    assert.ok(Math.abs(dot(q, q) - 1) < 1e-5);
    assert.deepEqual(q, again);
    assert.ok(dot(q, related) > dot(q, unrelated) + 0.2);
  });
});
