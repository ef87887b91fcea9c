// Issue 13 item 2: `airlock corpus sync wordpress` against a local HTTP server speaking the WordPress REST API's
// documented shapes (/wp-json/wp/v2/posts and /pages, per_page and page, X-WP-Total and X-WP-TotalPages, 401 with a
// rest error body for bad application passwords).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../src/cli/main.js';
import { capture } from './helpers/capture.js';
import { BUNDLED_TASKS } from './helpers/context.js';

interface FakeItem {
  id: number;
  status: string;
  modified_gmt: string;
  slug: string;
  title: string;
  html: string;
}

/** A WordPress site in memory: its posts and pages, an optional application password, and a page that fails. */
class FakeWordPress {
  posts: FakeItem[] = [];
  pages: FakeItem[] = [];
  credentials: { user: string; password: string } | undefined;
  failing: { type: string; page: number } | undefined;
  readonly requests: string[] = [];
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      this.requests.push(`${url.pathname}${url.search}`);
      const match = /^\/wp-json\/wp\/v2\/(posts|pages)$/.exec(url.pathname);
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
        res.end(JSON.stringify(body));
      };
      if (!match) return send(404, { code: 'rest_no_route', message: 'No route was found matching the URL and request method.', data: { status: 404 } });
      if (this.credentials !== undefined) {
        const expected = `Basic ${Buffer.from(`${this.credentials.user}:${this.credentials.password}`).toString('base64')}`;
        if (req.headers.authorization !== expected) {
          return send(401, { code: 'incorrect_password', message: 'The provided password is an invalid application password.', data: { status: 401 } });
        }
      }
      const type = match[1] as 'posts' | 'pages';
      const perPage = Number(url.searchParams.get('per_page') ?? '10');
      const page = Number(url.searchParams.get('page') ?? '1');
      if (this.failing?.type === type && this.failing.page === page) return send(500, { code: 'internal_server_error', message: 'There has been a critical error on this website.', data: { status: 500 } });
      // Without authentication (and without status=…) the API lists published items only.
      const items = this[type].filter((item) => item.status === 'publish');
      const totalPages = Math.max(1, Math.ceil(items.length / perPage));
      const slice = items.slice((page - 1) * perPage, page * perPage).map((item) => ({
        id: item.id,
        status: item.status,
        modified_gmt: item.modified_gmt,
        link: `${this.url}/${type === 'posts' ? '2026/11/' : ''}${item.slug}/`,
        title: { rendered: item.title },
        content: { rendered: item.html, protected: false },
      }));
      send(200, slice, { 'X-WP-Total': String(items.length), 'X-WP-TotalPages': String(totalPages) });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

const post = (id: number, title: string, text: string, modified = '2026-11-01T10:00:00'): FakeItem => ({
  id,
  status: 'publish',
  modified_gmt: modified,
  slug: title.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
  title,
  html: `<p>${text}</p>\n<script>window.analytics.track("page")</script>\n<style>.wp-block { margin: 0 }</style>`,
});

describe('issue 13 item 2: WordPress sync', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let site: FakeWordPress;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'airlock-wp-'));
    env = { AIRLOCK_DATA_DIR: dataDir, AIRLOCK_TASKS_DIR: BUNDLED_TASKS };
    site = new FakeWordPress();
    await site.start();
    // 150 published posts (two pages of 100), one draft post the public API does not list, two pages.
    site.posts = Array.from({ length: 150 }, (_, i) => post(i + 1, `Brew guide ${i + 1}`, `Guide ${i + 1}: use ${i + 10} grams of coffee for each cup you brew.`));
    site.posts.push({ ...post(999, 'Unfinished draft', 'Not ready yet.'), status: 'draft' });
    site.pages = [post(2, 'Contact us', 'Write to hello at the shop, we answer within a day.'), post(3, 'About the roastery', 'We roast every Tuesday in small batches.')];
  });
  after(async () => {
    await site.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const run = async (argv: string[]) => {
    const out = capture();
    const err = capture();
    const code = await runCli(argv, env, out.stream, err.stream);
    return { code, out: out.text(), err: err.text() };
  };
  const sync = (...extra: string[]) => run(['corpus', 'sync', 'wordpress', '--url', site.url, '--collection', 'blog', ...extra]);
  const documents = async () => JSON.parse((await run(['corpus', 'list', '--collection', 'blog', '--json'])).out) as Array<{ id: string; source: string; latestState: string; latestVersion: number; approvedVersion: number | null }>;

  test('issue 13 item 2: sync, when the site is unreachable mid-run (a 500 page), then the run ends with a clear error and nothing is written', async () => {
    site.failing = { type: 'posts', page: 2 };
    try {
      const result = await sync();
      assert.equal(result.code, 1);
      assert.match(result.err, /answered 500 for \/wp-json\/wp\/v2\/posts page 2; nothing was written/);
      assert.deepEqual(await documents(), []);
    } finally {
      site.failing = undefined;
    }
  });

  test('issue 13 item 2: sync, when the site has paginated posts and pages, then each published item becomes a draft sourced from its permalink, and a second run is all no-ops', async () => {
    const result = await sync();
    assert.equal(result.code, 0, result.err);
    assert.equal(result.out.trim().split('\n').at(-1), '152 ingested, 0 unchanged, 0 refused, 0 quarantined');
    assert.ok(site.requests.some((path) => path.startsWith('/wp-json/wp/v2/posts?per_page=100&page=2')));
    assert.ok(!site.requests.some((path) => path.startsWith('/wp-json/wp/v2/posts?per_page=100&page=3')), 'stops at X-WP-TotalPages');
    const docs = await documents();
    assert.equal(docs.length, 152);
    assert.ok(docs.every((document) => document.latestState === 'draft'));
    const host = new URL(site.url).host.replace(/:/g, '-');
    const contact = docs.find((document) => document.id === `${host}-page-2`);
    assert.equal(contact?.source, `${site.url}/contact-us/`);
    assert.ok(docs.some((document) => document.id === `${host}-post-2` && document.source === `${site.url}/2026/11/brew-guide-2/`), 'a post and a page with the same WordPress id stay apart');
    assert.ok(!docs.some((document) => document.id.endsWith('-post-999')), 'a draft on the site is not ingested');

    const again = await sync('--json');
    assert.equal(again.code, 0);
    const summary = (JSON.parse(again.out) as { summary: Record<string, number> }).summary;
    assert.deepEqual(summary, { ingested: 0, unchanged: 152, refused: 0, quarantined: 0 });
  });

  test('issue 13 item 2: sync, when a post changed and others were deleted or unpublished, then the change is a new draft and the gone ones are only proposed for retirement', async () => {
    assert.equal((await run(['corpus', 'approve', '--all-drafts', '--collection', 'blog'])).code, 0);
    const changed = site.posts[0] as FakeItem;
    Object.assign(changed, { modified_gmt: '2026-11-20T09:00:00', html: '<p>Guide 1 now says: use 12 grams of coffee for each cup.</p>' });
    site.posts = site.posts.filter((item) => item.id !== 5);
    (site.pages[1] as FakeItem).status = 'private';
    const result = await sync('--type', 'posts,pages', '--json');
    assert.equal(result.code, 0, result.err);
    const report = JSON.parse(result.out) as { summary: Record<string, number>; retire_proposed: Array<{ document_id: string; source: string }> };
    assert.deepEqual(report.summary, { ingested: 1, unchanged: 149, refused: 0, quarantined: 0 });
    const host = new URL(site.url).host.replace(/:/g, '-');
    assert.deepEqual(report.retire_proposed.map((gone) => gone.document_id).sort(), [`${host}-page-3`, `${host}-post-5`]);
    const docs = new Map((await documents()).map((document) => [document.id, document]));
    assert.deepEqual([docs.get(`${host}-post-1`)?.latestVersion, docs.get(`${host}-post-1`)?.latestState, docs.get(`${host}-post-1`)?.approvedVersion], [2, 'draft', 1]);
    assert.equal(docs.get(`${host}-post-5`)?.latestState, 'approved', 'nothing is retired without a person');
    const human = await sync('--type', 'posts');
    assert.match(human.out, new RegExp(`retire it with: airlock corpus retire ${host}-post-5`));
    assert.doesNotMatch(human.out, /page-3/, 'only the synced types are compared');
  });

  test('issue 13 item 2: sync, when the application password is wrong, then WordPress\'s 401 is named and nothing is written; the right one works', async () => {
    site.credentials = { user: 'editor', password: 'abcd EFGH 1234 ijkl MNOP 6789' };
    try {
      const before = (await documents()).length;
      const refused = await sync('--type', 'pages', '--user', 'editor', '--app-password', 'wrong');
      assert.equal(refused.code, 1);
      assert.match(refused.err, /refused the credentials \(401\).*check --user and --app-password; nothing was written/);
      assert.ok(!refused.err.includes('wrong'), 'the password is never echoed');
      assert.equal((await documents()).length, before);
      const accepted = await sync('--type', 'pages', '--user', 'editor', '--app-password', site.credentials.password);
      assert.equal(accepted.code, 0, accepted.err);
    } finally {
      site.credentials = undefined;
    }
  });

  test('issue 13 item 2: sync, when called without a URL or with an unknown type, then a usage error and exit 2', async () => {
    assert.equal((await run(['corpus', 'sync', 'wordpress', '--collection', 'blog'])).code, 2);
    const badType = await sync('--type', 'posts,media');
    assert.equal(badType.code, 2);
    assert.match(badType.err, /--type takes posts,pages/);
    assert.equal((await run(['corpus', 'sync', 'confluence', '--url', site.url, '--collection', 'blog'])).code, 2);
    assert.equal((await sync('--user', 'editor')).code, 2);
  });
});
