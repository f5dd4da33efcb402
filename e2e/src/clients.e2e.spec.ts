import { connect } from 'node:net';
import { V1Client } from '@ringcloud/testing';
import { expectSuccess, newAccountId, useStack } from './support';

const world = useStack();

/** Sends exact bytes on a socket and returns the parsed HTTP answer (one request, Connection: close). */
function rawHttp(base: string, head: string[], body: string): Promise<{ status: number; body: any; raw: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const [headPart, ...rest] = raw.split('\r\n\r\n');
      const status = Number(headPart.split(' ')[1]);
      const text = rest.join('\r\n\r\n');
      let parsed: any;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      resolve({ status, body: parsed, raw });
    });
    socket.write([...head, `Host: ${hostname}:${port}`, `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close', '', body].join('\r\n'));
  });
}

describe('the article’s own client styles', () => {
  let rw: V1Client;
  beforeAll(async () => {
    rw = await world.client(newAccountId(), 'RW');
  });

  it('Python requests.post(url, data=json.dumps(data)): no Content-Type at all', async () => {
    const path = new URL(rw.url('/v1/users/create'));
    const body = JSON.stringify({ params: { password: 'Py7honPass', num: '601', mail: 'py@example.com' } });
    const res = await rawHttp(
      rw.baseUrl,
      [`POST ${path.pathname}${path.search} HTTP/1.1`, 'User-Agent: python-requests/2.31.0', 'Accept-Encoding: gzip, deflate', 'Accept: */*'],
      body.replace(/,/g, ', ').replace(/:/g, ': '), // json.dumps' default separators
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'success', message: null, data: expect.stringMatching(/^\d{10}$/) });
  });

  it('PHP curl with CURLOPT_POSTFIELDS as a string: application/x-www-form-urlencoded', async () => {
    const users = expectSuccess(await rw.get('/v1/users'));
    const user = users[0].user;
    const path = new URL(rw.url(`/v1/users/${user}/update_email`));
    const res = await rawHttp(
      rw.baseUrl,
      [`POST ${path.pathname}${path.search} HTTP/1.1`, 'Accept: */*', 'Content-Type: application/x-www-form-urlencoded'],
      JSON.stringify({ params: { mail: 'php@example.com' } }),
    );
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('success');
    expect(expectSuccess(await rw.get(`/v1/users/${user}`, { fresh: '1' })).mail).toBe('php@example.com');
  });

  it('a POST with an empty body where no params are needed', async () => {
    const users = expectSuccess(await rw.get('/v1/users', { n: '2' }));
    const path = new URL(rw.url(`/v1/users/${users[0].user}/voice_mail_box_on`));
    const res = await rawHttp(rw.baseUrl, [`POST ${path.pathname}${path.search} HTTP/1.1`, 'Accept: */*'], '');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('success');
  });

  it('JSON with text/plain and with application/json; charset=utf-8 alike', async () => {
    const users = expectSuccess(await rw.get('/v1/users', { n: '3' }));
    const u = users[0].user;
    const a = await rw.post(`/v1/users/${u}/update_password`, { password: 'Plain7ext' }, 'text/plain');
    expect(a.status).toBe(200);
    const b = await rw.post(`/v1/users/${u}/update_extension_number`, { num: '602' }, 'application/json; charset=utf-8');
    expect(b.status).toBe(200);
  });
});
