// Issue 13 item 5: the console with 10,000 documents in Chromium: the list renders a page of 50 with one request,
// search finds one document, approving it works, and paging forward and back keeps each page's documents.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { createTestContext, type TestContext } from './helpers/context.js';
import { openConsoleBrowser, type ConsoleBrowser } from './helpers/browser.js';

const DOCUMENTS = 10_000;
const idOf = (i: number): string => `article-${String(i).padStart(5, '0')}`;

describe('the console with 10,000 documents (issue 13 item 5)', () => {
  let ctx: TestContext;
  let ui: ConsoleBrowser;
  let page: Page;
  let adminKey: string;

  before(async () => {
    ctx = await createTestContext({ corpusDir: null });
    for (let i = 0; i < DOCUMENTS; i += 1) {
      await ctx.corpus.ingestDocument({
        id: idOf(i),
        collection: i % 10 === 0 ? 'brand' : 'help',
        source: `https://help.example/${i}`,
        owner: 'support',
        title: i === 7_777 ? 'Descaling the Moka pot' : `Help article ${i}`,
        content: `# Help article ${i}\n\nStep ${i} of looking after a grinder: brush the burrs weekly.`,
        contentType: 'markdown',
        actor: 'test',
        approve: i % 2 === 0,
      });
    }
    adminKey = (await ctx.createKey(['admin'])).key;
    ui = await openConsoleBrowser(ctx);
    page = ui.page;
  });
  after(async () => {
    await ui?.close();
    await ctx.close();
  });

  /** The /admin/ requests the page makes while `action` runs. */
  async function adminRequests(action: () => Promise<void>): Promise<string[]> {
    const seen: string[] = [];
    const listener = (request: { url(): string }) => {
      const url = new URL(request.url());
      if (url.pathname.startsWith('/admin/')) seen.push(`${url.pathname}${url.search}`);
    };
    page.on('request', listener);
    try {
      await action();
    } finally {
      page.off('request', listener);
    }
    return seen;
  }

  const rows = () => page.locator('#documents-rows tr');

  test('the documents list, when opened, then shows the first 50 of 10,000 with one request and pages forward and back', async () => {
    const requests = await adminRequests(async () => {
      await ui.signIn(adminKey);
      await page.locator('[data-document-row="article-00049"]').waitFor();
    });
    assert.equal(await rows().count(), 50);
    assert.match((await page.locator('#documents-stats').textContent()) ?? '', /^10000 documents/);
    assert.equal(requests.filter((path) => path.startsWith('/admin/corpus/documents')).length, 1, requests.join('\n'));

    const next = await adminRequests(async () => {
      await page.getByRole('button', { name: 'Next page' }).click();
      await page.locator('[data-document-row="article-00099"]').waitFor();
    });
    assert.equal(next.length, 1, next.join('\n'));
    assert.equal(await page.locator('#documents-page').textContent(), 'Page 2');
    assert.equal(await rows().first().getAttribute('data-document-row'), 'article-00050');
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.locator('[data-document-row="article-00000"]').waitFor();
    await ui.shot('documents-10k');
  });

  test('bulk approval (issue 13 item 3), when drafts are selected on two pages, then exactly those versions are approved with one request; approved rows offer no checkbox', async () => {
    await ui.signIn(adminKey);
    await page.goto(`${ui.origin}/console#documents`);
    await page.locator('[data-document-row="article-00049"]').waitFor();
    assert.equal(await page.getByRole('checkbox', { name: /^Select article-00000 / }).count(), 0, 'an approved document cannot be selected');
    for (const id of ['article-00001', 'article-00003']) await page.getByRole('checkbox', { name: `Select ${id} v1` }).check();
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByRole('checkbox', { name: 'Select article-00051 v1' }).check();
    const requests = await adminRequests(async () => {
      await page.getByRole('button', { name: 'Approve 3 selected drafts' }).click();
      await page.locator('#status').getByText('Approved 3 of 3 selected drafts.').waitFor();
    });
    assert.equal(requests.filter((path) => path === '/admin/corpus/approve-drafts').length, 1);
    for (const id of ['article-00001', 'article-00003', 'article-00051']) assert.equal((await ctx.corpus.getDocument(id)).approvedVersion, 1, id);
    assert.equal((await ctx.corpus.getDocument('article-00005')).approvedVersion, null, 'an unselected draft stays a draft');
    assert.equal(await page.locator('#documents-page').textContent(), 'Page 2', 'the page did not change');
  });

  test('search, when it names one document among 10,000, then lists it alone; approving it from its detail works and keeps the list', async () => {
    await ui.signIn(adminKey);
    await page.getByLabel('Title or id contains').fill('moka');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator('[data-document-row="article-07777"]').waitFor();
    assert.equal(await rows().count(), 1);
    await page.locator('#documents-rows').getByRole('button', { name: 'article-07777' }).click();
    await page.getByRole('button', { name: 'Approve v1' }).click();
    await page.locator('#status').getByText('Approved article-07777 v1.').waitFor();
    await page.locator('[data-document-row="article-07777"]').getByText('approved').waitFor();
    assert.equal((await ctx.corpus.getDocument('article-07777')).approvedVersion, 1);
  });
});
