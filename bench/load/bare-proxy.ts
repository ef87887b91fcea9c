// The floor: a bare node:http pass-through with a keep-alive agent, no parsing, no checks. Whatever Airlock or Portkey
// cost above this is their own work. Usage: node bench/load/bare-proxy.ts --upstream=http://127.0.0.1:N [--port=0]
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

const option = (name: string): string | undefined => process.argv.find((value) => value.startsWith(`--${name}=`))?.split('=').slice(1).join('=');
const upstream = new URL(option('upstream') ?? 'http://127.0.0.1:8000');
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

const server = createServer((req, res) => {
  const headers = { ...req.headers, host: upstream.host };
  const forward = request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: `${upstream.pathname.replace(/\/$/, '')}${req.url ?? '/'}`, headers, agent },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  forward.on('error', () => {
    if (!res.headersSent) res.writeHead(502).end();
    else res.destroy();
  });
  req.pipe(forward);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(option('port') ?? 0), '127.0.0.1', () => {
  process.stderr.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
