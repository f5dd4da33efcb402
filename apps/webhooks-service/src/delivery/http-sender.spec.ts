import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AddressGuard } from './address-guard';
import { HttpSender } from './http-sender';

describe('HttpSender', () => {
  let server: http.Server;
  let base: string;
  const seen: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  let answer: (res: http.ServerResponse) => void = (res) => res.writeHead(204).end();
  /** Connections accepted, and requests seen per connection. */
  let connections = 0;
  const requestsOn = new WeakMap<object, number>();
  /** Set: the server drops a kept-alive connection when a second request arrives on it. */
  let dropReused = false;
  /** Set: the server drops every connection on its first request. */
  let dropAll = false;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const n = (requestsOn.get(req.socket) ?? 0) + 1;
      requestsOn.set(req.socket, n);
      if (dropAll || (dropReused && n > 1)) return void req.socket.destroy();
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ headers: req.headers, body });
        answer(res);
      });
    });
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://localhost:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    sender.close();
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  });

  const sender = new HttpSender(new AddressGuard(true), 500);
  const literal = () => base.replace('localhost', '127.0.0.1');

  it('posts the body with its headers and the URL host, and reports 2xx', async () => {
    const result = await sender.post(`${base}/hook?x=1`, { 'webhook-id': 'evt_a' }, '{"a":1}');
    expect(result).toMatchObject({ status: 204 });
    expect(result.error).toBeUndefined();
    expect(seen.at(-1)).toMatchObject({ body: '{"a":1}', headers: { 'webhook-id': 'evt_a', host: expect.stringMatching(/^localhost:/) } });
  });

  it('reports other statuses, timeouts and refused connections as errors', async () => {
    answer = (res) => res.writeHead(500).end('x'.repeat(200_000));
    expect(await sender.post(`${base}/`, {}, '{}')).toMatchObject({ status: 500, error: 'HTTP 500' });
    answer = () => undefined; // never answers
    const slow = await sender.post(`${base}/`, {}, '{}');
    expect(slow).toMatchObject({ error: 'timeout: no answer within 500 ms' });
    expect(slow.latencyMs).toBeGreaterThanOrEqual(490);
    answer = (res) => res.writeHead(200).end();
    expect(await sender.post('http://127.0.0.1:1/', {}, '{}')).toMatchObject({ error: 'connection refused' });
  });

  it('never connects to a refused destination', async () => {
    const count = seen.length;
    const strict = new HttpSender(new AddressGuard(false), 500);
    expect(await strict.post(`${base}/`, {}, '{}')).toMatchObject({ refused: true, error: expect.stringMatching(/only https/) });
    expect(await strict.post(base.replace('http:', 'https:'), {}, '{}')).toMatchObject({ refused: true, error: expect.stringMatching(/loopback/) });
    expect(seen.length).toBe(count);
  });

  it('keeps the connection to a receiver alive between attempts', async () => {
    answer = (res) => res.writeHead(200).end('ok');
    const before = connections;
    for (let i = 0; i < 5; i++) expect(await sender.post(`${literal()}/kept`, {}, `{"i":${i}}`)).toMatchObject({ status: 200 });
    expect(connections - before).toBe(1);
  });

  it('sends once more on a new connection when a kept-alive one was closed by the receiver', async () => {
    answer = (res) => res.writeHead(200).end('ok');
    const count = seen.length;
    expect(await sender.post(`${literal()}/first`, {}, '{}')).toMatchObject({ status: 200 });
    dropReused = true;
    try {
      const before = connections;
      // The pooled connection is dropped by the receiver when this request arrives on it.
      const result = await sender.post(`${literal()}/again`, {}, '{"again":1}');
      expect(result).toMatchObject({ status: 200 });
      expect(connections - before).toBe(1);
      expect(seen.slice(count).map((r) => r.body)).toEqual(['{}', '{"again":1}']);
    } finally {
      dropReused = false;
    }
  });

  it('does not resend when a new connection is reset: that is the attempt\'s outcome', async () => {
    const fresh = new HttpSender(new AddressGuard(true), 500);
    dropAll = true;
    try {
      const before = connections;
      expect(await fresh.post(`${literal()}/reset`, {}, '{}')).toMatchObject({ error: 'connection reset by the receiver' });
      expect(connections - before).toBe(1);
    } finally {
      dropAll = false;
      fresh.close();
    }
  });
});
