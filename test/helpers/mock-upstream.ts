// A real OpenAI-compatible HTTP server for tests and benchmarks: the SDK's own timeouts and retries run against it.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createOpenAIModel, type OpenAIModelOptions } from '../../src/model/openai.js';
import type { ModelClient } from '../../src/model/types.js';

export interface ChatRequestBody {
  model: string;
  messages: Array<{ role: string; content: string }>;
  response_format?: { type: string; json_schema?: { name: string; strict?: boolean; schema: Record<string, unknown> } };
  max_completion_tokens?: number;
  [key: string]: unknown;
}

export type UpstreamBehaviour =
  | {
      readonly kind: 'answer';
      readonly content: string | ((request: ChatRequestBody) => string);
      readonly delayMs?: number;
      /** total_tokens reported in `usage` (default 150). */
      readonly totalTokens?: number;
    }
  | { readonly kind: 'status'; readonly status: number; readonly body?: unknown; readonly headers?: Record<string, string> }
  | { readonly kind: 'hang' }
  /** Raw bytes with the given headers (a compressed or oversized body); onClose says whether all of it was sent. */
  | { readonly kind: 'bytes'; readonly headers: Record<string, string>; readonly body: Buffer; readonly onClose?: (sentWhole: boolean) => void };

export interface MockUpstream {
  readonly baseURL: string;
  /** Every chat request received, in order (the body as the SDK sent it). */
  readonly requests: ChatRequestBody[];
  /** The Authorization header of each of those requests, in the same order. */
  readonly authorizations: Array<string | undefined>;
  /** Behaviours consumed one per request; the last one repeats. */
  setBehaviours(behaviours: readonly UpstreamBehaviour[]): void;
  close(): Promise<void>;
}

const readBody = async (req: IncomingMessage): Promise<string> => {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts).toString('utf8');
};

export const chatCompletion = (content: string, totalTokens = 150) => ({
  id: 'chatcmpl-mock',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'mock-model',
  choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop', logprobs: null }],
  usage: { prompt_tokens: Math.max(totalTokens - 30, 0), completion_tokens: Math.min(totalTokens, 30), total_tokens: totalTokens },
});

export async function startMockUpstream(initial: readonly UpstreamBehaviour[] = []): Promise<MockUpstream> {
  let behaviours = [...initial];
  const requests: ChatRequestBody[] = [];
  const authorizations: Array<string | undefined> = [];
  const hanging = new Set<import('node:http').ServerResponse>();
  const server: Server = createServer((req, res) => {
    void (async () => {
      const text = await readBody(req);
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'not found' } }));
        return;
      }
      const body = JSON.parse(text) as ChatRequestBody;
      requests.push(body);
      authorizations.push(req.headers.authorization);
      const behaviour = behaviours.length > 1 ? behaviours.shift() : behaviours[0];
      if (behaviour === undefined || behaviour.kind === 'hang') {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      if (behaviour.kind === 'bytes') {
        res.on('close', () => behaviour.onClose?.(res.writableFinished));
        res.writeHead(200, behaviour.headers);
        const CHUNK = 64 * 1024;
        for (let offset = 0; offset < behaviour.body.length && !res.destroyed; offset += CHUNK) {
          if (!res.write(behaviour.body.subarray(offset, offset + CHUNK))) await new Promise((resolve) => res.once('drain', resolve).once('close', resolve));
        }
        res.end();
        return;
      }
      if (behaviour.kind === 'status') {
        res.writeHead(behaviour.status, { 'content-type': 'application/json', ...behaviour.headers });
        res.end(JSON.stringify(behaviour.body ?? { error: { message: `mock status ${behaviour.status}`, type: 'mock' } }));
        return;
      }
      if (behaviour.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, behaviour.delayMs));
      const content = typeof behaviour.content === 'function' ? behaviour.content(body) : behaviour.content;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(chatCompletion(content, behaviour.totalTokens)));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    authorizations,
    setBehaviours(next) {
      behaviours = [...next];
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The chunk ids the prompt offered the model, in order, read from the data block of the user message. */
export const offeredChunkIds = (body: ChatRequestBody): string[] =>
  [...(body.messages[1]?.content ?? '').matchAll(/chunk_id="([^"]+)"/g)].map((match) => match[1] ?? '');

/** The OpenAI provider pointed at a mock upstream, with test-sized timeouts; pass overrides for retry tests. */
export const modelFor = (upstream: MockUpstream, overrides: Partial<OpenAIModelOptions> = {}): ModelClient =>
  createOpenAIModel({ apiKey: 'sk-test-not-a-real-key', baseURL: upstream.baseURL, model: 'mock-model', timeoutMs: 2_000, maxRetries: 0, ...overrides });

/** A support answer with `answer` set from the request, citing the first offered chunk. */
export const answering = (answer: (body: ChatRequestBody) => string) => (body: ChatRequestBody): string =>
  JSON.stringify({ answer: answer(body), citations: offeredChunkIds(body).slice(0, 1), confidence: 0.8, abstained: false });

/** A content draft with `body_html` set from the request, citing the first offered chunk. */
export const drafting = (bodyHtml: (body: ChatRequestBody) => string, overrides: Record<string, unknown> = {}) => (body: ChatRequestBody): string =>
  JSON.stringify({
    title: 'How refunds work',
    outline: ['Returns', 'Refund timing'],
    body_html: bodyHtml(body),
    meta_description: 'Refund timing for returned parcels.',
    citations: offeredChunkIds(body).slice(0, 1),
    status: 'draft',
    ...overrides,
  });
