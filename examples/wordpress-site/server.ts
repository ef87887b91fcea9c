// A WordPress site for the README's corpus walk-through: the REST API's read side (/wp-json/wp/v2/posts and /pages, per_page
// and page, X-WP-Total and X-WP-TotalPages) serving the published posts of posts.json, so `airlock corpus sync wordpress`
// can be tried without a WordPress install. test/readme-answers.test.ts syncs from it to check the walk-through.
//
//   node --import tsx examples/wordpress-site/server.ts [PORT]     (default 8090, on 127.0.0.1)
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

interface Post {
  readonly id: number;
  readonly slug: string;
  readonly modified_gmt: string;
  readonly title: string;
  readonly content: string;
}

export const EXAMPLE_POSTS: readonly Post[] = JSON.parse(readFileSync(join(import.meta.dirname, 'posts.json'), 'utf8')) as Post[];

/** Serves `posts` (and no pages) on 127.0.0.1:`port` (0: any free port); resolves to the site's URL and a stop function. */
export async function startWordPressSite(port: number, posts: readonly Post[] = EXAMPLE_POSTS): Promise<{ url: string; stop(): Promise<void> }> {
  let origin = '';
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    const route = /^\/wp-json\/wp\/v2\/(posts|pages)\/?$/.exec(url.pathname);
    if (route === null) {
      res.writeHead(404, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(JSON.stringify({ code: 'rest_no_route', message: 'No route was found matching the URL and request method.', data: { status: 404 } }));
      return;
    }
    const items = route[1] === 'posts' ? posts : [];
    const perPage = Number(url.searchParams.get('per_page') ?? '10');
    const page = Number(url.searchParams.get('page') ?? '1');
    const body = items.slice((page - 1) * perPage, page * perPage).map((post) => ({
      id: post.id,
      status: 'publish',
      modified_gmt: post.modified_gmt,
      link: `${origin}/${post.slug}/`,
      title: { rendered: post.title },
      content: { rendered: post.content, protected: false },
    }));
    res.writeHead(200, {
      'content-type': 'application/json; charset=UTF-8',
      'X-WP-Total': String(items.length),
      'X-WP-TotalPages': String(Math.max(1, Math.ceil(items.length / perPage))),
    });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: origin, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const site = await startWordPressSite(Number(process.argv[2] ?? '8090'));
  console.log(`WordPress REST API with ${EXAMPLE_POSTS.length} posts at ${site.url}/wp-json/wp/v2/posts`);
}
