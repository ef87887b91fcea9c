// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by file, heaviest first.
// Usage: node --import tsx bench/load/profile-summary.ts <file.cpuprofile> [top=30]
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}
import { readFileSync } from 'node:fs';

const shortUrl = (url: string): string => {
  if (url === '') return '(native)';
  const nodeModules = url.lastIndexOf('node_modules/');
  if (nodeModules >= 0) return url.slice(nodeModules + 'node_modules/'.length);
  const src = url.search(/\/(src|bench|test)\//);
  return src >= 0 ? url.slice(src + 1) : url.replace(/^file:\/\//, '');
};

export function summariseProfile(file: string, top = 30): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  // Self time per node from the samples and their time deltas (more exact than hitCount × interval).
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i += 1) {
    const id = samples[i] ?? 0;
    self.set(id, (self.get(id) ?? 0) + (deltas[i + 1] ?? deltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((sum, value) => sum + value, 0);
  const functions = new Map<string, number>();
  const files = new Map<string, number>();
  for (const [id, micros] of self) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = shortUrl(url);
    const name = `${functionName || '(anonymous)'}  ${where}${url === '' ? '' : `:${lineNumber + 1}`}`;
    functions.set(name, (functions.get(name) ?? 0) + micros);
    const fileKey = url === '' ? functionName || '(native)' : where.startsWith('src/') || where.startsWith('bench/') ? where : where.split('/').slice(0, where.startsWith('@') ? 2 : 1).join('/');
    files.set(fileKey, (files.get(fileKey) ?? 0) + micros);
  }
  // Inclusive time: a node's self time plus its subtree's, counted once per function even when it recurses.
  const inclusive = new Map<string, number>();
  const nameOf = (node: ProfileNode): string => `${node.callFrame.functionName || '(anonymous)'}  ${shortUrl(node.callFrame.url)}`;
  const walk = (id: number, open: ReadonlySet<string>): number => {
    const node = byId.get(id);
    if (node === undefined) return 0;
    const name = nameOf(node);
    const inner = new Set(open).add(name);
    let sum = self.get(id) ?? 0;
    for (const child of node.children ?? []) sum += walk(child, inner);
    if (!open.has(name)) inclusive.set(name, (inclusive.get(name) ?? 0) + sum);
    return sum;
  };
  const root = profile.nodes[0];
  if (root !== undefined) walk(root.id, new Set());
  for (const name of [...inclusive.keys()]) if (!/ (src|bench)\//.test(name)) inclusive.delete(name);
  const rows = (map: Map<string, number>): string =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, micros]) => `${((100 * micros) / total).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(7)} ms  ${name}`)
      .join('\n');
  return `total sampled ${(total / 1000).toFixed(0)} ms\n\nself time by function:\n${rows(functions)}\n\nself time by file or package:\n${rows(files)}\n\ninclusive time of project functions:\n${rows(inclusive)}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, top] = process.argv.slice(2);
  if (file === undefined) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]');
  process.stdout.write(`${summariseProfile(file, Number(top ?? 30))}\n`);
}
