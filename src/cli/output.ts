// CLI output: JSON for scripts (--json), aligned text for people, a progress bar on stderr for long work.
import type { Writable } from 'node:stream';

export interface CliIO {
  readonly out: Writable;
  readonly err: Writable;
  readonly json: boolean;
}

export function print(io: CliIO, value: unknown, human: () => string): void {
  io.out.write(io.json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

export function table(rows: readonly object[], columns: readonly string[]): string {
  if (rows.length === 0) return '(none)';
  const at = (row: object, column: string): unknown => (row as Record<string, unknown>)[column];
  const cell = (value: unknown): string => (value === null || value === undefined ? '-' : Array.isArray(value) ? value.join(',') : String(value));
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => cell(at(row, column)).length)));
  const line = (values: readonly string[]): string => values.map((value, i) => value.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(columns), ...rows.map((row) => line(columns.map((column) => cell(at(row, column)))))].join('\n');
}

/** A progress bar that only draws on a terminal, so logs and CI output stay clean. */
export function progressBar(io: CliIO, label: string): (done: number, total: number) => void {
  const tty = (io.err as Writable & { isTTY?: boolean }).isTTY === true;
  return (done, total) => {
    if (!tty || io.json) return;
    const width = 30;
    const filled = total === 0 ? width : Math.round((done / total) * width);
    io.err.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
    if (done >= total) io.err.write('\n');
  };
}

/** For work without a count: "label …" on a terminal, then "done" with the elapsed seconds. Silent under --json or a pipe. */
export function step(io: CliIO, label: string): () => void {
  const tty = (io.err as Writable & { isTTY?: boolean }).isTTY === true;
  if (!tty || io.json) return () => undefined;
  const started = Date.now();
  io.err.write(`${label} …`);
  return () => {
    io.err.write(` done (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  };
}
