// Builds the check registry: a plain Map created by the composition root, never filled at import time.
import { builtInChecks } from './checks/index.js';
import type { AnyCheckDefinition, CheckRegistry } from './types.js';

/** A name → definition map; duplicate names are a programming error and throw. */
export function createCheckRegistry(definitions: readonly AnyCheckDefinition[] = builtInChecks): CheckRegistry {
  const registry = new Map<string, AnyCheckDefinition>();
  for (const definition of definitions) {
    if (registry.has(definition.name)) throw new Error(`duplicate check name: ${definition.name}`);
    registry.set(definition.name, definition);
  }
  return registry;
}
