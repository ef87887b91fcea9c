// Issue 18 item 3: the console's Tasks screen in Debian's Chromium (playwright-core) against a real app on a port:
// it lists tasks, shows versions, diffs them as text (never markup) and activates one, which the API serves next.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import request from 'supertest';
import type { Page } from 'playwright-core';
import { openConsoleBrowser, type ConsoleBrowser } from './helpers/browser.js';
import { BUNDLED_TASKS, createTestContext, envelope, type TestContext } from './helpers/context.js';
import { readTaskFolder } from '../src/tasks/load.js';

const MARKUP = '<img src=x onerror="document.title=\'pwned\'">';

describe('the console Tasks screen (issue 18 item 3)', () => {
  let ctx: TestContext;
  let ui: ConsoleBrowser;
  let page: Page;
  let adminKey: string;
  let taskKey: string;

  before(async () => {
    ctx = await createTestContext();
    adminKey = (await ctx.createKey(['admin'])).key;
    taskKey = (await ctx.createKey(['tasks:*'])).key;
    ui = await openConsoleBrowser(ctx);
    ({ page } = ui);
  });
  after(async () => {
    await ui?.close();
    await ctx.close();
  });

  const ask = () =>
    request(ctx.app)
      .post('/v1/tasks/support.answer')
      .set({ authorization: `Bearer ${taskKey}`, 'content-type': 'application/json' })
      .send(JSON.stringify(envelope({ question: 'How many business days until my refund is paid?' })));

  test('Tasks, when a draft exists, then the screen lists it, diffs it as text and activates it, and the next API call is served by it', async () => {
    const files = readTaskFolder(join(BUNDLED_TASKS, 'support.answer'));
    const imported = await request(ctx.app)
      .post('/admin/tasks/support.answer/versions')
      .set({ authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' })
      .send(JSON.stringify({ files: { ...files, 'instructions.md': `${files['instructions.md'] ?? ''}Quote the article title. ${MARKUP}\n` } }));
    assert.equal(imported.status, 201, imported.text);
    assert.equal((await ask()).headers['airlock-task-version'], '1');

    await ui.signIn(adminKey);
    await page.getByRole('link', { name: 'Tasks' }).click();
    const rows = page.locator('#tasks-rows tr');
    await rows.first().waitFor();
    assert.deepEqual(await page.locator('#tasks-rows tr td:first-child').allInnerTexts(), ['content.draft', 'lead.classify', 'support.answer']);

    await page.getByRole('button', { name: 'support.answer' }).click();
    const versions = page.locator('#task-versions tr');
    await versions.nth(1).waitFor();
    assert.deepEqual(await page.locator('#task-versions tr td:nth-child(2)').allInnerTexts(), ['draft', 'active']);

    await page.getByRole('button', { name: 'Diff v1→v2' }).click();
    await page.locator('#task-diff-body span.add').first().waitFor();
    const added = await page.locator('#task-diff-body span.add').allInnerTexts();
    assert.ok(added.some((line) => line.includes(MARKUP)), 'the diff shows the new line verbatim, as text');
    assert.equal(await page.locator('#task-diff-body img').count(), 0, 'no markup from a task file is ever rendered');
    await ui.shot('tasks');

    await page.getByRole('button', { name: 'Activate v2' }).click();
    await page.getByText('Activated support.answer v2; every process serves it from its next request.').waitFor();
    await page.locator('#task-versions tr td:nth-child(2)', { hasText: 'retired' }).waitFor();
    assert.deepEqual(await page.locator('#task-versions tr td:nth-child(2)').allInnerTexts(), ['active', 'retired']);
    assert.equal(await page.locator('#tasks-rows tr', { hasText: 'support.answer' }).locator('td').nth(1).innerText(), 'v2');
    assert.notEqual(await page.title(), 'pwned');

    assert.equal((await ask()).headers['airlock-task-version'], '2');
    const audit = (await ctx.store.audit.list({ task: 'support.answer', limit: 50 })).map((row) => row.action);
    assert.ok(audit.includes('task.activate') && audit.includes('task.import'));
  });
});
