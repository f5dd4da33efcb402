import { Logger, LoggerService } from '@nestjs/common';
import { DomainError } from '@ringcloud/contracts-common';
import {
  UsersApiKeyVerify,
  UsersUserCreate,
  UsersUserGet,
  UsersUserListPage,
  UsersUserSetVoicemail,
  UsersUserUpdateEmail,
  UsersUserUpdateExtension,
} from '@ringcloud/contracts-users';
import { FakeUsers, md5 } from '../testing/fake-users-service';
import {
  call,
  errorEnvelope,
  GatewayRig,
  rawCall,
  rawSocket,
  startGatewayRig,
  successEnvelope,
  TestGateway,
} from '../testing/gateway';

/**
 * The v1 contract end to end through a real gateway, real NATS and real Redis, with a fake
 * users-service answering on NATS. Limits are widened (bench profile) so that repeated calls to the
 * same URL test everything but the limiter (see rate-limit.gateway.spec.ts).
 */
describe('v1 HTTP contract', () => {
  let rig: GatewayRig;
  let fake: FakeUsers;
  let gw: TestGateway;
  let rw: ReturnType<FakeUsers['addKey']>;
  let ro: ReturnType<FakeUsers['addKey']>;
  let alice: string;
  const lines: string[] = [];

  beforeAll(async () => {
    rig = await startGatewayRig({ RATE_LIMIT_PROFILE: 'bench', BODY_LIMIT_BYTES: '65536' });
    ({ fake, gateways: [gw] } = rig);
    const capture: LoggerService = {
      log: (m: unknown) => lines.push(String(m)),
      error: (m: unknown) => lines.push(String(m)),
      warn: (m: unknown) => lines.push(String(m)),
    };
    gw.app.useLogger(capture);
    rw = fake.addKey(1001, 'RW');
    ro = fake.addKey(1001, 'RO');
    alice = fake.addUser(1001, '401');
    fake.addUser(1002, '401'); // another tenant
  }, 30_000);

  afterAll(async () => {
    await rig?.close();
    Logger.overrideLogger(['error', 'warn', 'log']);
  });

  const get = (path: string, auth = rw.auth) => call(gw.url, 'GET', `${path}${path.includes('?') ? '&' : '?'}${auth}`);
  const post = (path: string, body?: string, headers?: Record<string, string>, auth = rw.auth) =>
    call(gw.url, 'POST', `${path}?${auth}`, { body, headers });

  describe('routing', () => {
    it('answers 404 with the envelope for unknown URLs', async () => {
      for (const path of ['/v1/nope', '/v1/users/1679728441/nope', '/v2/users', '/', '/v1']) {
        const res = await call(gw.url, 'GET', `${path}?${rw.auth}`);
        expect([path, res.status, res.body]).toEqual([path, 404, errorEnvelope('Not found')]);
      }
    });

    it('answers 405 with Allow for any other method on a known URL, before authentication', async () => {
      const cases: Array<[string, string, string]> = [
        ['POST', '/v1/users', 'GET'],
        ['PUT', '/v1/users', 'GET'],
        ['DELETE', `/v1/users/${alice}`, 'GET'],
        ['PATCH', `/v1/users/${alice}/update_email`, 'POST'],
        ['GET', '/v1/users/create', 'POST'],
        ['GET', '/v1/calls', 'POST'],
        ['OPTIONS', '/v1/calls/active', 'GET'],
      ];
      for (const [method, path, allow] of cases) {
        const res = await call(gw.url, method, path); // no api_key at all
        expect([method, path, res.status, res.headers.get('allow'), res.body]).toEqual([
          method,
          path,
          405,
          allow,
          errorEnvelope('Method not allowed'),
        ]);
      }
      const head = await call(gw.url, 'HEAD', '/v1/users');
      expect([head.status, head.headers.get('allow')]).toEqual([405, 'GET']);
    });
  });

  describe('authentication and access', () => {
    it('refuses each case with its own 403 message', async () => {
      const unknownKey = `1001_${'a'.repeat(16)}`;
      const cases: Array<[string, string]> = [
        ['', 'API key is not specified'],
        ['api_key=', 'API key is not specified'],
        [`api_key=${rw.api_key}`, 'Hash is not specified'],
        [`api_key=${rw.api_key}&hash=`, 'Hash is not specified'],
        [`api_key=${unknownKey}&hash=${md5(unknownKey + 'x')}`, 'API key does not exist'],
        [`api_key=not-a-key&hash=${md5('x')}`, 'API key does not exist'],
        [`api_key=${rw.api_key}&hash=${md5(rw.api_key + 'wrong')}`, 'Invalid hash'],
        [`api_key=${rw.api_key}&hash=${'z'.repeat(500)}`, 'Invalid hash'],
      ];
      for (const [query, message] of cases) {
        const res = await call(gw.url, 'GET', `/v1/users?${query}`);
        expect([query, res.status, res.body]).toEqual([query, 403, errorEnvelope(message)]);
      }
    });

    it('tells a disabled key so only to a caller with the right hash', async () => {
      const key = fake.addKey(1001, 'RW', false);
      expect((await get('/v1/users', key.auth)).body).toEqual(errorEnvelope('API key is disabled'));
      const wrong = `api_key=${key.api_key}&hash=${md5(key.api_key + 'nope')}`;
      expect((await get('/v1/users', wrong)).body).toEqual(errorEnvelope('Invalid hash'));
    });

    it('lets a RO key read but not write, and hides SIP passwords from it', async () => {
      const denied = await post(`/v1/users/${alice}/voice_mail_box_on`, undefined, undefined, ro.auth);
      expect([denied.status, denied.body]).toEqual([403, errorEnvelope('API key is read-only')]);
      const asRo = await get(`/v1/users/${alice}`, ro.auth);
      expect(asRo.status).toBe(200);
      expect(asRo.body.data).toMatchObject({ user: alice, account_id: 1001, num: '401', password: null });
      const asRw = await get(`/v1/users/${alice}`);
      expect(asRw.body.data.password).toBe('Secret123');
      const list = await get('/v1/users', ro.auth);
      expect(list.body.data.map((u: any) => [u.user, u.password])).toEqual([[alice, null]]);
    });

    it('answers 403 before looking at the body', async () => {
      const res = await call(gw.url, 'POST', '/v1/users/create?api_key=x', { body: '{broken' });
      expect([res.status, res.body.message]).toEqual([403, 'Hash is not specified']);
    });
  });

  describe('bodies', () => {
    const params = (p: unknown) => JSON.stringify({ params: p });

    it('reads JSON whatever the Content-Type (none, form-urlencoded, text/plain, garbage)', async () => {
      const contentTypes: Array<Record<string, string> | undefined> = [
        undefined,
        { 'Content-Type': 'application/x-www-form-urlencoded' },
        { 'Content-Type': 'text/plain' },
        { 'Content-Type': 'application/json' },
        { 'Content-Type': 'this is ;; not a media type' },
      ];
      for (const [i, headers] of contentTypes.entries()) {
        const mail = `ct${i}@example.com`;
        const res = await post(`/v1/users/${alice}/update_email`, params({ mail }), headers);
        expect([headers, res.status, res.body]).toEqual([headers, 200, successEnvelope(null)]);
        expect(fake.users.get(alice)!.mail).toBe(mail);
      }
    });

    it('accepts an empty body where no params are needed', async () => {
      expect((await post(`/v1/users/${alice}/voice_mail_box_on`)).body).toEqual(successEnvelope(null));
      expect(fake.users.get(alice)!.voice_mail_box).toBe('on');
      expect((await post(`/v1/users/${alice}/voice_mail_box_off`, '')).status).toBe(200);
      expect(fake.users.get(alice)!.voice_mail_box).toBe('off');
    });

    it('answers 400 for malformed JSON and missing or ill-typed params, without asking the service', async () => {
      const before = fake.count(UsersUserUpdateExtension.subject);
      const emailsBefore = fake.count(UsersUserUpdateEmail.subject);
      const cases: Array<[string | undefined, string]> = [
        ['{"params": {"num": "402"', 'Malformed JSON body'],
        ['num=402', 'Malformed JSON body'],
        [undefined, 'params is required'],
        ['{}', 'params is required'],
        ['[1,2]', 'Body must be a JSON object of the form {"params": {...}}'],
        ['"text"', 'Body must be a JSON object of the form {"params": {...}}'],
        ['null', 'Body must be a JSON object of the form {"params": {...}}'],
        [params(null), 'params must be an object'],
        [params(['402']), 'params must be an object'],
        [params('402'), 'params must be an object'],
        [params({}), 'num is required'],
        [params({ num: true }), 'num must be a string of 2 to 6 digits'],
        [params({ num: '4' }), 'num must be a string of 2 to 6 digits'],
        [params({ num: 1e400 }), 'num must be a string of 2 to 6 digits'],
        [params({ num: 123456789012345678901234567890 }), 'num must be a string of 2 to 6 digits'],
        [params({ num: '40\r\n1' }), 'num must be a string of 2 to 6 digits'],
        [params({ num: { $gt: '' } }), 'num must be a string of 2 to 6 digits'],
      ];
      for (const [body, message] of cases) {
        const res = await post(`/v1/users/${alice}/update_extension_number`, body);
        expect([body, res.status, res.body]).toEqual([body, 400, errorEnvelope(message)]);
      }
      expect(fake.count(UsersUserUpdateExtension.subject)).toBe(before);
      const mail = await post(`/v1/users/${alice}/update_email`, params({ mail: 5 }));
      expect(mail.body).toEqual(errorEnvelope('mail must be a string'));
      const invalid = await post(`/v1/users/${alice}/update_email`, params({ mail: 'not-an-email' }));
      expect(invalid.body).toEqual(errorEnvelope('mail is not a valid email address'));
      expect(fake.count(UsersUserUpdateEmail.subject)).toBe(emailsBefore);
    });

    it('accepts a body that starts with a UTF-8 byte order mark', async () => {
      const res = await post(`/v1/users/${alice}/update_email`, `\uFEFF${params({ mail: 'bom@example.com' })}`);
      expect([res.status, res.body]).toEqual([200, successEnvelope(null)]);
      expect(fake.users.get(alice)!.mail).toBe('bom@example.com');
    });

    it('answers 400 for a NUL in any field, a webhook url included (PostgreSQL cannot store it)', async () => {
      const mails = fake.count(UsersUserUpdateEmail.subject);
      const cases: Array<[string, string, string]> = [
        ['/v1/webhooks/create', params({ url: 'https://example.com/a\u0000b', events: ['*'] }), 'params.url must not contain NUL characters'],
        ['/v1/webhooks/wh_aaaaaaaaaaaaaaaaaaaaaaaaaa/update', params({ url: 'https://example.com/a\u0000b' }), 'params.url must not contain NUL characters'],
        [`/v1/users/${alice}/update_email`, params({ mail: 'a\u0000@example.com' }), 'params.mail must not contain NUL characters'],
      ];
      for (const [path, body, message] of cases) {
        const res = await post(path, body);
        expect([path, res.status, res.body]).toEqual([path, 400, errorEnvelope(message)]);
      }
      expect(fake.count(UsersUserUpdateEmail.subject)).toBe(mails);
    });

    it('answers 400 for a webhook url with control characters or port 0, before any service', async () => {
      const cases: Array<[string, string, string]> = [
        ['/v1/webhooks/create', params({ url: 'http://127.0.0.1:8000/a\u0007b\u001b[31m', events: ['*'] }), 'url must not contain control characters'],
        ['/v1/webhooks/create', params({ url: 'https://example.com:0/h', events: ['*'] }), 'url must not use port 0'],
        ['/v1/webhooks/wh_aaaaaaaaaaaaaaaaaaaaaaaaaa/update', params({ url: 'https://example.com/\u001b[31m' }), 'url must not contain control characters'],
        ['/v1/webhooks/wh_aaaaaaaaaaaaaaaaaaaaaaaaaa/update', params({ url: 'https://example.com:0/h' }), 'url must not use port 0'],
      ];
      for (const [path, body, message] of cases) {
        const res = await post(path, body);
        expect([body, res.status, res.body]).toEqual([body, 400, errorEnvelope(message)]);
      }
    });

    it('accepts digits as a JSON number (loosely typed clients)', async () => {
      const res = await post(`/v1/users/${alice}/update_extension_number`, params({ num: 402 }));
      expect(res.body).toEqual(successEnvelope(null));
      expect(fake.users.get(alice)!.num).toBe('402');
    });

    it('answers 413 for a body over the limit (1 MB)', async () => {
      const res = await post(`/v1/users/${alice}/update_email`, JSON.stringify({ params: { mail: 'x'.repeat(1024 * 1024) } }));
      expect([res.status, res.body]).toEqual([413, errorEnvelope('Request body is too large')]);
    });

    it('survives deeply nested and invalid UTF-8 bodies with a 400', async () => {
      const deep = '{"params":' + '['.repeat(30000) + ']'.repeat(30000) + '}';
      expect((await post(`/v1/users/${alice}/update_email`, deep)).status).toBe(400);
      const res = await fetch(`${gw.url}/v1/users/${alice}/update_email?${rw.auth}`, {
        method: 'POST',
        body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
      });
      expect(res.status).toBe(400);
    });
  });

  describe('paths', () => {
    it('answers 404 "User not found" for a malformed user name, without asking the service', async () => {
      const before = fake.count(UsersUserGet.subject);
      for (const user of ['abc', '0123456', '1679728441x', '%20', 'a'.repeat(10000), '..%2F..%2Fetc%2Fpasswd', '%0D%0A']) {
        const res = await get(`/v1/users/${user}`);
        expect([user.slice(0, 20), res.status, res.body]).toEqual([user.slice(0, 20), 404, errorEnvelope('User not found')]);
      }
      expect(fake.count(UsersUserGet.subject)).toBe(before);
    });

    it('answers 404 (never 500) for traversal and garbage in the path', async () => {
      const paths = [
        `/v1/users/%?${rw.auth}`,
        `/v1/users/%E0%A4%A?${rw.auth}`,
        `/v1/users/%C3%28?${rw.auth}`,
        `/v1/users/../../etc/passwd?${rw.auth}`,
        `/v1/users/${alice}/records/../../../etc/passwd?${rw.auth}`,
        `/v1/users/${alice}/records/..%2F..%2Fetc%2Fpasswd?${rw.auth}`,
        `/v1/users/${alice}/records/%2e%2e?${rw.auth}`,
        `/v1/calls/channels/PJSIP%2F%0D%0AAction:%20Hangup?${rw.auth}`,
        `/v1/${'x'.repeat(10000)}?${rw.auth}`,
      ];
      for (const path of paths) {
        const res = await rawCall(gw.url, 'GET', path);
        expect([path.slice(0, 60), res.status]).toEqual([path.slice(0, 60), 404]);
      }
      // Repeated slashes merge (as nginx does): this is the update_email URL, which takes POST only.
      expect((await rawCall(gw.url, 'GET', `/v1/users/${alice}//update_email?${rw.auth}`)).status).toBe(405);
    });

    it('merges leading repeated slashes too (a base URL ending in / joined with /v1/…)', async () => {
      for (const path of [`//v1/users?${rw.auth}`, `///v1//users/${alice}?${rw.auth}`]) {
        const res = await rawCall(gw.url, 'GET', path);
        expect([path.slice(0, 40), res.status]).toEqual([path.slice(0, 40), 200]);
      }
      expect((await rawCall(gw.url, 'GET', `//v1/nope?${rw.auth}`)).status).toBe(404);
    });

    it('answers what the HTTP parser refuses with the envelope (400), and unknown methods with 405', async () => {
      const requests = [
        'GET /v1/users/a\rb HTTP/1.1\r\nHost: x\r\n\r\n',
        'GET /v1/users/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n',
        'POST /v1/users/create HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
        'POST /v1/users/create HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      ];
      for (const request of requests) {
        const answer = await rawSocket(gw.url, Buffer.from(request, 'latin1'));
        expect([request, answer.split('\r\n')[0], answer.split('\r\n\r\n')[1]]).toEqual([
          request,
          'HTTP/1.1 400 Bad Request',
          JSON.stringify(errorEnvelope('Bad request')),
        ]);
      }
      const query = await rawSocket(gw.url, 'QUERY /v1/users HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(query).toMatch(/^HTTP\/1\.1 405 [\s\S]*allow: GET/i);
    });

    it('serves a request target in absolute form (RFC 9112 3.2.2: a server must accept it) like its path', async () => {
      for (const target of [`http://gateway.example/v1/users?${rw.auth}`, `HTTPS://gateway.example:8443/v1/users?${rw.auth}`]) {
        const answer = await rawSocket(gw.url, `GET ${target} HTTP/1.1\r\nHost: gateway.example\r\nConnection: close\r\n\r\n`);
        expect([target, answer.split('\r\n')[0], JSON.parse(answer.split('\r\n\r\n')[1]).status]).toEqual([target, 'HTTP/1.1 200 OK', 'success']);
      }
      const bare = await rawSocket(gw.url, `GET http://gateway.example HTTP/1.1\r\nHost: gateway.example\r\nConnection: close\r\n\r\n`);
      expect(bare.split('\r\n')[0]).toBe('HTTP/1.1 404 Not Found');
    });

    it('answers 404 for another tenant\'s user (the service decides)', async () => {
      const other = [...fake.users.values()].find((u) => u.account_id === 1002)!.user;
      const res = await get(`/v1/users/${other}`);
      expect([res.status, res.body]).toEqual([404, errorEnvelope('User not found')]);
    });
  });

  describe('user functions', () => {
    it('lists every user of a large account without limit (a list bigger than one NATS message)', async () => {
      const big = fake.addKey(1003, 'RW');
      for (let i = 0; i < 9000; i++) fake.addUser(1003, String(100000 + i), `user${i}@a-rather-long-domain-name.example.com`);
      const res = await get('/v1/users', big.auth);
      expect([res.status, res.body.data?.length]).toEqual([200, 9000]);
      expect(res.body.data[8999]).toMatchObject({ account_id: 1003, num: '108999' });
    }, 30_000);

    it('creates a user and returns its name as data', async () => {
      const res = await post('/v1/users/create', JSON.stringify({ params: { password: 'N3wPassw0rd', num: '455', mail: 'new@example.com' } }));
      expect(res.status).toBe(200);
      expect(res.body).toEqual(successEnvelope(expect.stringMatching(/^\d+$/)));
      expect(fake.users.get(res.body.data)).toMatchObject({ account_id: 1001, num: '455', mail: 'new@example.com' });
    });

    it('refuses a weak password before asking the service', async () => {
      const before = fake.count(UsersUserCreate.subject);
      const res = await post('/v1/users/create', JSON.stringify({ params: { password: 'abc', num: '456', mail: 'a@example.com' } }));
      expect([res.status, res.body.message]).toEqual([400, expect.stringMatching(/too weak/)]);
      expect(fake.count(UsersUserCreate.subject)).toBe(before);
    });

    it('passes the service\'s own 400 through (duplicate extension)', async () => {
      const num = fake.users.get(alice)!.num;
      const res = await post('/v1/users/create', JSON.stringify({ params: { password: 'N3wPassw0rd', num, mail: 'b@example.com' } }));
      expect([res.status, res.body]).toEqual([400, errorEnvelope(`extension ${num} is already used`)]);
    });

    it('changes password, extension and email, each answering data null', async () => {
      expect((await post(`/v1/users/${alice}/update_password`, JSON.stringify({ params: { password: 'Other1234' } }))).body).toEqual(
        successEnvelope(null),
      );
      expect(fake.users.get(alice)!.password).toBe('Other1234');
      expect((await post(`/v1/users/${alice}/update_extension_number`, JSON.stringify({ params: { num: '499' } }))).body).toEqual(
        successEnvelope(null),
      );
      expect(fake.users.get(alice)!.num).toBe('499');
      const mail = await post(`/v1/users/${alice}/update_email`, JSON.stringify({ params: { mail: ' Upper@Example.com ' } }));
      expect(mail.body).toEqual(successEnvelope(null));
      expect(fake.users.get(alice)!.mail).toBe('Upper@Example.com');
    });

    it('sends the account and the access level of the key to the service', async () => {
      const before = fake.count(UsersUserListPage.subject);
      const res = await get('/v1/users');
      expect(res.body.data.every((u: any) => u.account_id === 1001)).toBe(true);
      expect(fake.count(UsersUserListPage.subject)).toBe(before + 1);
    });

    it('maps every error code a service may answer', async () => {
      const cases: Array<[DomainError, number, string | null]> = [
        [DomainError.badRequest('bad'), 400, null],
        [DomainError.forbidden('nope'), 403, null],
        [DomainError.notFound('gone'), 404, null],
        [DomainError.unavailable('PBX is unavailable'), 503, '1'],
        [new DomainError('RATE_LIMITED', 'slow down'), 429, '1'],
        [new DomainError('INTERNAL', 'secret detail'), 500, null],
      ];
      for (const [error, status, retryAfter] of cases) {
        fake.failNext.set(UsersUserSetVoicemail.subject, error);
        const res = await post(`/v1/users/${alice}/voice_mail_box_on`);
        const message = status === 500 ? 'Internal error' : error.message;
        expect([res.status, res.body, res.headers.get('retry-after')]).toEqual([status, errorEnvelope(message), retryAfter]);
      }
    });
  });

  describe('calls and recordings while calls-service and the adapter are down', () => {
    it('answer 503 after authentication and the limiter, without waiting for a timeout', async () => {
      const urls: Array<[string, string]> = [
        ['GET', '/v1/calls/active'],
        ['GET', '/v1/calls/complete?days=2'],
        ['GET', '/v1/calls/complite'],
        ['GET', '/v1/calls/channels'],
        ['GET', '/v1/calls/channels/PJSIP/1679728441-00000012'],
        ['GET', '/v1/calls/channels/PJSIP%2F1679728441-00000012'],
        ['GET', `/v1/users/${alice}/records`],
      ];
      for (const [method, url] of urls) {
        const started = Date.now();
        const res = await call(gw.url, method, `${url}${url.includes('?') ? '&' : '?'}${rw.auth}`);
        expect([url, res.status, res.body, res.headers.get('retry-after')]).toEqual([
          url,
          503,
          errorEnvelope('Service is temporarily unavailable'),
          '1',
        ]);
        expect(res.headers.get('ratelimit-policy')).toMatch(/^"calls\.|^"users\.records/);
        expect(Date.now() - started).toBeLessThan(2000); // under the NATS request timeout: no waiting for one
      }
      const originate = await post('/v1/calls', JSON.stringify({ params: { user: alice, num: '+79101234567' } }));
      expect([originate.status, originate.body.message]).toEqual([503, 'Service is temporarily unavailable']);
      const badNumber = await post('/v1/calls', JSON.stringify({ params: { user: alice, num: '12-34' } }));
      expect(badNumber.status).toBe(400);
      expect((await call(gw.url, 'GET', '/v1/calls/active')).status).toBe(403);
    });

    it('answers a failed recording download with an empty body', async () => {
      const res = await get(`/v1/users/${alice}/records/2024-01-01_10-00-00.wav`);
      expect([res.status, res.text]).toEqual([503, '']);
      const traversal = await get(`/v1/users/${alice}/records/..%2Fsecret.wav`);
      expect([traversal.status, traversal.text]).toEqual([404, '']);
      const denied = await call(gw.url, 'GET', `/v1/users/${alice}/records/x.wav`);
      expect([denied.status, denied.text]).toEqual([403, '']);
      // Refused before the route is resolved: still a download's failure.
      for (const [method, name, status] of [['DELETE', 'x.wav', 405], ['POST', 'x.wav', 405], ['GET', '%zz.wav', 404], ['GET', '%C0%AF.wav', 404], ['GET', '..', 404]] as const) {
        const res = await rawCall(gw.url, method, `/v1/users/${alice}/records/${name}?${rw.auth}`);
        expect([method, name, res.status, res.text]).toEqual([method, name, status, '']);
      }
      const allow = await rawCall(gw.url, 'DELETE', `/v1/users/${alice}/records/x.wav?${rw.auth}`);
      expect(allow.headers.allow).toBe('GET');
      // Other URLs keep the envelope.
      expect((await rawCall(gw.url, 'DELETE', `/v1/users/${alice}?${rw.auth}`)).body).toMatchObject({ status: 'error', message: 'Method not allowed' });
    });
  });

  describe('request ids and logs', () => {
    it('keeps a sane X-Request-Id and replaces any other', async () => {
      const kept = await call(gw.url, 'GET', '/v1/users', { headers: { 'X-Request-Id': 'crm-42.abc' } });
      expect(kept.headers.get('x-request-id')).toBe('crm-42.abc');
      const replaced = await call(gw.url, 'GET', '/v1/users', { headers: { 'X-Request-Id': 'bad id <script>' } });
      expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const bad = await rawCall(gw.url, 'GET', '/v1/users/%');
      expect(bad.status).toBe(404);
    });

    it('logs one access line per request, never the query string, keys or hashes', async () => {
      lines.length = 0;
      const password = 'N3wPassw0rdLog';
      await post(`/v1/users/${alice}/update_password`, JSON.stringify({ params: { password } }), { 'X-Request-Id': 'log-test-1' });
      await rawCall(gw.url, 'GET', `/v1/users/%?${rw.auth}`);
      const access = lines.filter((l) => l.includes(`/v1/users/${alice}/update_password`));
      expect(access).toEqual([expect.stringMatching(new RegExp(`^POST /v1/users/${alice}/update_password 200 [\\d.]+ms id=log-test-1 client=127\\.0\\.0\\.1$`))]);
      expect(lines.some((l) => l.startsWith('GET /v1/users/% 404'))).toBe(true);
      // Without TRUST_PROXY, X-Forwarded-For is not believed.
      await call(gw.url, 'GET', '/v1/users', { headers: { 'X-Forwarded-For': '203.0.113.7', 'X-Request-Id': 'xff-1' } });
      expect(lines.find((l) => l.includes('id=xff-1'))).toMatch(/client=127\.0\.0\.1$/);
      const all = lines.join('\n');
      for (const secret of [rw.api_key, rw.auth.split('hash=')[1], password, 'api_key', 'hash=']) expect(all).not.toContain(secret);
    });
  });

  it('never needed more than one verification per key while cached', async () => {
    // KEY_CACHE_TTL_MS is 500 ms: a burst of requests with the same key asks users-service once.
    await new Promise((r) => setTimeout(r, 600));
    const before = fake.count(UsersApiKeyVerify.subject);
    await Promise.all(Array.from({ length: 10 }, () => get('/v1/users', ro.auth)));
    expect(fake.count(UsersApiKeyVerify.subject)).toBe(before + 1);
  });
});
