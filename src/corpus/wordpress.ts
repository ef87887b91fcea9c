// WordPress sync: reads a site's posts and pages through its REST API (/wp-json/wp/v2/{posts,pages}, paginated by
// X-WP-TotalPages) and ingests each published item as a draft version, its permalink recorded as the source.
// Everything is fetched before anything is written, so a failing page leaves the corpus as it was. Items that left
// the site are only proposed for retirement: a person retires them, as any other document.
import { z } from 'zod';
import { isAppError } from '../errors.js';
import type { IngestResult } from '../store/corpus.js';
import { htmlToText } from '../retrieval/text.js';
import type { Corpus } from './corpus.js';

export const WORDPRESS_TYPES = ['posts', 'pages'] as const;
export type WordPressType = (typeof WORDPRESS_TYPES)[number];

export interface WordPressSyncOptions {
  /** The site's address (https://example.com, or with /wp-json). */
  readonly url: string;
  readonly collection: string;
  readonly types: readonly WordPressType[];
  /** An application password (Users → Profile → Application Passwords), sent as HTTP Basic. */
  readonly credentials?: { readonly user: string; readonly appPassword: string };
  readonly owner: string;
  readonly actor: string;
  readonly fetch: typeof globalThis.fetch;
  readonly timeoutMs?: number;
  readonly onProgress?: (event: { readonly path: string; readonly index: number; readonly total: number }) => void;
}

export interface WordPressItemOutcome {
  readonly document_id: string;
  readonly source: string;
  readonly title: string;
  readonly modified_gmt: string;
  readonly result?: IngestResult;
  readonly error?: { readonly code: string; readonly detail: string };
}

export interface WordPressSyncResult {
  readonly site: string;
  readonly items: readonly WordPressItemOutcome[];
  /** Documents from this site that it no longer publishes: to retire through `airlock corpus retire`. */
  readonly retire_proposed: ReadonlyArray<{ readonly document_id: string; readonly source: string; readonly title: string }>;
}

/** A failed run: the site could not be read completely, and nothing was written. */
export class WordPressSyncError extends Error {
  override readonly name = 'WordPressSyncError';
}

/** The fields of a post or page this sync reads (https://developer.wordpress.org/rest-api/reference/posts/). */
const WordPressItem = z.object({
  id: z.int().min(1),
  status: z.string(),
  modified_gmt: z.string(),
  link: z.url(),
  title: z.object({ rendered: z.string() }),
  content: z.object({ rendered: z.string(), protected: z.boolean().optional() }),
});
type WordPressItem = z.infer<typeof WordPressItem>;

const PER_PAGE = 100;
const FIELDS = 'id,status,modified_gmt,link,title,content';

/** `https://Blog.Example.com:8443/wp-json/` → the API root `https://blog.example.com:8443/wp-json`. */
function apiRoot(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new WordPressSyncError(`--url ${url} is not a URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new WordPressSyncError('--url must be an http(s) address');
  const path = parsed.pathname.replace(/\/+$/, '').replace(/\/wp-json$/, '');
  return new URL(`${parsed.origin}${path}/wp-json`);
}

/** Ids of a site's items: its host (and port) then type and WordPress id, e.g. `blog.example.com-post-42`. */
const idPrefix = (root: URL): string => `${root.host.toLowerCase().replace(/[^a-z0-9.]+/g, '-')}-`;
const singular = (type: WordPressType): string => (type === 'posts' ? 'post' : 'page');

async function fetchType(root: URL, type: WordPressType, options: WordPressSyncOptions): Promise<WordPressItem[]> {
  const items: WordPressItem[] = [];
  let totalPages = 1;
  for (let page = 1; page <= totalPages; page += 1) {
    const url = `${root.href}/wp/v2/${type}?per_page=${PER_PAGE}&page=${page}&_fields=${FIELDS}`;
    const where = `${root.pathname}/wp/v2/${type} page ${page}`;
    let response: Response;
    try {
      response = await options.fetch(url, {
        headers: {
          accept: 'application/json',
          ...(options.credentials === undefined ? {} : { authorization: `Basic ${Buffer.from(`${options.credentials.user}:${options.credentials.appPassword}`).toString('base64')}` }),
        },
        redirect: 'error',
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      throw new WordPressSyncError(`cannot reach ${root.origin} (${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}); nothing was written`);
    }
    if (response.status === 401 || response.status === 403) {
      throw new WordPressSyncError(`${root.origin} refused the credentials (${response.status}) for ${where}: check --user and --app-password; nothing was written`);
    }
    if (!response.ok) throw new WordPressSyncError(`${root.origin} answered ${response.status} for ${where}; nothing was written`);
    const parsed = z.array(WordPressItem).safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) throw new WordPressSyncError(`${where} is not a WordPress REST list (${parsed.error.issues[0]?.message ?? 'unexpected shape'}); nothing was written`);
    items.push(...parsed.data);
    const header = Number(response.headers.get('x-wp-totalpages') ?? '1');
    totalPages = Number.isSafeInteger(header) && header >= 1 ? header : 1;
  }
  return items;
}

/** Syncs the site into `options.collection`: new and changed items become drafts, unchanged ones are no-ops. */
export async function syncWordPress(corpus: Corpus, options: WordPressSyncOptions): Promise<WordPressSyncResult> {
  const root = apiRoot(options.url);
  const fetched: Array<{ type: WordPressType; item: WordPressItem }> = [];
  for (const type of options.types) fetched.push(...(await fetchType(root, type, options)).map((item) => ({ type, item })));
  const prefix = idPrefix(root);
  const published = fetched.filter(({ item }) => item.status === 'publish' && item.content.protected !== true);
  const items: WordPressItemOutcome[] = [];
  for (const [index, { type, item }] of published.entries()) {
    const documentId = `${prefix}${singular(type)}-${item.id}`;
    options.onProgress?.({ path: item.link, index, total: published.length });
    const title = htmlToText(item.title.rendered).text || `${singular(type)} ${item.id}`;
    const base = { document_id: documentId, source: item.link, title, modified_gmt: item.modified_gmt };
    try {
      const result = await corpus.ingestDocument({
        id: documentId,
        collection: options.collection,
        source: item.link,
        owner: options.owner,
        title: title.slice(0, 300),
        // The title leads the text as its heading, as it does on the page.
        content: `<h1>${item.title.rendered}</h1>\n${item.content.rendered}`,
        contentType: 'html',
        actor: options.actor,
        approve: false,
      });
      items.push({ ...base, result });
    } catch (error) {
      if (!isAppError(error)) throw error;
      items.push({ ...base, error: { code: error.code, detail: error.detail ?? error.message } });
    }
  }
  const live = new Set(items.map((item) => item.document_id));
  const synced = options.types.map((type) => `${prefix}${singular(type)}-`);
  const retireProposed = (await corpus.listDocuments({ collection: options.collection }))
    .filter((document) => synced.some((start) => document.id.startsWith(start)) && !live.has(document.id) && document.approvedVersion !== null)
    .map((document) => ({ document_id: document.id, source: document.source, title: document.title }));
  return { site: root.origin, items, retire_proposed: retireProposed };
}
