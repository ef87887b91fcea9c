// Where the offline evaluation data lives: `../shared/evaldata` beside the clone (CI, /work/main), or one level further
// up when the clone is a worktree under a sibling folder; AIRLOCK_EVALDATA overrides both.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Corpus } from '../src/corpus/corpus.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const EVALDATA =
  process.env['AIRLOCK_EVALDATA'] ??
  [resolve(REPO_ROOT, '../shared/evaldata'), resolve(REPO_ROOT, '../../shared/evaldata')].find((path) => existsSync(path)) ??
  resolve(REPO_ROOT, '../shared/evaldata');

/** The `text` column of a simple RFC 4180 CSV with a header row. */
export function csvColumn(source: string, column: string): string[] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < source.length; i += 1) {
    const char = source[i];
    if (quoted) {
      if (char === '"' && source[i + 1] === '"') (field += '"'), (i += 1);
      else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') row.push(field), (field = '');
    else if (char === '\n') row.push(field), rows.push(row), (row = []), (field = '');
    else if (char !== '\r') field += char;
  }
  if (field !== '' || row.length > 0) row.push(field), rows.push(row);
  const [header = [], ...body] = rows;
  const index = header.indexOf(column);
  return body.map((cells) => cells[index] ?? '').filter(Boolean);
}

export const SQUAD_PART_A = join(EVALDATA, 'squad-v2', 'dev-v2.0-part-a.json');

export interface Squad {
  data: {
    title: string;
    paragraphs: { context: string; qas: { question: string; is_impossible: boolean; answers: { text: string }[] }[] }[];
  }[];
}

export const readSquad = (file: string): Squad => JSON.parse(readFileSync(file, 'utf8')) as Squad;

/** banking77 test texts: questions a bank's customers ask, off-topic for Wikipedia paragraphs and for a coffee shop. */
export const banking77 = (): string[] => csvColumn(readFileSync(join(EVALDATA, 'banking77', 'test.csv'), 'utf8'), 'text');

/** An answer's text for containment checks: lower-cased, punctuation and spacing folded. */
export const foldAnswer = (text: string): string => text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();

/**
 * Every SQuAD paragraph as an approved document `p<article>-<paragraph>` of `collection`. A paragraph the ingest scan
 * quarantines is a scanner false positive here and is approved anyway, so the figures measure retrieval and answering
 * alone; returns how many were.
 */
export async function ingestSquad(corpus: Corpus, squad: Squad, collection: string): Promise<number> {
  let quarantined = 0;
  for (const [a, article] of squad.data.entries()) {
    for (const [p, paragraph] of article.paragraphs.entries()) {
      const id = `p${a}-${p}`;
      const title = article.title.replaceAll('_', ' ');
      const result = await corpus.ingestDocument({ id, collection, source: `squad:${article.title}`, owner: 'eval', title, content: paragraph.context, contentType: 'text', actor: 'eval', approve: true });
      if (result.version.state !== 'quarantined') continue;
      quarantined += 1;
      await corpus.approve(id, result.version.version, 'eval');
    }
  }
  return quarantined;
}
