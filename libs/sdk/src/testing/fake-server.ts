import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the fake server saw. */
export interface SeenRequest {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

export type Handler = (req: SeenRequest, res: ServerResponse) => void | Promise<void>;

/** A real local HTTP server for the SDK's unit tests (retry timing, headers, bodies): no mocks of fetch. */
export interface FakeServer {
  url: string;
  requests: SeenRequest[];
  /** Answers in turn; the last one repeats. */
  reply(...handlers: Handler[]): void;
  close(): Promise<void>;
}

export async function startFakeServer(): Promise<FakeServer> {
  let handlers: Handler[] = [];
  const requests: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen: SeenRequest = {
        method: req.method ?? '',
        url: new URL(req.url ?? '/', 'http://localhost'),
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      const index = requests.push(seen) - 1;
      const handler = handlers[Math.min(index, handlers.length - 1)];
      if (!handler) {
        res.statusCode = 500;
        res.end('no handler');
        return;
      }
      Promise.resolve(handler(seen, res)).catch((err) => {
        res.statusCode = 500;
        res.end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    reply: (...next) => {
      handlers = next;
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A v1 JSON answer. */
export const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Handler =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

export const success = (data: unknown, headers: Record<string, string> = {}) => json(200, { status: 'success', message: null, data }, headers);
export const failure = (status: number, message: string, headers: Record<string, string> = {}) =>
  json(status, { status: 'error', message, data: null }, headers);
