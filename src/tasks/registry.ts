// The tasks a process serves, by name. A lookup returns the whole definition, so a request that started on one
// version finishes on it even if another version becomes active meanwhile.
import type { TaskDefinition } from './types.js';

export interface TaskRegistry {
  get(name: string): TaskDefinition | undefined;
  /** Sorted by name; the same array until the set of active versions changes. */
  list(): readonly TaskDefinition[];
  /** Picks up versions activated since the last call (store-backed registries; see managed.ts). */
  refresh?(): Promise<void>;
}

export function createTaskRegistry(tasks: readonly TaskDefinition[]): TaskRegistry {
  const byName = new Map(tasks.map((task) => [task.name, task]));
  const listed = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  return {
    get: (name) => byName.get(name),
    list: () => listed,
  };
}
