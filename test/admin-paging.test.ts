// Issue 13 item 5: the admin API at scale: documents, reviews and audit come a page at a time with an opaque cursor,
// documents can be searched by title or id and filtered by state and collection, and audit rows name the key.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createTestContext, envelope, type TestContext } from './helpers/context.js';

describe('issue 13 item 5: admin lists in pages', () => {
  let ctx: TestContext;
  let admin: string;
  let adminId: string;

  before(async () => {
    ctx = await createTestContext({ corpusDir: null });
    ({ key: admin, id: adminId } = await ctx.createKey(['admin']));
    for (let i = 0; i < 120; i += 1) {
      await ctx.corpus.ingestDocument({
        id: `bulk-${String(i).padStart(3, '0')}`,
        collection: i < 100 ? 'help' : 'brand',
        source: `test://bulk/${i}`,
        owner: 'tests',
        title: i === 77 ? 'Grinder calibration guide' : `Article ${i}`,
        content: `Article ${i} explains oat milk steaming step ${i}.`,
        contentType: 'markdown',
        actor: 'test',
        approve: i % 3 === 0,
      });
    }
  });
  after(() => ctx.close());

  const get = (path: string) => request(ctx.app).get(path).set('authorization', `Bearer ${admin}`);

  test('documents, when walked with next_cursor, then 50 a page, every document once in id order, each with its latest state, and the last page has no cursor', async () => {
    const seen: string[] = [];
    let path = '/admin/corpus/documents';
    const sizes: number[] = [];
    for (let page = 0; page < 5; page += 1) {
      const response = await get(path);
      assert.equal(response.status, 200, JSON.stringify(response.body));
      sizes.push(response.body.documents.length);
      seen.push(...response.body.documents.map((document: { id: string }) => document.id));
      for (const document of response.body.documents) assert.ok(['draft', 'approved'].includes(document.latestState), document.latestState);
      if (response.body.next_cursor === null) break;
      path = `/admin/corpus/documents?cursor=${encodeURIComponent(response.body.next_cursor)}`;
    }
    assert.deepEqual(sizes, [50, 50, 20]);
    assert.equal(new Set(seen).size, 120);
    assert.deepEqual(seen, [...seen].sort());
  });

  test('documents, when searched, filtered by state and collection, then only matches come back', async () => {
    const search = await get('/admin/corpus/documents?q=grinder%20CALIBRATION');
    assert.deepEqual(search.body.documents.map((document: { id: string }) => document.id), ['bulk-077']);
    const drafts = await get('/admin/corpus/documents?state=approved&collection=brand&limit=500');
    assert.deepEqual(drafts.body.documents.map((document: { id: string }) => document.id), ['bulk-102', 'bulk-105', 'bulk-108', 'bulk-111', 'bulk-114', 'bulk-117']);
    assert.equal(drafts.body.next_cursor, null);
  });

  test('approve-drafts with a selection (issue 13 item 3), when one entry names a version that is not the newest, then only the drafts as seen are approved', async () => {
    const response = await request(ctx.app)
      .post('/admin/corpus/approve-drafts')
      .set({ authorization: `Bearer ${admin}`, 'content-type': 'application/json' })
      .send(JSON.stringify({ documents: [{ id: 'bulk-001', version: 1 }, { id: 'bulk-002', version: 2 }, { id: 'bulk-003', version: 1 }] }));
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.approved, 1);
    assert.deepEqual(response.body.documents.map((document: { document_id: string }) => document.document_id), ['bulk-001']);
    assert.equal((await ctx.corpus.getDocument('bulk-002')).approvedVersion, null);
  });

  test('a list, when given a forged cursor, a limit out of range or an unknown parameter, then a 400 problem names the parameter', async () => {
    for (const [path, field] of [
      ['/admin/corpus/documents?cursor=not-a-cursor', 'cursor'],
      [`/admin/corpus/documents?cursor=${Buffer.from('{"id":42}').toString('base64url')}`, 'cursor'],
      ['/admin/reviews?cursor=%7B%7D', 'cursor'],
      ['/admin/audit?limit=0', 'limit'],
      ['/admin/corpus/documents?sort=title', ''],
    ] as const) {
      const response = await get(path);
      assert.equal(response.status, 400, path);
      assert.equal(response.body.code, 'validation_failed', path);
      if (field !== '') assert.ok(response.body.errors.some((error: { path: string }) => error.path === field), `${path}: ${JSON.stringify(response.body.errors)}`);
    }
  });

  test('audit, when paged, then rows come once, newest first, and name the key that acted', async () => {
    const { key, id } = await ctx.createKey(['tasks:*']);
    for (let i = 0; i < 5; i += 1) {
      await request(ctx.app)
        .post('/v1/tasks/support.answer')
        .set({ authorization: `Bearer ${key}`, 'content-type': 'application/json' })
        .send(JSON.stringify(envelope({ question: `How long does oat milk steaming take, question ${i}?` })));
    }
    const first = await get('/admin/audit?limit=3');
    const second = await get(`/admin/audit?limit=3&cursor=${first.body.next_cursor}`);
    const ids = [...first.body.audit, ...second.body.audit].map((row: { id: string }) => row.id);
    assert.equal(new Set(ids).size, 6);
    const rows = [...first.body.audit, ...second.body.audit] as Array<{ keyId: string; keyName: string | null; at: string }>;
    assert.deepEqual(rows.map((row) => row.at), rows.map((row) => row.at).sort().reverse(), 'newest first');
    const taskRows = rows.filter((row) => row.keyId === id);
    assert.equal(taskRows.length, 5);
    assert.ok(taskRows.every((row) => row.keyName?.startsWith('test-')), JSON.stringify(taskRows.map((row) => row.keyName)));
    const own = (await get(`/admin/audit?key_id=${adminId}`)).body.audit;
    assert.ok(own.every((row: { keyName: string | null }) => row.keyName !== null));
  });
});
