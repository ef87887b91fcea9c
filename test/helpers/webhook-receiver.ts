// A webhook receiver on loopback for the outbound webhook tests: records every request (headers and raw body) and
// answers from a script of statuses, then 200.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedAnswer {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface ReceivedWebhook {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly answered: number;
}

export interface WebhookReceiver {
  readonly url: string;
  readonly port: number;
  readonly received: ReceivedWebhook[];
  /** Replaces what the next requests are answered with. */
  script(answers: ReadonlyArray<number | ScriptedAnswer>): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(answers: ReadonlyArray<number | ScriptedAnswer> = []): Promise<WebhookReceiver> {
  let queue = [...answers];
  const received: ReceivedWebhook[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      const next = queue.shift() ?? 200;
      const answer: ScriptedAnswer = typeof next === 'number' ? { status: next } : next;
      received.push({ headers: req.headers as Record<string, string>, body: Buffer.concat(parts).toString('utf8'), answered: answer.status });
      res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers }).end(answer.body ?? 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/airlock`,
    port,
    received,
    script(next) {
      queue = [...next];
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
