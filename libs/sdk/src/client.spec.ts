import { createServer } from 'node:net';
import { RingCloud, parseRecFile } from './client';
import {
  BadRequestError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  RateLimitError,
  RingCloudApiError,
  RingCloudNetworkError,
  RingCloudProtocolError,
  RingCloudTimeoutError,
  ServiceUnavailableError,
} from './errors';
import { v1Hash } from './auth';
import { FakeServer, failure, startFakeServer, success } from './testing/fake-server';
import { parseRetryAfter, SDK_VERSION } from './transport';

// A real HTTP server on 127.0.0.1 plays the gateway: what the SDK sends, and how it waits, is measured.
let server: FakeServer;
beforeAll(async () => {
  server = await startFakeServer();
});
afterAll(() => server.close());

const KEY = '1001_a1b2c3';
const PASSWORD = 's3cret';
const client = (extra: Partial<ConstructorParameters<typeof RingCloud>[0]> = {}) =>
  new RingCloud({ baseUrl: server.url, apiKey: KEY, password: PASSWORD, ...extra });
const caught = async (promise: Promise<unknown>) => promise.then(() => new Error('expected a rejection'), (err) => err);

describe('requests', () => {
  it('announces the package version it is', () => {
    expect(SDK_VERSION).toBe(require('../package.json').version);
  });

  it('sends the v1 credentials in the query and the params as {"params": …}', async () => {
    server.reply(success('1679728441'));
    const user = await client().users.create({ password: 'Sip5ecret1', num: '401', mail: 'a@example.com' });
    expect(user).toBe('1679728441');
    const [req] = server.requests;
    expect(req.method).toBe('POST');
    expect(req.url.pathname).toBe('/v1/users/create');
    expect(req.url.searchParams.get('api_key')).toBe(KEY);
    expect(req.url.searchParams.get('hash')).toBe(v1Hash(KEY, PASSWORD));
    expect(req.url.searchParams.has('password')).toBe(false);
    expect(JSON.parse(req.body)).toEqual({ params: { password: 'Sip5ecret1', num: '401', mail: 'a@example.com' } });
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['user-agent']).toContain(`ringcloud-sdk-js/${SDK_VERSION}`);
    expect(req.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('accepts a precomputed hash instead of the password', async () => {
    server.reply(success([]));
    await new RingCloud({ baseUrl: server.url, apiKey: KEY, hash: 'abc' }).users.list();
    expect(server.requests[0].url.searchParams.get('hash')).toBe('abc');
  });

  it('keeps a base URL path prefix and never doubles slashes', async () => {
    server.reply(success([]));
    await new RingCloud({ baseUrl: `${server.url}/ringcloud/`, apiKey: KEY, password: PASSWORD }).calls.active();
    expect(server.requests[0].url.pathname).toBe('/ringcloud/v1/calls/active');
  });

  it('encodes path parameters (a channel name keeps its / as %2F) and passes query parameters', async () => {
    server.reply(success({ Channel: 'PJSIP/1679728441-00000012' }));
    await client().calls.channel('PJSIP/1679728441-00000012');
    expect(server.requests[0].url.pathname).toBe('/v1/calls/channels/PJSIP%2F1679728441-00000012');
    server.reply(success([]));
    await client().calls.completed({ days: 2, num: '401' });
    expect(Object.fromEntries(server.requests[0].url.searchParams)).toEqual({ api_key: KEY, hash: v1Hash(KEY, PASSWORD), days: '2', num: '401' });
  });

  it('originate: generates an Idempotency-Key (a new one per call), or takes yours, or sends none; returns X-Call-Id', async () => {
    server.reply(success('Originate successfully queued', { 'x-call-id': 'pbx1:1795700987.2' }));
    const first = await client().calls.originate({ user: '1679728441', num: '79101234567', external_id: 'crm-42' });
    expect(first).toEqual({ message: 'Originate successfully queued', callId: 'pbx1:1795700987.2', idempotencyKey: expect.any(String), replayed: false });
    expect(server.requests[0].headers['idempotency-key']).toBe(first.idempotencyKey);
    expect(JSON.parse(server.requests[0].body)).toEqual({ params: { user: '1679728441', num: '79101234567', external_id: 'crm-42' } });

    server.reply(success('Originate successfully queued', { 'x-call-id': 'pbx1:1795700987.2', 'idempotent-replayed': 'true' }));
    const again = await client().calls.originate({ user: '1679728441', num: '79101234567' }, { idempotencyKey: first.idempotencyKey! });
    expect(again).toMatchObject({ idempotencyKey: first.idempotencyKey, replayed: true });
    expect(server.requests[0].headers['idempotency-key']).toBe(first.idempotencyKey);

    server.reply(success('Originate successfully queued'));
    const other = await client().calls.originate({ user: '1679728441', num: '79101234567' });
    expect(other.idempotencyKey).not.toBe(first.idempotencyKey);
    expect(other.callId).toBeNull();
    const none = await client().calls.originate({ user: '1679728441', num: '79101234567' }, { idempotencyKey: false });
    expect(none.idempotencyKey).toBeNull();
    expect(server.requests[1].headers['idempotency-key']).toBeUndefined();
  });

  it('downloads a recording by rec_file: bytes, type and file name', async () => {
    const wav = Buffer.from('RIFF....WAVEfmt ');
    server.reply((_req, res) => {
      res.writeHead(200, { 'content-type': 'audio/wav', 'content-disposition': 'attachment; filename="rec-1.wav"' });
      res.end(wav);
    });
    const file = await client().recordings.download('/v1/users/1679728441/records/rec-1.wav');
    expect(server.requests[0].url.pathname).toBe('/v1/users/1679728441/records/rec-1.wav');
    expect(file).toEqual({ data: new Uint8Array(wav), contentType: 'audio/wav', fileName: 'rec-1.wav', size: wav.length });
    expect(parseRecFile('https://h/v1/users/1/records/a.wav?x=1')).toEqual({ user: '1', file: 'a.wav' });
    expect(() => parseRecFile('/v1/calls')).toThrow(TypeError);
    const url = new URL(client().recordings.url('/v1/users/1679728441/records/rec-1.wav'));
    expect([url.pathname, url.searchParams.get('api_key')]).toEqual(['/v1/users/1679728441/records/rec-1.wav', KEY]);
  });

  it('admin operations send the bearer token and plain JSON; they refuse to run without it', async () => {
    server.reply(success({ api_key: '1001_x', password: 'p', access: 'RO' }));
    await new RingCloud({ baseUrl: server.url, adminToken: 'tok' }).adminKeysCreate({ path: { account_id: 1001 }, body: { access: 'RO' } });
    const [req] = server.requests;
    expect([req.method, req.url.pathname, req.url.search, req.headers.authorization]).toEqual(['POST', '/admin/v1/accounts/1001/keys', '', 'Bearer tok']);
    expect(JSON.parse(req.body)).toEqual({ access: 'RO' });
    await expect(client().adminAccountsList()).rejects.toThrow(/adminToken/);
    await expect(new RingCloud({ baseUrl: server.url }).users.list()).rejects.toThrow(/apiKey/);
  });
});

describe('errors', () => {
  it('are typed by status and carry the v1 message, status and request id — never the credentials', async () => {
    const cases: Array<[number, string, new (...args: any[]) => RingCloudApiError]> = [
      [400, 'Invalid email', BadRequestError],
      [403, 'Invalid hash', ForbiddenError],
      [404, 'User not found', NotFoundError],
      [503, 'Calls are not available yet', ServiceUnavailableError],
    ];
    for (const [status, message, Class] of cases) {
      server.reply(failure(status, message, { 'x-request-id': 'req-1', 'retry-after': '9' }));
      const err = await caught(client().users.get('1679728441', { retry: false }));
      expect(err).toBeInstanceOf(Class);
      expect(err).toBeInstanceOf(RingCloudApiError);
      expect(err).toMatchObject({ status, apiMessage: message, requestId: 'req-1', method: 'GET', path: '/v1/users/1679728441', retryAfter: 9 });
      expect(err.message).toBe(`${status} ${message} (GET /v1/users/1679728441)`);
      expect(JSON.stringify(err) + err.message + err.stack).not.toMatch(new RegExp(`${KEY}|${v1Hash(KEY, PASSWORD)}`));
    }
  });

  it('an empty error body (recording downloads) still gives the status and a reason', async () => {
    server.reply((_req, res) => {
      res.statusCode = 404;
      res.end();
    });
    const err = await caught(client().recordings.download({ user: '1679728441', file: 'x.wav' }));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).toMatchObject({ status: 404, apiMessage: 'Not found' });
  });

  it('a 200 that is not the v1 envelope is a protocol error', async () => {
    server.reply((_req, res) => void res.end('<html>proxy</html>'));
    expect(await caught(client().users.list())).toBeInstanceOf(RingCloudProtocolError);
  });

  it('a refused connection is a network error that names the request but not the credentials', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const err = await caught(new RingCloud({ baseUrl: `http://127.0.0.1:${port}`, apiKey: KEY, password: PASSWORD, retry: { maxAttempts: 2, baseDelayMs: 10 } }).users.list());
    expect(err).toBeInstanceOf(RingCloudNetworkError);
    expect(err.message).toMatch(/ECONNREFUSED/);
    expect(err.message).toContain('GET /v1/users');
    expect(err.message).not.toContain(KEY);
  });

  it('no answer within timeoutMs is a timeout error', async () => {
    server.reply(() => undefined); // never answers
    const started = Date.now();
    const err = await caught(client({ timeoutMs: 300, retry: { maxAttempts: 1 } }).users.list());
    expect(err).toBeInstanceOf(RingCloudTimeoutError);
    expect(Date.now() - started).toBeLessThan(15_000); // the default would be 30 s
  });
});

describe('retry policy', () => {
  it('waits Retry-After after a 429 and then succeeds', async () => {
    server.reply(failure(429, 'Too many requests', { 'retry-after': '1' }), success([]));
    expect(await client().users.list()).toEqual([]);
    const [first, second] = server.requests;
    expect(server.requests).toHaveLength(2);
    expect(second.at - first.at).toBeGreaterThanOrEqual(950);
  });

  it('gives up after maxAttempts with a RateLimitError carrying Retry-After', async () => {
    server.reply(failure(429, 'Too many requests', { 'retry-after': '1' }));
    const err = await caught(client({ retry: { maxAttempts: 2 } }).users.list());
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err).toMatchObject({ status: 429, retryAfter: 1, apiMessage: 'Too many requests' });
    expect(server.requests).toHaveLength(2);
  });

  it('does not wait longer than maxDelayMs or the maxElapsedMs budget: it throws at once', async () => {
    server.reply(failure(429, 'Too many requests', { 'retry-after': '60' }));
    const started = Date.now();
    const err = await caught(client({ retry: { maxDelayMs: 5_000 } }).users.create({ password: 'x', num: '1', mail: 'm' }));
    expect(err).toMatchObject({ status: 429, retryAfter: 60 });
    expect(server.requests).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(10_000); // a wait would be 60 s
    server.reply(failure(429, 'Too many requests', { 'retry-after': '2' }));
    expect(await caught(client({ retry: { maxElapsedMs: 1_000 } }).users.list())).toBeInstanceOf(RateLimitError);
    expect(server.requests).toHaveLength(1);
  });

  it('retry: false makes a single attempt', async () => {
    server.reply(failure(429, 'Too many requests', { 'retry-after': '1' }), success([]));
    expect(await caught(client().users.list({ retry: false }))).toBeInstanceOf(RateLimitError);
    expect(server.requests).toHaveLength(1);
  });

  it('retries a 503 only when repeating is safe: GETs and POSTs with an Idempotency-Key', async () => {
    const unavailable = failure(503, 'Service unavailable', { 'retry-after': '1' });
    server.reply(unavailable, success([]));
    expect(await client().calls.active()).toEqual([]);
    expect(server.requests).toHaveLength(2);

    server.reply(unavailable, success(null));
    expect(await caught(client().users.updateEmail('1679728441', 'a@b.c'))).toBeInstanceOf(ServiceUnavailableError);
    expect(server.requests).toHaveLength(1);

    server.reply(unavailable, success('Originate successfully queued'));
    await client().calls.originate({ user: '1679728441', num: '79101234567' });
    expect(server.requests).toHaveLength(2);
    // the retry repeats the same key: the server sees one request twice, never two originates
    expect(server.requests[1].headers['idempotency-key']).toBe(server.requests[0].headers['idempotency-key']);

    server.reply(unavailable, success([]));
    expect(await caught(client({ retry: { retryUnavailable: false } }).calls.active())).toBeInstanceOf(ServiceUnavailableError);

    // 409: the same key is still running elsewhere; retried with that key, never without one
    const running = failure(409, 'A request with this Idempotency-Key is still running', { 'retry-after': '1' });
    server.reply(running, success('Originate successfully queued'));
    await client().calls.originate({ user: '1679728441', num: '79101234567' }, { idempotencyKey: 'k-1' });
    expect(server.requests.map((r) => r.headers['idempotency-key'])).toEqual(['k-1', 'k-1']);
    server.reply(running, success(null));
    expect(await caught(client().users.updateEmail('1679728441', 'a@b.c'))).toBeInstanceOf(ConflictError);
    expect(server.requests).toHaveLength(1);
  });

  it('an abort signal stops a wait', async () => {
    server.reply(failure(429, 'Too many requests', { 'retry-after': '10' }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop')), 200);
    const started = Date.now();
    expect(await caught(client().users.list({ signal: controller.signal }))).toEqual(new Error('stop'));
    expect(Date.now() - started).toBeLessThan(8_000); // the wait would be 10 s
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3);
    expect(parseRetryAfter(new Date(Date.now() + 4_000).toUTCString())).toBeGreaterThanOrEqual(3);
    expect(parseRetryAfter('soon')).toBeNull();
    expect(parseRetryAfter(null)).toBeNull();
  });
});

describe('iterators', () => {
  it('walks users page by page through X-Next-Cursor', async () => {
    const user = (n: number) => ({ account_id: 1001, user: String(1679728440 + n), num: String(400 + n), mail: 'm@x.y', voice_mail_box: 'off', password: null });
    server.reply(success([user(1), user(2)], { 'x-next-cursor': 'c2' }), success([user(3)]));
    const seen: string[] = [];
    for await (const u of client().users.iterate({ limit: 2 })) seen.push(u.num);
    expect(seen).toEqual(['401', '402', '403']);
    expect(server.requests.map((r) => [r.url.searchParams.get('limit'), r.url.searchParams.get('cursor')])).toEqual([
      ['2', null],
      ['2', 'c2'],
    ]);
  });

  it('walks completed calls with their filters', async () => {
    server.reply(success([{ dst: '1' }], { 'x-next-cursor': 'n1' }), success([{ dst: '2' }]));
    const calls = [];
    for await (const c of client().calls.iterateCompleted({ days: 1, limit: 1 })) calls.push(c.dst);
    expect(calls).toEqual(['1', '2']);
    expect(server.requests[1].url.searchParams.get('days')).toBe('1');
    expect(server.requests[1].url.searchParams.get('cursor')).toBe('n1');
  });

  it('follows the event feed from a cursor, polling for new events until aborted', async () => {
    const event = (n: number) => ({ id: `evt_${String(n).padStart(26, 'a')}`, type: 'user.created', timestamp: '2026-12-03T04:00:00.000Z', account_id: 1001, data: {} });
    server.reply(
      success([event(1), event(2)], { 'x-next-cursor': event(2).id }),
      success([]),
      success([event(3)]),
      success([]),
    );
    const controller = new AbortController();
    const ids: string[] = [];
    const err = await caught(
      (async () => {
        for await (const e of client().events.iterate({ after: 'evt_start', limit: 2, follow: true, pollIntervalMs: 50 }, { signal: controller.signal })) {
          ids.push(e.id);
          if (ids.length === 3) setTimeout(() => controller.abort(new Error('done')), 100);
        }
      })(),
    );
    expect(err).toEqual(new Error('done'));
    expect(ids).toEqual([event(1).id, event(2).id, event(3).id]);
    const afters = server.requests.map((r) => r.url.searchParams.get('after'));
    expect(afters.slice(0, 4)).toEqual(['evt_start', event(2).id, event(2).id, event(3).id]);
  });

  it('without follow, the feed iterator ends at the last page', async () => {
    server.reply(success([]));
    const items = [];
    for await (const e of client().events.iterate()) items.push(e);
    expect(items).toEqual([]);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0].url.searchParams.has('after')).toBe(false);
  });
});
