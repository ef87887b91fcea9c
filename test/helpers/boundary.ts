// Shared pieces for the security-boundary tests: a movable clock, a model gate that holds a call until the test
// releases it, an upstream answer that cites a retrieved chunk, and one listening server for concurrent requests.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { ModelClient } from '../../src/model/types.js';
import type { ChatRequestBody } from './mock-upstream.js';

/** A clock the test moves by hand; starts at the real time so signed timestamps and ISO strings stay plausible. */
export interface ManualClock {
  readonly now: () => Date;
  advance(ms: number): void;
}

export function manualClock(start: Date = new Date()): ManualClock {
  let offset = 0;
  return {
    now: () => new Date(start.getTime() + offset),
    advance(ms) {
      offset += ms;
    },
  };
}

/** A valid support.answer reply citing the first refunds chunk the prompt offered, as a well-behaved model would. */
export const citeFirstChunk = (body: ChatRequestBody): string => {
  const chunkId = /refunds#[\w-]+/.exec(body.messages.map((message) => message.content).join('\n'))?.[0] ?? 'missing';
  return JSON.stringify({ answer: 'Refunds are paid within 5 business days.', citations: [chunkId], confidence: 0.9, abstained: false });
};

export interface GatedModel extends ModelClient {
  /** Resolves once `count` calls have reached the gate. */
  entered(count: number): Promise<void>;
  /** Lets every held call (and all later ones) through to the inner model. */
  open(): void;
}

/** Holds each model call at a gate so a test knows a request is in flight, without guessing at delays. */
export function gatedModel(inner: ModelClient): GatedModel {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let arrivals = 0;
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  return {
    provider: inner.provider,
    modelName: inner.modelName,
    async complete(request) {
      arrivals += 1;
      for (const waiter of waiters.filter((candidate) => candidate.count <= arrivals)) waiter.resolve();
      await gate;
      return inner.complete(request);
    },
    entered(count) {
      return count <= arrivals ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }));
    },
    open: () => release(),
  };
}

/** One real listening server for many parallel requests (supertest would open a server per request). */
export async function listen(app: Express): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Polls until `condition` holds; for waiting on another process, never for asserting speed. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, limitMs = 30_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Makes temporary directories for one test file (call at module level) and removes them all after its tests. */
export function tempDirs(prefix: string): () => string {
  const made: string[] = [];
  after(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}
