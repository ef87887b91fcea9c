// Where the offline evaluation data lives: `../shared/evaldata` beside the clone (CI, /work/main), or one level further
// up when the clone is a worktree under a sibling folder; AIRLOCK_EVALDATA overrides both.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

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
