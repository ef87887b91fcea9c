// Load-time rules for task schemas beyond "it compiles": input schemas must refuse unknown fields, and output
// schemas must stay inside the JSON Schema subset OpenAI strict structured outputs accept, so the schema in the
// file is exactly what is sent upstream and enforced here.
import { isObjectSchema, walkSchema } from './schema-walk.js';

export interface SchemaIssue {
  readonly pointer: string;
  readonly message: string;
}

/** Keywords OpenAI strict mode accepts (its Structured Outputs guide), plus string lengths, which Airlock enforces itself. */
const STRICT_OUTPUT_KEYWORDS = new Set([
  '$schema', '$defs', '$ref', 'type', 'description', 'title', 'properties', 'required', 'additionalProperties', 'items',
  'enum', 'const', 'anyOf', 'pattern', 'multipleOf', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum',
  'minItems', 'maxItems', 'minLength', 'maxLength',
]);
/** OpenAI's limit on object nesting in a strict schema. */
const MAX_OBJECT_DEPTH = 10;

/**
 * Fail closed on unknown fields: every object schema in an input schema must say `additionalProperties: false` (or
 * `unevaluatedProperties: false`). Refusing the file is explicit; silently adding the keyword would change what
 * combinators such as allOf mean.
 */
export function inputSchemaIssues(schema: unknown): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  for (const { node, pointer } of walkSchema(schema)) {
    if (pointer === '' && node['type'] !== 'object') issues.push({ pointer, message: 'the input schema must have "type": "object"' });
    if (isObjectSchema(node) && node['additionalProperties'] !== false && node['unevaluatedProperties'] !== false) {
      issues.push({ pointer, message: 'an input object must refuse unknown fields: add "additionalProperties": false' });
    }
    if (node['format'] !== undefined) issues.push({ pointer: `${pointer}/format`, message: formatMessage });
  }
  return issues;
}

// No format validator is installed; ignoring "format" would accept what the author meant to refuse.
const formatMessage = '"format" is not supported (Airlock would not enforce it); use "pattern"';

export function strictOutputIssues(schema: unknown): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  for (const { node, pointer, objectDepth } of walkSchema(schema)) {
    if (pointer === '' && node['type'] !== 'object') issues.push({ pointer, message: 'the output schema must have "type": "object" at its root' });
    for (const keyword of Object.keys(node)) {
      if (keyword === 'format') issues.push({ pointer: `${pointer}/format`, message: formatMessage });
      else if (!STRICT_OUTPUT_KEYWORDS.has(keyword)) issues.push({ pointer: `${pointer}/${keyword}`, message: `"${keyword}" is not supported by strict structured outputs` });
    }
    if (!isObjectSchema(node)) continue;
    if (objectDepth > MAX_OBJECT_DEPTH) issues.push({ pointer, message: `objects may nest at most ${MAX_OBJECT_DEPTH} deep` });
    if (node['additionalProperties'] !== false) issues.push({ pointer, message: 'strict mode needs "additionalProperties": false on every object' });
    const properties = Object.keys((node['properties'] ?? {}) as object);
    const required = new Set(Array.isArray(node['required']) ? (node['required'] as unknown[]) : []);
    const optional = properties.filter((name) => !required.has(name));
    if (optional.length > 0) {
      issues.push({ pointer: `${pointer}/required`, message: `strict mode needs every property required; missing: ${optional.join(', ')} (use a "null" type for optional values)` });
    }
  }
  return issues;
}
