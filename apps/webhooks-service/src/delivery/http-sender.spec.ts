import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AddressGuard } from './address-guard';
import { HttpSender } from './http-sender';

describe('HttpSender', () => {
  let server: http.Server;
  let base: string;
  const seen: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  let answer: (res: http.ServerResponse) => void = (res) => res.writeHead(204).end();

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ headers: req.headers, body });
        answer(res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://localhost:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  const sender = new HttpSender(new AddressGuard(true), 500);

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
});
