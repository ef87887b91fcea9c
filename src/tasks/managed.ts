// Tasks served from the store's versions: the active version of every task, compiled once per version, reloaded
// whenever the store's generation moves (an activation in this process or any other). `refresh()` runs before every
// request that reads tasks, so a process serves an activation from its next request on, on SQLite and PostgreSQL alike;
// a request keeps the definition it looked up, so one already running finishes on its version.
import type { TaskVersionRecord, TaskVersionStore } from '../store/types.js';
import type { TaskRegistry } from './registry.js';
import type { TaskDefinition } from './types.js';

export interface ManagedTaskRegistry extends TaskRegistry {
  /** Reloads the active versions when the store's generation moved; one cheap read when it did not. */
  refresh(): Promise<void>;
}

export type CompileVersion = (record: TaskVersionRecord) => TaskDefinition;

export async function openManagedTaskRegistry(store: TaskVersionStore, compile: CompileVersion): Promise<ManagedTaskRegistry> {
  let generation = -1;
  let byName = new Map<string, TaskDefinition>();
  let listed: readonly TaskDefinition[] = [];
  // A version's files never change, so its compiled definition is kept for as long as it is active.
  let compiled = new Map<string, TaskDefinition>();
  let loading: Promise<void> | null = null;

  async function load(seen: number): Promise<void> {
    const records = await store.active();
    const next = new Map<string, TaskDefinition>();
    for (const record of records) {
      const key = `${record.name}@${record.version}`;
      next.set(key, compiled.get(key) ?? compile(record));
    }
    compiled = next;
    byName = new Map([...next.values()].map((task) => [task.name, task]));
    listed = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
    generation = seen;
  }

  async function refresh(): Promise<void> {
    const seen = await store.generation();
    if (seen === generation) return;
    // Concurrent requests share one reload instead of each compiling the same versions.
    loading ??= load(seen).finally(() => {
      loading = null;
    });
    await loading;
  }

  await refresh();
  return {
    refresh,
    get: (name) => byName.get(name),
    list: () => listed,
  };
}

/**
 * Boot: each task folder is imported as a version; a folder whose files match no stored version becomes the active
 * one (the files are what the operator deployed), and a task with no active version gets one. A restart with
 * unchanged folders changes nothing, so it never reverts an activation made through /admin/tasks or the CLI.
 */
export async function importTaskFolders(store: TaskVersionStore, folders: readonly TaskDefinition[], at: string): Promise<TaskVersionRecord[]> {
  const activated: TaskVersionRecord[] = [];
  const active = new Set((await store.active()).map((record) => record.name));
  for (const folder of folders) {
    const { record, created } = await store.importVersion({ name: folder.name, digest: folder.digest, files: folder.files, at, by: 'boot' });
    if (created || !active.has(folder.name)) {
      const made = await store.activate(folder.name, record.version, at, 'boot');
      if (made !== undefined) activated.push(made);
    }
  }
  return activated;
}
