// Visits every subschema of a JSON Schema (draft 2020-12) with its JSON pointer, so load-time checks can name the
// exact place of a problem in the author's file.
import { jsonPointer } from '../errors.js';

export type JsonSchemaNode = Readonly<Record<string, unknown>>;

const SCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'dependentSchemas'] as const;
const SCHEMA_SINGLES = ['additionalProperties', 'items', 'contains', 'not', 'if', 'then', 'else', 'propertyNames', 'unevaluatedItems', 'unevaluatedProperties', 'contentSchema'] as const;
const SCHEMA_LISTS = ['prefixItems', 'allOf', 'anyOf', 'oneOf'] as const;

const isNode = (value: unknown): value is JsonSchemaNode => typeof value === 'object' && value !== null && !Array.isArray(value);


export interface SchemaVisit {
  readonly node: JsonSchemaNode;
  readonly pointer: string;
  /** How many object schemas enclose this one (the root object is depth 1). */
  readonly objectDepth: number;
}

export function* walkSchema(root: unknown, pointer = '', objectDepth = 0): Generator<SchemaVisit> {
  if (!isNode(root)) return;
  const depth = isObjectSchema(root) ? objectDepth + 1 : objectDepth;
  yield { node: root, pointer, objectDepth: depth };
  for (const keyword of SCHEMA_MAPS) {
    const map = root[keyword];
    if (!isNode(map)) continue;
    for (const [name, child] of Object.entries(map)) yield* walkSchema(child, `${pointer}${jsonPointer([keyword, name])}`, depth);
  }
  for (const keyword of SCHEMA_SINGLES) yield* walkSchema(root[keyword], `${pointer}/${keyword}`, depth);
  for (const keyword of SCHEMA_LISTS) {
    const list = root[keyword];
    if (!Array.isArray(list)) continue;
    for (const [i, child] of list.entries()) yield* walkSchema(child, `${pointer}/${keyword}/${i}`, depth);
  }
}

export const isObjectSchema = (node: JsonSchemaNode): boolean => {
  const type = node['type'];
  return type === 'object' || (Array.isArray(type) && type.includes('object')) || isNode(node['properties']);
};
