// A writable stream that keeps what was written, for CLI output and captured logs.
import { Writable } from 'node:stream';

export interface Capture {
  readonly stream: Writable;
  /** Everything written so far, as one string. */
  text(): string;
  /** Each write as it arrived (pino writes one line per write). */
  readonly writes: string[];
}

export function capture(): Capture {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      writes.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { stream, writes, text: () => writes.join('') };
}
