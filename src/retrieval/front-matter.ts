// Parses the `---` key: value header of a bundled corpus file into a validated FrontMatter.
import { AppError } from '../errors.js';
import { FrontMatter } from '../contracts/corpus.js';

export interface ParsedCorpusFile {
  readonly meta: FrontMatter & { readonly source: string };
  readonly body: string;
}

const HEADER = /^\uFEFF?---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/;
const LINE = /^([a-z_]+)[ \t]*:[ \t]*(.*?)[ \t]*$/;

/** `path` names the file in errors and is the default `source`. */
export function parseFrontMatter(raw: string, path: string): ParsedCorpusFile {
  const header = HEADER.exec(raw);
  if (!header) throw invalid(path, [{ path: 'front_matter', message: 'file must start with a --- front-matter block' }]);
  const fields: Record<string, string> = {};
  for (const line of (header[1] ?? '').split(/\r?\n/)) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const match = LINE.exec(line);
    if (!match) throw invalid(path, [{ path: 'front_matter', message: `not a "key: value" line: ${line.slice(0, 80)}` }]);
    fields[match[1] as string] = unquote(match[2] ?? '');
  }
  const parsed = FrontMatter.safeParse(fields);
  if (!parsed.success) {
    throw invalid(
      path,
      parsed.error.issues.map((issue) => ({ path: issue.path.join('.') || 'front_matter', message: issue.message })),
    );
  }
  return { meta: { ...parsed.data, source: parsed.data.source ?? path }, body: raw.slice(header[0].length) };
}

const unquote = (value: string): string =>
  value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0] ? value.slice(1, -1) : value;

const invalid = (path: string, errors: { path: string; message: string }[]): AppError =>
  new AppError('validation_failed', { detail: `invalid front matter in ${path}`, errors });
