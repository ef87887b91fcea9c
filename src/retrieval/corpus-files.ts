// Loads corpus files (front matter + body) from a directory tree or a single file into the store; also the first-start bootstrap.
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, relative } from 'node:path';
import type { ContentType } from '../contracts/corpus.js';
import { isAppError } from '../errors.js';
import type { CorpusStore, IngestResult } from '../store/corpus.js';
import { parseFrontMatter } from './front-matter.js';

const CONTENT_TYPES: Readonly<Record<string, ContentType>> = { '.md': 'markdown', '.txt': 'text', '.html': 'html' };

export interface IngestPathOptions {
  /** When set, every file must declare this collection. */
  readonly collection?: string;
  readonly approve: boolean;
  readonly actor: string;
  readonly onProgress?: (event: { readonly path: string; readonly index: number; readonly total: number }) => void;
}

export interface FileOutcome {
  readonly path: string;
  readonly result?: IngestResult;
  /** Stable problem code and detail when the file was refused; other files still load. */
  readonly error?: { readonly code: string; readonly detail: string };
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && extname(entry.name).toLowerCase() in CONTENT_TYPES)
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** Ingests every supported file under `target`, or `target` itself when it is a file (`airlock corpus ingest <dir|file>`). */
export async function ingestPath(corpus: CorpusStore, target: string, options: IngestPathOptions): Promise<FileOutcome[]> {
  const single = !(await stat(target)).isDirectory();
  const root = single ? dirname(target) : target;
  const files = single ? [target] : await listFiles(target);
  const outcomes: FileOutcome[] = [];
  for (const [index, path] of files.entries()) {
    const name = relative(root, path);
    if (!(extname(path).toLowerCase() in CONTENT_TYPES)) {
      outcomes.push({ path: name, error: { code: 'unsupported_media_type', detail: `only ${Object.keys(CONTENT_TYPES).join(', ')} files are ingested` } });
      continue;
    }
    options.onProgress?.({ path: name, index, total: files.length });
    try {
      const raw = await readFile(path);
      const { meta, body } = parseFrontMatter(raw.toString('utf8'), name);
      if (options.collection !== undefined && meta.collection !== options.collection) {
        outcomes.push({ path: name, error: { code: 'validation_failed', detail: `collection is ${meta.collection}, expected ${options.collection}` } });
        continue;
      }
      const result = await corpus.ingestDocument({
        id: meta.id,
        collection: meta.collection,
        source: meta.source,
        owner: meta.owner,
        title: meta.title,
        content: body,
        contentType: CONTENT_TYPES[extname(path).toLowerCase()] ?? 'text',
        actor: options.actor,
        approve: options.approve,
      });
      outcomes.push({ path: name, result });
    } catch (error) {
      if (!isAppError(error)) throw error;
      outcomes.push({ path: name, error: { code: error.code, detail: error.detail ?? error.message } });
    }
  }
  return outcomes;
}

/**
 * First-start load of the bundled corpus/ directory: every file ingested and approved. A bundled file that the scanner
 * quarantines stays quarantined (it is reported, never force-approved) so a poisoned commit cannot bypass review.
 */
export async function bootstrapCorpus(corpus: CorpusStore, dir: string, actor: string): Promise<FileOutcome[]> {
  return ingestPath(corpus, dir, { approve: true, actor });
}
