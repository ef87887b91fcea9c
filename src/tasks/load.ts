// Reads task folders from disk (AIRLOCK_TASKS_DIR): one folder per task, named after it, holding task.json and the
// files it names. Every folder is compiled at load; any problem in any folder stops the load, naming file and pointer.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compileTask, TaskLoadError, TASK_FILE, type TaskCompileDeps, type TaskIssue } from './compile.js';
import type { TaskDefinition } from './types.js';

/** Larger files are refused: a task folder holds schemas and instructions, not data. */
const MAX_FILE_BYTES = 256 * 1024;

/** The regular files of one task folder, by name. */
export function readTaskFolder(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isFile() || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (statSync(path).size > MAX_FILE_BYTES) throw new TaskLoadError([{ file: path, pointer: '', message: `larger than ${MAX_FILE_BYTES} bytes` }]);
    files[entry.name] = readFileSync(path, 'utf8');
  }
  return files;
}

/** Loads every task folder under `root`; throws one TaskLoadError listing the problems of every folder. */
export function loadTaskFolders(root: string, deps: TaskCompileDeps): TaskDefinition[] {
  let names: string[];
  try {
    names = readdirSync(root, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    throw new TaskLoadError([{ file: root, pointer: '', message: `cannot read the tasks folder (${(error as Error).message})` }]);
  }
  const tasks: TaskDefinition[] = [];
  const issues: TaskIssue[] = [];
  for (const name of names) {
    try {
      const files = readTaskFolder(join(root, name));
      if (files[TASK_FILE] === undefined) throw new TaskLoadError([{ file: `${name}/${TASK_FILE}`, pointer: '', message: 'a task folder needs a task.json' }]);
      tasks.push(compileTask(name, files, deps));
    } catch (error) {
      if (!(error instanceof TaskLoadError)) throw error;
      issues.push(...error.issues);
    }
  }
  if (issues.length > 0) throw new TaskLoadError(issues);
  if (tasks.length === 0) throw new TaskLoadError([{ file: root, pointer: '', message: 'no task folders (each task is a folder holding task.json)' }]);
  return tasks;
}
