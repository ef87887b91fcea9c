// The load benchmark's OpenAI-compatible upstream: POST …/chat/completions answers at once (or after --delay-ms) with a
// small completion whose content satisfies support.answer's output contract. It cites the first chunk_id found in
// the prompt, so Airlock's citations_retrieved check passes; requests without chunks get an empty citation list.
// Unlike test/helpers/mock-upstream.ts it keeps no request log, so memory stays flat under load.
// Usage: node --import tsx bench/load/mock-upstream.ts [--port=0] [--delay-ms=0]   → prints {"port":N} on stderr
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const arg = (name: string, fallback: number): number => {
  const found = process.argv.find((value) => value.startsWith(`--${name}=`));
  return found === undefined ? fallback : Number(found.split('=')[1]);
};
const delayMs = arg('delay-ms', 0);
const CHUNK_ID = /chunk_id="([^"]+)"/;

interface ChatBody {
  messages?: Array<{ role?: string; content?: unknown }>;
}

function completion(citations: string[]): string {
  const content = JSON.stringify({ answer: 'Open Settings, choose Billing and follow the steps in the cited article.', citations, confidence: 0.82, abstained: false });
  return JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'mock-model',
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop', logprobs: null }],
    usage: { prompt_tokens: 900, completion_tokens: 40, total_tokens: 940 },
  });
}

const server = createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on('data', (part: Buffer) => parts.push(part));
  req.on('end', () => {
    if (req.method !== 'POST' || req.url?.endsWith('/chat/completions') !== true) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
      return;
    }
    let body: ChatBody;
    try {
      body = JSON.parse(Buffer.concat(parts).toString('utf8')) as ChatBody;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"bad json"}}');
      return;
    }
    const user = body.messages?.find((message) => message.role === 'user')?.content;
    const cited = typeof user === 'string' ? CHUNK_ID.exec(user)?.[1] : undefined;
    const payload = completion(cited === undefined ? [] : [cited]);
    const send = (): void => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }).end(payload);
    };
    if (delayMs > 0) setTimeout(send, delayMs);
    else send();
  });
});
server.keepAliveTimeout = 65_000;
server.listen(arg('port', 0), '127.0.0.1', () => {
  process.stderr.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
