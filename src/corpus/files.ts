// Loads a folder (or one file) of the team's documents into the store: Markdown, text, HTML, PDF and DOCX, with or
// without front matter. Also the first-start bootstrap of the bundled corpus.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { AppError, isAppError } from '../errors.js';
import { readDocument } from '../retrieval/document-formats.js';
import { documentMeta, idFromPath, titleFromPath } from '../retrieval/front-matter.js';
import type { IngestResult } from '../store/corpus.js';
import type { Corpus } from './corpus.js';

export interface IngestPathOptions {
  /** The collection of files whose front matter names none. */
  readonly collection?: string;
  /** The owner of files whose front matter names none; the actor when unset. */
  readonly owner?: string;
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

/** Every file under `dir`, except hidden ones and those in hidden folders (.git, .DS_Store …), in a stable order. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((path) => !relative(dir, path).split(sep).some((part) => part.startsWith('.')))
    .sort();
}

/** A file the process may not read (permissions, vanished) is that file's refusal, not the run's end. */
async function readBytes(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new AppError('unsupported_media_type', { detail: `cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})` });
  }
}

/** The refusal a file gets, with the field names of a validation error in the detail. */
function refusal(error: unknown): { code: string; detail: string } | undefined {
  if (!isAppError(error)) return undefined;
  const fields = error.errors?.map((field) => `${field.path} ${field.message}`).join('; ');
  const detail = error.detail ?? error.message;
  return { code: error.code, detail: fields === undefined || detail.includes(fields) ? detail : `${detail}: ${fields}` };
}

/** Ingests every file under `target`, or `target` itself when it is a file (`airlock corpus ingest <dir|file>`). */
export async function ingestPath(corpus: Corpus, target: string, options: IngestPathOptions): Promise<FileOutcome[]> {
  const single = !(await stat(target)).isDirectory();
  const root = single ? dirname(target) : target;
  const files = single ? [target] : await listFiles(target);
  const outcomes: FileOutcome[] = [];
  // Two files that map to one id (notes.md and notes.pdf) would overwrite each other's versions.
  const idsTaken = new Map<string, string>();
  for (const [index, path] of files.entries()) {
    const name = relative(root, path).split(sep).join('/');
    options.onProgress?.({ path: name, index, total: files.length });
    try {
      const document = await readDocument(path, await readBytes(path));
      const meta = documentMeta(
        document.fields,
        {
          id: idFromPath(name),
          title: document.title?.slice(0, 300) ?? titleFromPath(basename(name)),
          owner: options.owner ?? options.actor,
          ...(options.collection === undefined ? {} : { collection: options.collection }),
        },
        name,
      );
      const sameId = idsTaken.get(meta.id);
      if (sameId !== undefined) {
        outcomes.push({ path: name, error: { code: 'validation_failed', detail: `id ${meta.id} is already taken by ${sameId}; give one of them an id in front matter` } });
        continue;
      }
      idsTaken.set(meta.id, name);
      const result = await corpus.ingestDocument({
        id: meta.id,
        collection: meta.collection,
        source: meta.source,
        owner: meta.owner,
        title: meta.title,
        content: document.content,
        contentType: document.contentType,
        actor: options.actor,
        approve: options.approve,
      });
      outcomes.push({ path: name, result });
    } catch (error) {
      const refused = refusal(error);
      if (refused === undefined) throw error;
      outcomes.push({ path: name, error: refused });
    }
  }
  return outcomes;
}

/**
 * First-start load of the bundled corpus/ directory: every file ingested and approved. A bundled file that the scanner
 * quarantines stays quarantined (it is reported, never force-approved) so a poisoned commit cannot bypass review.
 */
export async function bootstrapCorpus(corpus: Corpus, dir: string, actor: string): Promise<FileOutcome[]> {
  return ingestPath(corpus, dir, { approve: true, actor });
}
