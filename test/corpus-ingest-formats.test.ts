// Issue 13 item 1: the files teams have (Markdown, text and HTML without front matter, PDF, DOCX) ingested from a real
// folder into a real SQLite corpus; unreadable files refused by name with the reason while the rest load.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingestPath, type FileOutcome } from '../src/corpus/files.js';
import { docxWith, pdfWithText } from './helpers/documents.js';
import { openTestCorpus } from './fixtures/corpus/open-corpus.js';

describe('issue 13 item 1: ingest what teams have', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-formats-'));
    mkdirSync(join(dir, 'Guides'));
    writeFileSync(join(dir, 'Guides', 'Returns Policy.md'), '# Returns policy\n\nUnopened coffee can be returned within 30 days.\n');
    writeFileSync(join(dir, 'shipping.txt'), 'Orders ship within two working days.\n');
    writeFileSync(
      join(dir, 'warranty.html'),
      '<!doctype html><html><head><title>Warranty &amp; repairs</title><style>.secret { color: red }</style>' +
        '<script>window.stealCookies("grinder-token")</script></head><body><h1>Warranty terms</h1><p>Grinders carry a two-year warranty.</p>' +
        '<h2>Exclusions</h2><ul><li>Water damage is excluded.</li></ul><script>trackVisitor()</script><noscript>enable scripts</noscript></body></html>',
    );
    writeFileSync(join(dir, 'descaling.pdf'), pdfWithText([['Descale the machine every three months.'], ['Use citric acid, never vinegar.']], { title: 'Descaling guide' }));
    writeFileSync(join(dir, 'beans.docx'), docxWith('Bean storage', ['Keep beans in an airtight tin away from light.']));
    writeFileSync(join(dir, 'override.md'), '---\nid: custom-id\ntitle: Set by front matter\ncollection: legal\nowner: legal@shop.example\n---\n# Ignored heading\n\nTerms apply.\n');
    writeFileSync(join(dir, 'no-owner.md'), '---\nowner: \n---\nText.\n');
    writeFileSync(join(dir, 'scan.pdf'), pdfWithText([[]]));
    writeFileSync(join(dir, 'locked.pdf'), pdfWithText([['secret']], { encrypted: true }));
    writeFileSync(join(dir, 'corrupt.pdf'), '%PDF-1.7\nthis is not a pdf body');
    writeFileSync(join(dir, 'corrupt.docx'), 'PK not really a zip');
    writeFileSync(join(dir, 'photo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    mkdirSync(join(dir, '.git'));
    writeFileSync(join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const byPath = (outcomes: readonly FileOutcome[]) => new Map(outcomes.map((outcome) => [outcome.path, outcome]));

  test('issue 13 item 1: a folder without front matter, when ingested with --collection, then ids come from paths, titles from headings, and unreadable files are refused by name', async () => {
    const t = openTestCorpus();
    try {
      const outcomes = byPath(await ingestPath(t.corpus, dir, { approve: false, actor: 'cli', collection: 'help' }));
      assert.deepEqual([...outcomes.keys()].sort(), [
        'Guides/Returns Policy.md', 'beans.docx', 'corrupt.docx', 'corrupt.pdf', 'descaling.pdf', 'locked.pdf', 'no-owner.md', 'override.md', 'photo.png', 'scan.pdf', 'shipping.txt', 'warranty.html',
      ]);
      const ingested = (path: string) => {
        const result = outcomes.get(path)?.result;
        assert.ok(result, `${path}: ${JSON.stringify(outcomes.get(path)?.error)}`);
        return result.document;
      };
      assert.deepEqual(
        ['Guides/Returns Policy.md', 'shipping.txt', 'warranty.html', 'descaling.pdf', 'beans.docx'].map((path) => {
          const document = ingested(path);
          return [document.id, document.title, document.collection, document.owner, document.source];
        }),
        [
          ['guides-returns-policy', 'Returns policy', 'help', 'cli', 'Guides/Returns Policy.md'],
          ['shipping', 'shipping', 'help', 'cli', 'shipping.txt'],
          ['warranty', 'Warranty & repairs', 'help', 'cli', 'warranty.html'],
          ['descaling', 'Descaling guide', 'help', 'cli', 'descaling.pdf'],
          ['beans', 'Bean storage', 'help', 'cli', 'beans.docx'],
        ],
      );
      const custom = ingested('override.md');
      assert.deepEqual([custom.id, custom.title, custom.collection, custom.owner], ['custom-id', 'Set by front matter', 'legal', 'legal@shop.example']);

      const refusals = Object.fromEntries([...outcomes].filter(([, outcome]) => outcome.error).map(([path, outcome]) => [path, outcome.error?.detail]));
      assert.deepEqual(Object.keys(refusals).sort(), ['corrupt.docx', 'corrupt.pdf', 'locked.pdf', 'no-owner.md', 'photo.png', 'scan.pdf']);
      assert.equal(refusals['no-owner.md'], 'front matter: owner is required');
      assert.match(refusals['scan.pdf'] ?? '', /no text layer/);
      assert.match(refusals['locked.pdf'] ?? '', /encrypted/);
      assert.match(refusals['corrupt.pdf'] ?? '', /not a readable PDF/);
      assert.match(refusals['corrupt.docx'] ?? '', /not a readable DOCX/);
      assert.match(refusals['photo.png'] ?? '', /unsupported type \.png/);

      const text = async (id: string) => (await t.corpus.getChunks(id, 1)).map((chunk) => chunk.text).join('\n');
      const html = await text('warranty');
      assert.match(html, /^# Warranty terms/);
      assert.match(html, /## Exclusions/);
      assert.match(html, /- Water damage is excluded\./);
      for (const hidden of ['stealCookies', 'grinder-token', 'trackVisitor', 'color: red', 'enable scripts']) assert.ok(!html.includes(hidden), hidden);
      assert.match(await text('descaling'), /Descale the machine every three months\.[\s\S]*Use citric acid, never vinegar\./);
      assert.match(await text('beans'), /# Bean storage[\s\S]*airtight tin/);
    } finally {
      t.close();
    }
  });

  test('issue 13 item 1: the same folder, when ingested again, then the path ids are stable and every readable file is unchanged', async () => {
    const t = openTestCorpus();
    try {
      const first = await ingestPath(t.corpus, dir, { approve: true, actor: 'cli', collection: 'help', owner: 'support@shop.example' });
      const again = await ingestPath(t.corpus, dir, { approve: true, actor: 'cli', collection: 'help', owner: 'support@shop.example' });
      const ids = (outcomes: readonly FileOutcome[]) => outcomes.flatMap((outcome) => (outcome.result ? [outcome.result.document.id] : []));
      assert.deepEqual(ids(again), ids(first));
      assert.equal(ids(first).length, 6);
      assert.ok(again.every((outcome) => outcome.error !== undefined || outcome.result?.created === false));
      assert.equal((await t.corpus.getDocument('shipping')).owner, 'support@shop.example');
      assert.equal((await t.corpus.stats()).documents, 6);
    } finally {
      t.close();
    }
  });
});
