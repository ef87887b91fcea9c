// The optional `---` key: value header of a corpus file, and the document metadata it yields: what the header says,
// over defaults taken from the file (id from its path, title from its first heading) and from the command line.
import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { AppError } from '../errors.js';
import { FrontMatter } from '../contracts/corpus.js';

export type DocumentMeta = FrontMatter & { readonly source: string };

export interface SplitFile {
  /** The header's fields as written; empty when the file has no header. */
  readonly fields: Readonly<Record<string, string>>;
  readonly body: string;
}

const HEADER = /^\uFEFF?---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/;
const LINE = /^([a-z_]+)[ \t]*:[ \t]*(.*?)[ \t]*$/;

/** Separates a leading front-matter block from the body; a file without one is all body. */
export function splitFrontMatter(raw: string): SplitFile {
  const header = HEADER.exec(raw);
  if (!header) return { fields: {}, body: raw };
  const fields: Record<string, string> = {};
  for (const line of (header[1] ?? '').split(/\r?\n/)) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const match = LINE.exec(line);
    if (!match) throw refused([{ path: 'front_matter', message: `not a "key: value" line: ${line.slice(0, 80)}` }]);
    fields[match[1] as string] = unquote(match[2] ?? '');
  }
  return { fields, body: raw.slice(header[0].length) };
}

/**
 * The document's metadata: front-matter fields win over `defaults`; `source` falls back to the path. A refusal names
 * each field (`front matter: owner is required`).
 */
export function documentMeta(fields: Readonly<Record<string, string>>, defaults: Partial<FrontMatter>, path: string): DocumentMeta {
  const parsed = FrontMatter.safeParse({ ...defaults, ...fields });
  if (!parsed.success) throw refused(parsed.error.issues.map((issue) => ({ path: issue.path.join('.') || 'front_matter', message: describeIssue(issue) })));
  return { ...parsed.data, source: parsed.data.source ?? path };
}

/** Longest id a path becomes before it is shortened with a hash (DocumentId allows 128). */
const MAX_PATH_ID = 100;

/**
 * A document id from a path relative to the ingested folder, the same on every re-ingest:
 * `Guides/Returns Policy.md` → `guides-returns-policy`. Long paths keep a readable start and a hash of the whole.
 */
export function idFromPath(relativePath: string): string {
  const slug = relativePath
    .replace(/\.[^./\\]+$/, '')
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  const hash = createHash('sha256').update(relativePath).digest('hex').slice(0, 12);
  if (slug === '') return `doc-${hash}`;
  return slug.length <= MAX_PATH_ID ? slug : `${slug.slice(0, MAX_PATH_ID).replace(/[^a-z0-9]+$/, '')}-${hash}`;
}

/** `returns_policy-2024.md` → `returns policy 2024`: the last resort for a title. */
export const titleFromPath = (relativePath: string): string =>
  (relativePath.split(/[\\/]/).at(-1) ?? relativePath).replace(/\.[^.]+$/, '').replace(/[-_]+/g, ' ').trim() || relativePath;

/** The first markdown `#` heading's text, if the body has one. */
export const firstMarkdownHeading = (body: string): string | undefined => /^#{1,6}[ \t]+(.+?)[ \t#]*$/m.exec(body)?.[1];

function describeIssue(issue: z.core.$ZodIssue): string {
  if ((issue.code === 'invalid_type' && issue.input === undefined) || (issue.code === 'too_small' && issue.origin === 'string' && Number(issue.minimum) === 1)) return 'is required';
  if (issue.code === 'invalid_format' || (issue.code === 'too_big' && issue.path[0] === 'id')) {
    return issue.path[0] === 'id' ? 'must be lowercase letters, digits, ".", "_" or "-" (at most 128)' : `must match ${issue.code === 'invalid_format' && 'pattern' in issue ? String(issue.pattern) : 'the allowed format'}`;
  }
  return issue.message;
}

const unquote = (value: string): string =>
  value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0] ? value.slice(1, -1) : value;

const refused = (errors: { path: string; message: string }[]): AppError =>
  new AppError('validation_failed', { detail: `front matter: ${errors.map((error) => `${error.path} ${error.message}`).join('; ')}`, errors });
