// Walking the string leaves of a task input or model output: the one place that knows how field selectors
// ("answer", "outline") map onto nested values, shared by every check that reads or repairs text.
import { z } from 'zod';

export interface StringLeaf {
  /** Dotted/indexed path, e.g. `answer` or `outline[2]`. */
  readonly path: string;
  readonly text: string;
}

/** Config member shared by text checks: which top-level fields to read; null means every string field. */
export const FieldSelection = z
  .array(z.string().min(1))
  .nullable()
  .default(null)
  .describe('Top-level fields to inspect (a field holding an array or object covers its strings); null = all');
export type FieldSelection = z.infer<typeof FieldSelection>;

const selected = (fields: FieldSelection, key: string): boolean => fields === null || fields.includes(key);

function collect(node: unknown, path: string, into: StringLeaf[]): void {
  if (typeof node === 'string') into.push({ path, text: node });
  else if (Array.isArray(node)) node.forEach((item, index) => collect(item, `${path}[${index}]`, into));
  else if (node !== null && typeof node === 'object') {
    for (const [key, child] of Object.entries(node)) collect(child, `${path}.${key}`, into);
  }
}

/** Every string leaf under the selected top-level fields, in document order. */
export function stringLeaves(value: Readonly<Record<string, unknown>>, fields: FieldSelection = null): StringLeaf[] {
  const leaves: StringLeaf[] = [];
  for (const [key, child] of Object.entries(value)) if (selected(fields, key)) collect(child, key, leaves);
  return leaves;
}

function rewrite(node: unknown, path: string, transform: (text: string, path: string) => string): unknown {
  if (typeof node === 'string') return transform(node, path);
  if (Array.isArray(node)) return node.map((item, index) => rewrite(item, `${path}[${index}]`, transform));
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([key, child]) => [key, rewrite(child, `${path}.${key}`, transform)]));
  }
  return node;
}

/** A copy of `value` with `transform` applied to every string leaf under the selected fields. */
export function mapStrings(
  value: Readonly<Record<string, unknown>>,
  fields: FieldSelection,
  transform: (text: string, path: string) => string,
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(value).map(([key, child]) => [key, selected(fields, key) ? rewrite(child, key, transform) : child]),
  );
}
