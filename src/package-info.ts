// Where this package lives and its version: found by walking up from this module, so it holds under tsx (src/)
// and when built (dist/src/), from whatever directory the process was started in.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory holding the package.json of this package (its bundled policies, tasks and corpus sit beside it). */
export function packageRoot(): string | undefined {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  return undefined;
}

export function packageVersion(): string {
  const root = packageRoot();
  return root === undefined ? 'unknown' : (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}
